"""Camera frames per second through MMCore (UniMMCore + the triggered Python camera) at 80x80.

Three measurements in one run, all with the same Python camera loaded into the real core:
  1. bare: pymmcore-plus sequence acquisition read with popNextImageAndMD, producer unpaced;
  2. rig:  the same through MmCamera.read_frames, polled every 20 ms like the Runner, each
           batch handed to a writer thread that appends it to an HDF5 file (whole-chunk appends, as the run
           file's writer);
  3. consumer CPU: the CPU time per frame of taking frames already waiting in the buffer, bare vs rig;
  4. paced: a producer on absolute deadlines at the requested rates (500 Hz, 2 kHz) for whole
           sweeps, through the rig path, checking that no frame is dropped and how late frames are.

Usage: python benchmarks/bench_camera.py [--frames 20000] [--seconds 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np

from rig.backends.micromanager.camera import MmCamera, open_simulated_camera
from rig.config.device_specs import CameraSpec
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.sweep_plan import SweepPlan
from rig.storage.writer import ChunkAppender

SENSOR = (80, 80)
POLL_S = 0.02  # the Runner reads frames once per clock chunk (~20 ms)


def plan_for(rate_hz: float, n_frames: int) -> SweepPlan:
    """A sweep with n triggers at rate_hz (trigger waveform at 10 samples per frame)."""
    fs = rate_hz * 10
    trigger = np.zeros(n_frames * 10 + 10, dtype=np.float32)
    trigger[np.arange(n_frames)[:, None] * 10 + np.arange(3)] = 1.0
    acq = CameraAcquisition("camera", "camera.trigger", n_frames, 0.9 * 1000 / rate_hz, 1, (0, 0, *SENSOR))
    return SweepPlan(0, "bench", "bench", 0, fs, trigger.size, {"camera.trigger": trigger}, (), camera=acq)


def images(n: int = 16) -> list[np.ndarray]:
    """A few pre-rendered frames (rendering is the simulated specimen's cost, not the camera's)."""
    rng = np.random.default_rng(0)
    return [rng.poisson(200, SENSOR).astype(np.uint16) for _ in range(n)]


def unpaced(push, n: int, frames: list[np.ndarray]) -> None:
    """Push n frames as fast as Python allows."""
    for k in range(n):
        push(frames[k % len(frames)], timestamp_ms=float(k))


def paced(push, n: int, rate_hz: float, frames: list[np.ndarray], lateness_ms: list[float]) -> None:
    """Push frame k at t0 + k/rate (absolute deadlines): sleep once per ~1 ms tick, push every frame due."""
    t0 = time.perf_counter()
    k = 0
    while k < n:
        now = time.perf_counter()
        while k < n and t0 + k / rate_hz <= now:
            lateness_ms.append((now - (t0 + k / rate_hz)) * 1000.0)
            push(frames[k % len(frames)], timestamp_ms=k * 1000.0 / rate_hz)
            k += 1
        if k < n:
            time.sleep(max(0.0, min(0.001, t0 + k / rate_hz - time.perf_counter())))


def bare(n: int, frames: list[np.ndarray]) -> tuple[float, int]:
    """Plain pymmcore-plus: start a sequence, pop every frame with its metadata. Returns (fps, frames read)."""
    camera, push = open_simulated_camera("camera", CameraSpec(kind="camera", channels={"trigger": "x"}))
    core, label = camera.core, camera.label
    core.setCameraDevice(label)
    core.startSequenceAcquisition(label, n, 0.0, False)
    producer = threading.Thread(target=unpaced, args=(push, n, frames))
    got = 0
    start = time.perf_counter()
    producer.start()
    while got < n:
        if core.getRemainingImageCount() == 0:
            time.sleep(0.0005)
            continue
        while core.getRemainingImageCount():
            core.popNextImageAndMD(fix=False)
            got += 1
    elapsed = time.perf_counter() - start
    producer.join()
    core.stopSequenceAcquisition(label)
    return n / elapsed, got


class Writer:
    """Appends frame batches to an HDF5 file on its own thread with the run writer's whole-chunk appends."""

    def __init__(self, path: Path):
        self.file = h5py.File(path, "w", libver="latest")
        frames = self.file.create_dataset("frames", (0, *SENSOR), "u2", maxshape=(None, *SENSOR),
                                          chunks=(20, *SENSOR))  # the run writer's chunks for 80x80 frames
        numbers = self.file.create_dataset("frame_number", (0,), "i8", maxshape=(None,), chunks=(32768,))
        self.frames, self.numbers = ChunkAppender(frames), ChunkAppender(numbers)
        self.file.swmr_mode = True
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        while (batch := self.queue.get()) is not None:
            self.frames.add(batch.frames)
            self.numbers.add(batch.frame_numbers)

    def close(self) -> int:
        """Commit and close; the number of frames stored."""
        self.queue.put(None)
        self.thread.join()
        n = self.frames.commit()
        self.numbers.commit()
        self.file.close()
        return n


def through_rig(camera: MmCamera, n: int, producer: threading.Thread, writer: Writer) -> tuple[float, list[int]]:
    """Arm, run the producer, poll read_frames every 20 ms into the writer; (fps, frame numbers seen)."""
    plan = plan_for(2000.0, n)
    camera.configure(plan)
    camera.start_frames(plan)
    numbers: list[int] = []
    start = time.perf_counter()
    producer.start()
    deadline = start + 60.0
    while len(numbers) < n and time.perf_counter() < deadline:
        time.sleep(POLL_S)
        batch = camera.read_frames()
        if batch is not None:
            numbers += batch.frame_numbers.tolist()
            writer.queue.put(batch)
    elapsed = time.perf_counter() - start
    producer.join()
    camera.stop_frames()
    return len(numbers) / elapsed, numbers


def consumer_cpu_us(rig_path: bool, frames: list[np.ndarray], batch: int = 40, batches: int = 100) -> float:
    """CPU microseconds per frame to take `batch` frames already in the core's buffer (2 kHz x 20 ms).

    The producer fills the buffer and stops before each timed read, so this is the consumer's own cost
    (process time, little affected by other load): bare popNextImageAndMD per frame, or MmCamera.read_frames.
    """
    camera, push = open_simulated_camera("camera", CameraSpec(kind="camera", channels={"trigger": "x"}))
    plan = plan_for(2000.0, batch * batches)
    camera.configure(plan)
    camera.start_frames(plan)
    core = camera.core
    spent = 0.0
    for _ in range(batches):
        for k in range(batch):
            push(frames[k % len(frames)], timestamp_ms=float(k))
        while core.getRemainingImageCount() < batch:
            time.sleep(0.001)
        start = time.process_time()
        if rig_path:
            camera.read_frames()
        else:
            for _ in range(batch):
                core.popNextImageAndMD(fix=False)
        spent += time.process_time() - start
    camera.stop_frames()
    return spent / (batch * batches) * 1e6


def dropped(numbers: list[int], n: int) -> int:
    """Frames missing or out of order."""
    return n - sum(1 for k, m in enumerate(numbers) if k == m)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000, help="frames for the unpaced comparison")
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each paced run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating bare/rig repeats of the unpaced comparison")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    frames = images()
    spec = CameraSpec(kind="camera", channels={"trigger": "x"})

    with tempfile.TemporaryDirectory() as tmp:
        bare_rates: list[float] = []
        rig_rates: list[float] = []
        for rep in range(args.repeats):  # alternating order: a load change hits both sides alike
            for side in (("bare", "rig") if rep % 2 == 0 else ("rig", "bare")):
                if side == "bare":
                    bare_fps, bare_got = bare(args.frames, frames)
                    bare_rates.append(bare_fps)
                    print(f"repeat {rep + 1} bare pymmcore-plus sequence acquisition : {bare_fps:9.0f} frames/s "
                          f"({bare_got} of {args.frames})")
                    continue
                camera, push = open_simulated_camera("camera", spec)
                writer = Writer(Path(tmp) / f"rig_unpaced_{rep}.h5")
                producer = threading.Thread(target=unpaced, args=(push, args.frames, frames))
                rig_fps, numbers = through_rig(camera, args.frames, producer, writer)
                stored = writer.close()
                rig_rates.append(rig_fps)
                print(f"repeat {rep + 1} MmCamera.read_frames + HDF5 writer      : {rig_fps:9.0f} frames/s "
                      f"({len(numbers)} read, {stored} stored, {dropped(numbers, args.frames)} dropped)")
        paired = statistics.median(r / b for r, b in zip(rig_rates, bare_rates))
        print(f"ratio rig / bare: {max(rig_rates) / max(bare_rates):.2f} (best of {args.repeats} each), median of "
              f"the paired repeats {paired:.2f}")

        bare_us = min(consumer_cpu_us(False, frames) for _ in range(3))
        rig_us = min(consumer_cpu_us(True, frames) for _ in range(3))
        print(f"consumer CPU per frame (batches of 40, best of 3): bare popNextImageAndMD {bare_us:.1f} us, "
              f"MmCamera.read_frames {rig_us:.1f} us; bare / rig {bare_us / rig_us:.2f}")

        for rate_hz in (500.0, 2000.0):
            n = int(rate_hz * args.seconds)
            lateness: list[float] = []
            camera, push = open_simulated_camera("camera", spec)
            writer = Writer(Path(tmp) / f"rig_{rate_hz:g}.h5")
            producer = threading.Thread(target=paced, args=(push, n, rate_hz, frames, lateness))
            fps, numbers = through_rig(camera, n, producer, writer)
            stored = writer.close()
            late = np.asarray(lateness)
            lost = dropped(numbers, n)
            verdict = "sustained" if lost == 0 and stored == n else "NOT sustained"
            print(f"paced {rate_hz:6.0f} Hz for {args.seconds:g} s: {len(numbers)}/{n} frames, {lost} dropped, "
                  f"{stored} stored; trigger lateness median {np.median(late):.3f} ms, max {late.max():.3f} ms "
                  f"-> {verdict}")


if __name__ == "__main__":
    main()
