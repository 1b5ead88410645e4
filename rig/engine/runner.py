"""The Runner: executes sweep plans on a rig, streams records, and always leaves the rig safe."""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from rig.datatypes.records import DataChunk, Notice, RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.limits import check_plan
from rig.engine.program import RunContext, StepFailed, StepProgram, planned_sweeps
from rig.engine.rig import Rig
from rig.engine.stop_flags import StopFlags
from rig.engine.stream import Stream
from rig.hal.interfaces import Camera, FrameBatch, SafetyReport
from rig.hal.watchdog import WatchdogExpired

log = logging.getLogger(__name__)

__all__ = ["AbortNow", "RunOutcome", "Runner", "StopFlags", "StorageFailed"]


MAX_STORAGE_LAG_SWEEPS = 1  # sweeps storage may still be writing when the next sweep starts (bounds memory)


class AbortNow(Exception):
    """Raised inside the acquisition loop when an immediate stop was asked for."""


class StorageFailed(Exception):
    """Raised when a critical consumer (storage) failed: acquiring on would lose data."""


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended and the safe-state report of every device."""

    status: str
    message: str
    sweeps_completed: int
    safety: tuple[SafetyReport, ...]

    @property
    def all_safe(self) -> bool:
        """True when every device reported its safe state after the run."""
        return all(r.safe for r in self.safety)


class Runner:
    """Runs a list of SweepPlans on a Rig, publishing records to a Stream.

    Stop requests are thread- and signal-safe (they set StopFlags attributes): `request_stop()`
    ends the run after the current sweep, `abort()` ends it now. Every exit path ends with every
    device made safe.
    """

    def __init__(self, rig: Rig, stream: Stream, drain_before_end: set[str] | None = None,
                 flags: StopFlags | None = None):
        self.rig = rig
        self.stream = stream
        self._drain_before_end = drain_before_end or set()
        self.flags = flags if flags is not None else StopFlags()
        self._paused = threading.Event()
        self.run_file: object | None = None  # set by whoever attaches storage (rig.api.execute)
        self.planned_sweeps = 0  # sweeps expected; grows when an adaptive step runs longer than it planned
        self._warned_lag = False
        self.outcome: RunOutcome | None = None  # set when run() ends, whichever way

    def request_stop(self) -> None:
        """Finish the current sweep, then stop."""
        self.flags.after_sweep = True

    def abort(self) -> None:
        """Stop now, mid-sweep."""
        self.flags.now = True

    def pause(self) -> None:
        """Hold before the next sweep starts (the current sweep finishes) until resume()."""
        self._paused.set()

    def resume(self) -> None:
        """Continue after a pause."""
        self._paused.clear()

    @property
    def paused(self) -> bool:
        """True while a pause is asked for."""
        return self._paused.is_set()

    def _wait_while_paused(self) -> None:
        while self._paused.is_set() and not self.stop_requested:
            time.sleep(0.05)

    @property
    def stop_requested(self) -> bool:
        """True once a stop (after sweep or now) has been asked for."""
        return self.flags.any

    def run(self, header: RunStarted, programs: Sequence[StepProgram] | None = None,
            context: RunContext | None = None) -> RunOutcome:
        """Execute every step program in order (default: the header's plans as they are)."""
        from rig.engine.program import FixedProgram

        programs = list(programs) if programs is not None else [FixedProgram(0, list(header.plans))]
        self.context = context if context is not None else RunContext()
        self._step_planned = [planned_sweeps(p) for p in programs]
        self.planned_sweeps = sum(self._step_planned)
        if header.n_planned_sweeps < 0:
            header = dataclasses.replace(header, n_planned_sweeps=self.planned_sweeps)
        self.stream.publish(header)
        status, message, completed = "completed", "", 0
        previous: SweepPlan | None = None
        try:
            for index, plan in enumerate(self._plans(programs)):
                if previous is not None and previous.interval_after_s > 0:
                    self.rig.clock.wait(previous.interval_after_s, lambda: self.stop_requested)
                self._wait_while_paused()
                self._wait_for_storage(index)
                if self.stop_requested:
                    status, message = "stopped", f"stopped by request after {completed} sweep(s)"
                    break
                problems = check_plan(plan, self.rig.profile.profile, header.protocol_path)
                if problems:  # a run-time plan outside its envelope: refuse before it moves
                    raise StepFailed("; ".join(str(p) for p in problems))
                self._run_sweep(index, plan)
                completed += 1
                previous = plan
                self._check_storage()
        except AbortNow:
            status, message = "aborted", f"aborted during sweep {completed + 1}"
        except StepFailed as exc:
            status, message = "error", str(exc)
            self.stream.publish(Notice("error", "protocol", message, completed))
        except WatchdogExpired as exc:  # the board forced its outputs safe: a run error, not a crash
            status, message = "error", f"hardware watchdog: {exc}"
            self.stream.publish(Notice("error", "watchdog", message, completed))
        except StorageFailed as exc:
            status, message = "error", f"storage failed, run stopped so no data goes unrecorded: {exc}"
        except KeyboardInterrupt:
            status, message = "aborted", "interrupted"
            raise
        except Exception as exc:
            status, message = "error", f"{exc.__class__.__name__}: {exc}"
            log.debug("run failed", exc_info=True)  # the caller reports it (the CLI in one line)
            raise
        finally:
            safety = self.rig.make_safe()
            if not all(r.safe for r in safety):
                status = "error"
                message = (message + "; " if message else "") + "device(s) not safe: " + ", ".join(
                    f"{r.device} ({r.detail})" for r in safety if not r.safe)
            self.stream.drain(self._drain_before_end)
            if status == "completed":
                self.planned_sweeps = completed  # adaptive steps chose their own length: the plan was what ran
            self.planned_sweeps = max(self.planned_sweeps, completed)
            self.stream.publish(RunEnded(status, message, time.time(), tuple(r.__dict__ for r in safety),
                                         self.planned_sweeps))
            outcome = RunOutcome(status, message, completed, tuple(safety))
            self.outcome = outcome  # also when an exception propagates: callers can still report safety
        return outcome

    def _plans(self, programs: Sequence[StepProgram]) -> Iterator[SweepPlan]:
        """Plans of every program in turn; adaptive programs see the analysis of every earlier sweep.

        Keeps `planned_sweeps` = sweeps of finished steps + max(planned, produced) of the current step
        + planned sweeps of the steps to come, so the count of sweeps done never exceeds it.
        """
        done_before = 0
        for k, program in enumerate(programs):
            produced = 0
            while True:
                if program.adaptive:
                    self.stream.drain(self._drain_before_end)
                plan = program.next_plan(self.context)
                if plan is None:
                    break
                produced += 1
                self.planned_sweeps = done_before + max(self._step_planned[k], produced) + sum(
                    self._step_planned[k + 1:])
                yield plan
            done_before += produced
            self.planned_sweeps = done_before + sum(self._step_planned[k + 1:])

    def _wait_for_storage(self, index: int) -> None:
        """Bound memory: storage may lag by at most MAX_STORAGE_LAG_SWEEPS sweeps before the next one starts."""
        waited = self.stream.wait_for_sweep(index - 1 - MAX_STORAGE_LAG_SWEEPS, lambda: self.flags.now)
        if waited > 0.1 and not self._warned_lag:
            self._warned_lag = True
            log.warning("sweep %d started %.1f s late: storage was %d sweeps behind", index + 1, waited,
                        MAX_STORAGE_LAG_SWEEPS)

    def _check_storage(self) -> None:
        failure = self.stream.critical_failure
        if failure is not None:
            raise StorageFailed(failure.message)

    def _run_sweep(self, index: int, plan: SweepPlan) -> None:
        """Configure, load, start, read until done, stop: the device lifecycle of one sweep."""
        clock = self.rig.clock
        truth = self.rig.truth.truth_for(plan) if self.rig.truth is not None else None
        self.stream.publish(SweepStarted(index, plan, time.time(), truth, max(self.planned_sweeps, index + 1)))
        for name, wave in plan.outputs.items():
            self.stream.publish(DataChunk(index, f"out:{name}", 0, wave))
        for device in self.rig.devices.values():
            device.configure(plan)
        clock.load(plan)
        camera = self.rig.devices[plan.camera.camera] if plan.camera is not None else None
        if camera is not None and not isinstance(camera, Camera):
            raise TypeError(f"device '{camera.name}' records the plan's frames but is not a camera")
        frames = _FrameCollector(index, plan, self.stream) if camera is not None else None
        done = 0
        completed = False
        try:
            if camera is not None:
                camera.start_frames(plan)  # armed before the clock: no trigger can be missed
            clock.start()
            while True:
                if self.flags.now:
                    raise AbortNow()
                self._check_storage()
                chunk = clock.read()
                if chunk is None:
                    break
                n = 0
                for channel, samples in chunk.items():
                    self.stream.publish(DataChunk(index, f"in:{channel}", done, samples))
                    n = len(samples)
                done += n
                if frames is not None and camera is not None:
                    frames.take(camera.read_frames())
            if frames is not None and camera is not None:
                frames.finish(camera, lambda: self.flags.now)
            completed = True
        finally:
            if camera is not None:
                camera.stop_frames()
            clock.stop()
            self.stream.publish(SweepEnded(index, done, completed, time.time()))


class _FrameCollector:
    """Publishes camera frames of one sweep and checks them against the triggers the plan sent."""

    def __init__(self, sweep_index: int, plan: SweepPlan, stream: Stream):
        assert plan.camera is not None
        self.sweep_index = sweep_index
        self.spec = plan.camera
        self.stream = stream
        self.received = 0
        self.numbers: collections.Counter[int] = collections.Counter()

    def take(self, batch: FrameBatch | None) -> None:
        """Publish a batch of frames with their counter and timestamps."""
        if batch is None or len(batch.frames) == 0:
            return
        name = self.spec.camera
        first = self.received
        self.stream.publish(DataChunk(self.sweep_index, f"in:{name}.frames", first, batch.frames))
        self.stream.publish(DataChunk(self.sweep_index, f"in:{name}.frame_number", first, batch.frame_numbers))
        self.stream.publish(DataChunk(self.sweep_index, f"in:{name}.timestamp_ms", first, batch.timestamps_ms))
        self.received += len(batch.frames)
        self.numbers.update(int(k) for k in batch.frame_numbers)

    def finish(self, camera: Camera, aborted: Callable[[], bool]) -> None:
        """Wait (bounded) for the last frames, then report any dropped or duplicated frame."""
        deadline = time.monotonic() + max(1.0, 20 * self.spec.exposure_ms / 1000.0)
        while self.received < self.spec.n_frames and time.monotonic() < deadline and not aborted():
            self.take(camera.read_frames())
            time.sleep(0.001)
        expected = set(range(self.spec.n_frames))
        missing = sorted(expected - self.numbers.keys())
        duplicated = sorted(k for k, n in self.numbers.items() if n > 1)  # linear in the frames received
        if missing or duplicated or self.received != self.spec.n_frames:
            self.stream.publish(Notice(
                "warning", "camera",
                f"sweep {self.sweep_index + 1}: {self.received} of {self.spec.n_frames} frames arrived"
                + (f"; dropped frame numbers {missing[:20]}" if missing else "")
                + (f"; duplicated frame numbers {duplicated[:20]}" if duplicated else "")
                + " (each frame keeps its camera frame number, so channels are split by the record, not by position)",
                self.sweep_index))
