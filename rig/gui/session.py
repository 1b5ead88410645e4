"""The one rig the window drives, through its acquisition process: at most one job at a time, records for display.

The rig itself lives in a child process (rig.gui.rig_host, kept for the whole window session), so the
simulator and the acquisition never hold this process's interpreter lock. It is started with multiprocessing
'forkserver' where the platform has it: the server, started with the first window, imports rig_host and the
profile's backend once, and every window's acquisition process is a fork of that clean, single-threaded, Qt-free
process (~2 CPU-s of imports less per window), given the window's environment as it is when the window opens
(as a spawned child would see it); elsewhere 'spawn'. This object is the window's side of the pipe: commands go
down it, a reader thread turns the events that come back into Qt signals (delivered on the GUI thread). As with
any 'spawn' or 'forkserver' child, a script that opens a window must do so under `if __name__ == "__main__":`
(the child imports the script's main module).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import multiprocessing.context
import os
import queue
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from PyQt5.QtCore import QObject, pyqtSignal

from rig.api import PreparedRun
from rig.calibrate.procedures import CalibrationOutcome, CalibrationRequest
from rig.config.backend_registry import known_backends
from rig.config.profile import LoadedProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.gui import rig_host
from rig.gui.host_messages import (
    AskOperator,
    Calibrate,
    CalibrationDone,
    Command,
    Control,
    JobControl,
    JobDone,
    JobRecord,
    MakeSafe,
    OperatorAnswer,
    Quit,
    Ready,
    Reply,
    RunFileOpened,
    SafetySnapshot,
    SetHolding,
    SetLed,
    StartFailed,
    StartPlans,
    StartProtocol,
)
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)

PROTOCOL_JOB = rig_host.PROTOCOL_JOB
START_TIMEOUT_S = 300.0  # a loaded 2-core machine: a fresh interpreter, imports and the simulated rig
REPLY_TIMEOUT_S = 60.0
_GONE = "the acquisition process ended unexpectedly; every device was made safe by it or its watchdog"


def acquisition_context(backend: str) -> (multiprocessing.context.ForkServerContext
                                          | multiprocessing.context.SpawnContext):
    """'forkserver' (its server preloading rig_host and the backend's module) where the platform has it, else
    'spawn'. The preload takes effect when the server starts, with this process's first window."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    entry = known_backends().get(backend)
    preload = ["rig.gui.rig_host"] + ([entry.target.partition(":")[0]] if entry is not None else [])
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    return context


def repeated(plan: SweepPlan, count: int) -> list[SweepPlan]:
    """The same plan `count` times (sharing its waveforms), numbered by sweep."""
    return [replace(plan, sweep_in_step=k) for k in range(count)]


class RigSession(QObject):
    """The window's handle on the acquisition process: start jobs, stop them, static device changes, safety."""

    record = pyqtSignal(str, object)          # job label, record
    busy_changed = pyqtSignal(str)            # job label, "" when idle
    job_finished = pyqtSignal(str, object)    # job label, RunResult (protocol) or RunOutcome
    job_failed = pyqtSignal(str, str)         # job label, message
    _job_done = pyqtSignal(str, object, str)  # reader thread -> GUI thread: label, result, error message

    def __init__(self, profile: LoadedProfile, out_dir: Path):
        super().__init__()
        self.profile = profile
        self.out_dir = Path(out_dir)
        self._job = ""
        self._run_file: Path | None = None
        self._job_ended = threading.Event()
        self._job_ended.set()
        self._send_lock = threading.Lock()
        self._calls = itertools.count(1)
        self._replies: queue.Queue[Reply] = queue.Queue()
        self._calibration: queue.Queue[AskOperator | CalibrationDone] = queue.Queue()
        self._shut_down: bool | None = None  # once shut down: whether every device was safe
        self._job_done.connect(self._on_job_done)
        context = acquisition_context(profile.profile.backend)
        self._conn, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=rig_host.main, args=(child_end, profile, self.out_dir,
                                                                   dict(os.environ)),
                                       name="spinerig-acquisition", daemon=True)
        self.process.start()
        child_end.close()  # the child holds the only other end: its closing is the window's going
        ready = self._first_event()
        self.device_kinds: dict[str, str] = dict(ready.device_kinds)
        self._safety: list[SafetyReport] = list(ready.safety)
        self.alive = True
        self._reader = threading.Thread(target=self._read, name="acquisition-events", daemon=True)
        self._reader.start()

    def _first_event(self) -> Ready:
        if not self._conn.poll(START_TIMEOUT_S):
            self.process.kill()
            raise RuntimeError(f"the acquisition process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            event = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the acquisition process ended at start (exit {self.process.exitcode})") from None
        if isinstance(event, StartFailed):
            raise RuntimeError(f"the rig could not be built: {event.message}")
        assert isinstance(event, Ready), event
        return event

    # ----- the pipe ------------------------------------------------------------------------------
    def _send(self, command: Command) -> bool:
        with self._send_lock:
            if not self.alive:
                return False
            try:
                self._conn.send(command)
            except (OSError, EOFError):
                return False
        return True

    def _read(self) -> None:
        """Reader thread: every event from the acquisition process, in order, until its end closes."""
        while True:
            try:
                event = self._conn.recv()
            except (EOFError, OSError):
                break
            if isinstance(event, JobRecord):
                self.record.emit(event.label, event.record)
            elif isinstance(event, SafetySnapshot):
                self._safety = event.reports
            elif isinstance(event, RunFileOpened):
                self._run_file = event.path
            elif isinstance(event, JobDone):
                self._job_ended.set()
                self._job_done.emit(event.label, event.result, event.error)
            elif isinstance(event, Reply):
                self._safety = event.reports
                self._replies.put(event)
            elif isinstance(event, (AskOperator, CalibrationDone)):
                self._calibration.put(event)
        self.alive = False
        self._replies.put(Reply(0, self._safety, _GONE))
        self._calibration.put(CalibrationDone(None, _GONE))
        if not self._job_ended.is_set():
            self._job_ended.set()
            self._job_done.emit(self._job, None, _GONE)

    def _call(self, command: SetLed | SetHolding | MakeSafe) -> str:
        """Send a static change and wait for its reply; the refusal, or ''."""
        if not self._send(command):
            return _GONE
        while True:
            try:
                reply = self._replies.get(timeout=REPLY_TIMEOUT_S)
            except queue.Empty:
                return f"no answer from the acquisition process within {REPLY_TIMEOUT_S:.0f} s"
            if reply.call_id in (command.call_id, 0):  # 0: the process is gone
                return reply.error

    # ----- jobs ----------------------------------------------------------------------------------
    @property
    def busy(self) -> str:
        """Label of the running job, or '' when idle."""
        return self._job

    def _start(self, label: str, command: Command) -> bool:
        if self._job or not self.alive:
            return False
        self._job = label
        self._job_ended.clear()
        self.busy_changed.emit(label)
        if not self._send(command):
            self._job_ended.set()
            self._job_done.emit(label, None, _GONE)
        return True

    def _on_job_done(self, label: str, result: object, error: str) -> None:
        """On the GUI thread, in order: the result, then idle (so 'idle' always comes with its result)."""
        self._job = ""
        if error:
            self.job_failed.emit(label, error)
        else:
            self.job_finished.emit(label, result)
        self.busy_changed.emit("")

    def start_protocol(self, prepared: PreparedRun) -> bool:
        """Run a prepared protocol (rig.api.execute in the acquisition process), writing a run file; False if busy."""
        self._run_file = None
        return self._start(PROTOCOL_JOB, StartProtocol(prepared))

    def start_plans(self, label: str, plans: Sequence[SweepPlan]) -> bool:
        """Execute GUI-built plans (membrane test, frame scan) without a run file; False if busy."""
        return self._start(label, StartPlans(label, list(plans)))

    def request_stop(self) -> None:
        """Stop after the current sweep."""
        if self._job:
            self._send(Control(JobControl.STOP_AFTER_SWEEP))

    def set_paused(self, paused: bool) -> None:
        """Hold before the next sweep of the running protocol, or resume it."""
        if self._job:
            self._send(Control(JobControl.PAUSE if paused else JobControl.RESUME))

    def abort(self) -> None:
        """Stop now, mid-sweep."""
        if self._job:
            self._send(Control(JobControl.ABORT))

    def current_run_file(self) -> Path | None:
        """The run file the protocol job is writing, once its runner exists."""
        return self._run_file if self._job == PROTOCOL_JOB else None

    def wait(self, timeout_s: float) -> bool:
        """Wait for the running job to end; True when it has."""
        return self._job_ended.wait(timeout_s)

    # ----- static device changes (only while idle; refused by the acquisition process otherwise) ---------------
    def set_led(self, device: str, led: str, on: bool) -> str:
        """Switch one LED; the refusal, or ''."""
        return self._call(SetLed(next(self._calls), device, led, on))

    def set_holding(self, device: str, mode: str, value: float) -> str:
        """Set an amplifier's clamp mode and holding; the refusal, or ''."""
        return self._call(SetHolding(next(self._calls), device, mode, value))

    def calibrate(self, request: CalibrationRequest, ask: Callable[[str], str]) -> CalibrationOutcome:
        """Run a calibration procedure in the acquisition process (blocking; not on the GUI thread)."""
        if self._job or not self._send(Calibrate(request)):
            raise RuntimeError(f"the rig is busy ({self._job})" if self._job else _GONE)
        while True:
            event = self._calibration.get()
            if isinstance(event, AskOperator):
                self._send(OperatorAnswer(ask(event.prompt)))
                continue
            if event.outcome is None:
                raise RuntimeError(event.error)
            return event.outcome

    def make_safe(self) -> list[SafetyReport]:
        """Put every device in its safe state (only when no job runs)."""
        if self._job:
            raise RuntimeError("cannot make the rig safe statically while a job runs; abort first")
        error = self._call(MakeSafe(next(self._calls)))
        if error:
            log.error("make safe: %s", error)
        return self.safety()

    def safety(self) -> list[SafetyReport]:
        """Every device's safety report as the acquisition process last sent it (about once a second)."""
        return list(self._safety)

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Abort any job, wait for it, make every device safe and end the acquisition process; True when all were safe."""
        if self._shut_down is not None:  # a window may be closed twice (e.g. by a test and then by its harness)
            return self._shut_down
        self.abort()
        if not self.wait(timeout_s):
            log.error("job did not end within %.0f s", timeout_s)
        self._job = ""
        safe = self.alive and all(r.safe for r in self.make_safe())
        self._send(Quit())
        self.process.join(timeout_s)
        if self.process.is_alive():
            log.error("the acquisition process did not end within %.0f s; terminating it", timeout_s)
            self.process.terminate()  # SIGTERM: it aborts and makes the rig safe before exiting
            self.process.join(timeout_s)
        elif self.process.exitcode != 0:
            log.error("the acquisition process exited with status %s", self.process.exitcode)
        self._shut_down = safe
        return safe
