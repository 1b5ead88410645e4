"""The window's acquisition process: owns the Rig for the whole GUI session and runs one job at a time.

The simulator, Runner, storage and online model run here, under this process's own interpreter lock, so
the window's thread only draws. The rig is built once, so the simulated specimen (and its plasticity)
carries over from run to run, and every device panel's static change (LEDs, holding) is made here too:
this process is the only one that ever opens the devices. Fail-safes: when the window's end of the pipe
closes (the window closed, crashed or was killed) any job is aborted and every device made safe; stop
signals are handled as `rig run` handles them (first SIGINT: stop after the sweep; any other: now).
Entry point: `main`, the target of a multiprocessing 'forkserver' or 'spawn' process (see rig.gui.session).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable

from rig.api import execute
from rig.calibrate.procedures import CalibrationOutcome, run_procedure
from rig.cli_signals import SignalGuard, signal_exit_code
from rig.config.profile import LoadedProfile
from rig.datatypes.records import Record
from rig.engine.rig import Rig, build_rig
from rig.engine.runner import Runner
from rig.engine.stop_flags import StopFlags
from rig.gui.acquire import acquire_plans
from rig.gui.host_messages import (
    AskOperator,
    Calibrate,
    CalibrationDone,
    Command,
    Control,
    Event,
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
from rig.hal.interfaces import LedSource, PatchAmplifier, SafetyReport, amplifier_mode

log = logging.getLogger(__name__)

PROTOCOL_JOB = "protocol"
CALIBRATION_JOB = "calibration"
SNAPSHOT_INTERVAL_S = 1.0
_JOB_END_WAIT_S = 60.0


class Outbox:
    """Sends events to the window from any thread; once the window is gone, sends are dropped."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._lock = threading.Lock()
        self.window_gone = False

    def send(self, event: Event) -> None:
        """Send one event (pickled); a closed pipe marks the window gone instead of raising."""
        with self._lock:
            if self.window_gone:
                return
            try:
                self._conn.send(event)
            except (OSError, EOFError):
                self.window_gone = True


class Jobs:
    """At most one job on a worker thread; stop/abort/pause asked before its Runner exists are applied then."""

    def __init__(self, rig: Rig, out_dir: Path, outbox: Outbox):
        self.rig = rig
        self.out_dir = out_dir
        self.outbox = outbox
        self.label = ""
        self._runner: Runner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: JobControl | None = None
        self._paused = False
        self.answers: queue.Queue[str] = queue.Queue()

    def _emitter(self, label: str) -> Callable[[Record], None]:
        def emit(record: Record) -> None:
            self.outbox.send(JobRecord(label, record))
        return emit

    def _set_runner(self, runner: Runner) -> None:
        with self._lock:
            self._runner = runner
            if runner.run_file is not None:
                self.outbox.send(RunFileOpened(Path(str(runner.run_file))))
            if self._paused:
                runner.pause()
            if self._pending is JobControl.ABORT:
                runner.abort()
            elif self._pending is JobControl.STOP_AFTER_SWEEP:
                runner.request_stop()

    def start(self, label: str, work: Callable[[], object],
              done: Callable[[str, object, str], Event] = JobDone) -> None:
        """Run `work` on a worker thread, then send `done(label, result, error)` once idle; refused while busy."""
        if self.label:
            self.outbox.send(done(label, None, f"the rig is busy ({self.label})"))
            return
        with self._lock:
            self.label, self._pending, self._paused, self._runner = label, None, False, None

        def body() -> None:
            result: object = None
            error = ""
            try:
                result = work()
            except Exception as exc:  # shown to the operator; the Runner has already made the rig safe
                log.exception("job %s failed", label)
                error = f"{exc.__class__.__name__}: {exc}"
            with self._lock:
                self._runner = None
                self.label = ""
            self.outbox.send(SafetySnapshot(_safety(self.rig)))  # the window sees the rig as the job left it
            self.outbox.send(done(label, result, error))

        self._thread = threading.Thread(target=body, name=f"job-{label}", daemon=True)
        self._thread.start()

    def start_protocol(self, command: StartProtocol) -> None:
        """The protocol job: `rig.api.execute` on this rig, records to the window's display lane."""
        self.start(PROTOCOL_JOB, lambda: execute(command.prepared, self.out_dir, rig_=self.rig,
                                                 display=self._emitter(PROTOCOL_JOB), on_runner=self._set_runner))

    def start_plans(self, command: StartPlans) -> None:
        """A window-built acquisition, without a run file."""
        self.start(command.label, lambda: acquire_plans(self.rig, command.plans, command.label,
                                                        self._emitter(command.label), self._set_runner))

    def start_calibration(self, command: Calibrate) -> None:
        """A calibration procedure; its questions go to the window and wait for OperatorAnswer."""
        def ask(prompt: str) -> str:
            self.outbox.send(AskOperator(prompt))
            return self.answers.get()

        def work() -> object:
            try:
                return run_procedure(self.rig, command.request, ask)
            except Exception as exc:  # the procedure has made the rig safe; one line for the dialog
                log.info("calibration failed: %s", exc)
                problems = getattr(exc, "problems", None)
                if problems:
                    raise RuntimeError("; ".join(map(str, problems))) from exc
                if isinstance(exc, (ValueError, RuntimeError)):
                    raise RuntimeError(str(exc)) from exc
                raise
            finally:
                self.rig.make_safe()

        def done(label: str, outcome: object, error: str) -> Event:
            if error.startswith("RuntimeError: "):
                error = error[len("RuntimeError: "):]
            return CalibrationDone(outcome if isinstance(outcome, CalibrationOutcome) else None, error)
        self.start(CALIBRATION_JOB, work, done)

    def control(self, action: JobControl) -> None:
        """Stop, abort, pause or resume the running job."""
        with self._lock:
            runner = self._runner
            if action in (JobControl.PAUSE, JobControl.RESUME):
                self._paused = action is JobControl.PAUSE
                if runner is not None:
                    (runner.pause if self._paused else runner.resume)()
                return
            if runner is not None:
                (runner.abort if action is JobControl.ABORT else runner.request_stop)()
            elif self.label and self._pending is not JobControl.ABORT:
                self._pending = action

    def wait(self, timeout_s: float) -> bool:
        """Wait for the job's thread to end; True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()


def _static(rig: Rig, jobs: Jobs, command: SetLed | SetHolding | MakeSafe) -> str:
    """Apply one static change (only while idle); the refusal, or ''."""
    switching_off = isinstance(command, SetLed) and not command.on
    if jobs.label and not switching_off:
        return f"refused: the rig is busy ({jobs.label})"
    if isinstance(command, MakeSafe):
        rig.make_safe()
        return ""
    device = rig.devices.get(command.device)
    if isinstance(command, SetLed):
        if not isinstance(device, LedSource):
            return "no LED source"
        device.set_led(command.led, command.on)
        return ""
    if not isinstance(device, PatchAmplifier):
        return "no amplifier"
    device.set_mode(amplifier_mode(command.mode))
    device.set_holding(command.value)
    return ""


def _safety(rig: Rig) -> list[SafetyReport]:
    return [d.safety() for d in rig.devices_in_safe_order()]


def _handle(rig: Rig, jobs: Jobs, outbox: Outbox, command: Command) -> None:
    if isinstance(command, StartProtocol):
        jobs.start_protocol(command)
    elif isinstance(command, StartPlans):
        jobs.start_plans(command)
    elif isinstance(command, Calibrate):
        jobs.start_calibration(command)
    elif isinstance(command, OperatorAnswer):
        jobs.answers.put(command.text)
    elif isinstance(command, Control):
        jobs.control(command.action)
    elif isinstance(command, (SetLed, SetHolding, MakeSafe)):
        try:
            error = _static(rig, jobs, command)
        except (ValueError, RuntimeError) as exc:  # a device refused the value
            error = str(exc)
        outbox.send(Reply(command.call_id, _safety(rig), error))


def serve(conn: Connection, profile: LoadedProfile, out_dir: Path) -> int:
    """The acquisition process's main loop: build the rig, obey commands until Quit or the window is gone."""
    logging.basicConfig(level=logging.WARNING)
    flags = StopFlags()
    guard = SignalGuard(flags)
    guard.install()
    outbox = Outbox(conn)
    try:
        rig = build_rig(profile)
    except Exception as exc:  # reported by the window in one line
        log.exception("the rig could not be built")
        outbox.send(StartFailed(f"{exc.__class__.__name__}: {exc}"))
        return 1
    jobs = Jobs(rig, Path(out_dir), outbox)
    outbox.send(Ready({n: d.kind for n, d in rig.devices.items()}, _safety(rig)))
    stop_asked = False
    last_snapshot = time.monotonic()
    try:
        while not outbox.window_gone:
            if flags.now or (flags.after_sweep and not jobs.label):
                break
            if flags.after_sweep and not stop_asked:
                stop_asked = True
                jobs.control(JobControl.STOP_AFTER_SWEEP)
            if conn.poll(0.2):
                command = conn.recv()
                if isinstance(command, Quit):
                    break
                _handle(rig, jobs, outbox, command)
            if time.monotonic() - last_snapshot >= SNAPSHOT_INTERVAL_S:
                last_snapshot = time.monotonic()
                outbox.send(SafetySnapshot(_safety(rig)))
    except (EOFError, OSError):
        log.warning("the window is gone: aborting any run and making the rig safe")
    finally:
        jobs.control(JobControl.ABORT)
        jobs.answers.put("0")  # a calibration waiting for the operator goes on (and ends safe)
        if not jobs.wait(_JOB_END_WAIT_S):
            log.error("the job did not end within %.0f s", _JOB_END_WAIT_S)
        reports = rig.make_safe()
        guard.ignore()
        if not all(r.safe for r in reports):
            log.error("not every device reported safe: %s", reports)
    code = signal_exit_code(flags)
    return code if code is not None else 0


def main(conn: Connection, profile: LoadedProfile, out_dir: Path, environment: dict[str, str] | None = None) -> None:
    """multiprocessing target: serve, then exit with its status. `environment`: the window's, at its opening (a
    forkserver child otherwise has the server's, from the first window's opening)."""
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    raise SystemExit(serve(conn, profile, out_dir))
