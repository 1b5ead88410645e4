"""The one rig the window drives: its profile and devices, and at most one acquisition at a time, off the GUI thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from PyQt5.QtCore import QObject, pyqtSignal

from rig.api import PreparedRun, execute
from rig.config.profile import LoadedProfile
from rig.datatypes.records import Record
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig, build_rig
from rig.engine.runner import Runner
from rig.gui.acquire import acquire_plans
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)

PROTOCOL_JOB = "protocol"


def repeated(plan: SweepPlan, count: int) -> list[SweepPlan]:
    """The same plan `count` times (sharing its waveforms), numbered by sweep."""
    return [replace(plan, sweep_in_step=k) for k in range(count)]


class RigSession(QObject):
    """Owns the Rig; runs one job at a time on a worker thread and marshals its records to the GUI thread."""

    record = pyqtSignal(str, object)          # job label, record
    busy_changed = pyqtSignal(str)            # job label, "" when idle
    job_finished = pyqtSignal(str, object)    # job label, RunResult (protocol) or RunOutcome
    job_failed = pyqtSignal(str, str)         # job label, message
    _job_done = pyqtSignal(str, object, str)  # worker -> GUI thread: label, result, error message

    def __init__(self, profile: LoadedProfile, out_dir: Path, rig_: Rig | None = None):
        super().__init__()
        self.profile = profile
        self.out_dir = Path(out_dir)
        self.rig: Rig = rig_ if rig_ is not None else build_rig(profile)
        self._job = ""
        self._runner: Runner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: str = ""  # a stop/abort asked for before the job's Runner existed
        self._run_file: Path | None = None
        self._job_done.connect(self._on_job_done)

    @property
    def busy(self) -> str:
        """Label of the running job, or '' when idle."""
        return self._job

    def _emitter(self, label: str) -> Callable[[Record], None]:
        def emit(record: Record) -> None:
            self.record.emit(label, record)
        return emit

    def _set_runner(self, runner: Runner) -> None:
        with self._lock:
            self._runner = runner
            if runner.run_file is not None:
                self._run_file = Path(str(runner.run_file))
            if getattr(self, "_pause_wanted", False):
                runner.pause()
            if self._pending == "abort":
                runner.abort()
            elif self._pending == "stop":
                runner.request_stop()

    def _start(self, label: str, work: Callable[[], object]) -> bool:
        if self._job:
            return False
        self._job = label
        self._pending = ""
        self.busy_changed.emit(label)

        def body() -> None:
            try:
                result = work()
            except Exception as exc:  # shown to the operator; the Runner has already made the rig safe
                log.exception("job %s failed", label)
                self._job_done.emit(label, None, f"{exc.__class__.__name__}: {exc}")
                return
            self._job_done.emit(label, result, "")

        self._thread = threading.Thread(target=body, name=f"job-{label}", daemon=True)
        self._thread.start()
        return True

    def _on_job_done(self, label: str, result: object, error: str) -> None:
        """On the GUI thread, in order: the result, then idle (so 'idle' always comes with its result)."""
        with self._lock:
            self._runner = None
        self._job = ""
        if error:
            self.job_failed.emit(label, error)
        else:
            self.job_finished.emit(label, result)
        self.busy_changed.emit("")

    def start_protocol(self, prepared: PreparedRun) -> bool:
        """Run a prepared protocol through `rig.api.execute`, writing a run file; False if busy."""
        self._run_file = None
        self._pause_wanted = False

        def work() -> object:
            def on_runner(runner: Runner) -> None:
                self._set_runner(runner)
            emit = self._emitter(PROTOCOL_JOB)
            return execute(prepared, self.out_dir, rig_=self.rig, display=emit, on_runner=on_runner)
        return self._start(PROTOCOL_JOB, work)

    def start_plans(self, label: str, plans: Sequence[SweepPlan]) -> bool:
        """Execute GUI-built plans (membrane test, frame scan) without a run file; False if busy."""
        return self._start(label, lambda: acquire_plans(self.rig, plans, label, self._emitter(label),
                                                        self._set_runner))

    def request_stop(self) -> None:
        """Stop after the current sweep."""
        with self._lock:
            if self._runner is not None:
                self._runner.request_stop()
            elif self._job and not self._pending:
                self._pending = "stop"

    def set_paused(self, paused: bool) -> None:
        """Hold before the next sweep of the running protocol, or resume it."""
        with self._lock:
            self._pause_wanted = paused  # applied when the job's Runner appears, if it does not exist yet
            if self._runner is not None:
                (self._runner.pause if paused else self._runner.resume)()

    def abort(self) -> None:
        """Stop now, mid-sweep."""
        with self._lock:
            if self._runner is not None:
                self._runner.abort()
            elif self._job:
                self._pending = "abort"

    def current_run_file(self) -> Path | None:
        """The run file the protocol job is writing, once its runner exists."""
        return self._run_file if self._job == PROTOCOL_JOB else None

    def wait(self, timeout_s: float) -> bool:
        """Wait for the worker thread to end; True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def make_safe(self) -> list[SafetyReport]:
        """Put every device in its safe state (only when no job runs)."""
        if self._job:
            raise RuntimeError("cannot make the rig safe statically while a job runs; abort first")
        return self.rig.make_safe()

    def safety(self) -> list[SafetyReport]:
        """Every device's safety report now."""
        return [d.safety() for d in self.rig.devices_in_safe_order()]

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Abort any job, wait for it, then make every device safe; True when all safe."""
        self.abort()
        if not self.wait(timeout_s):
            log.error("job did not end within %.0f s", timeout_s)
            return False
        self._job = ""
        return all(r.safe for r in self.make_safe())
