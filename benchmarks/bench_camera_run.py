"""Camera frames through the whole rig into the run file, against bare pymmcore-plus, in one run.

1. bare: the same triggered Python camera in a fresh MMCore, frames pushed unpaced from a thread
   and popped with popNextImageAndMD (what MMCore alone sustains);
2. rig: a 2 kHz, 80x80 Na/Ca sweep on the simulated rig: the simulated DAQ renders every frame
   of the specimen at its trigger, MMCore's sequence acquisition delivers it, the Runner
   streams it and the HDF5 writer stores it. The simulated clock runs as fast as it can, so the
   frames per wall second are the rate the whole chain sustains (rendering included); dropped
   frames are counted from the camera's frame numbers in the run file.

Usage: python benchmarks/bench_camera_run.py
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from rig.api import execute, prepare_run  # noqa: E402
from rig.backends.micromanager.camera import open_simulated_camera  # noqa: E402
from rig.config.profile import load_profile  # noqa: E402
from rig.datatypes.layouts import CameraAcquisition  # noqa: E402
from rig.datatypes.sweep_plan import SweepPlan  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"
RATE_HZ = 2000.0
DURATION_MS = 1000.0


def bare_rate(n_frames: int = 4000) -> float:
    """Frames per second of a bare pymmcore-plus sequence acquisition with the same Python camera."""
    spec = load_profile(PROFILE).profile.devices["camera"]
    camera, push = open_simulated_camera("camera", spec)
    trigger = np.zeros(n_frames * 10, dtype=np.float32)
    trigger[::10] = 1.0
    plan = SweepPlan(0, "bare", "bare", 0, RATE_HZ * 10, trigger.size, {"camera.trigger": trigger}, (),
                     camera=CameraAcquisition("camera", "camera.trigger", n_frames, 0.4, 1, (0, 0, 80, 80)))
    camera.configure(plan)
    core, label = camera.core, camera.label
    frame = np.random.default_rng(0).poisson(200, (80, 80)).astype(np.uint16)
    core.startSequenceAcquisition(label, n_frames, 0, False)
    producer = threading.Thread(target=lambda: [push(frame, timestamp_ms=float(k)) for k in range(n_frames)])
    t0 = time.perf_counter()
    producer.start()
    got = 0
    while got < n_frames and time.perf_counter() - t0 < 60:
        if core.getRemainingImageCount():
            core.popNextImageAndMD()
            got += 1
        else:
            time.sleep(0.0005)
    elapsed = time.perf_counter() - t0
    producer.join()
    core.stopSequenceAcquisition(label)
    return got / elapsed


def rig_rate(folder: Path) -> tuple[float, int, int, float, float]:
    """A 2 kHz sweep: (frames per wall second while acquiring, frames stored, dropped, simulated seconds per
    wall second while acquiring, wall seconds of the whole run including the online analysis)."""
    prepared = prepare_run(ROOT / "protocols" / "na_ca_imaging.yaml", PROFILE,
                           [f"frame_rate_hz={RATE_HZ}", "exposure_ms=0.4", f"duration_ms={DURATION_MS}",
                            "no_stimulus_sweep=false", "interval_s=0"], sweeps=1)
    t0 = time.perf_counter()
    result = execute(prepared, folder)
    elapsed = time.perf_counter() - t0
    with RunFile(result.path) as f:
        numbers = f.sweep_data(0, "in:camera.frame_number")
        row = f.sweeps()[0]
        acquiring_s = float(row["ended_unix"] - row["started_unix"])  # sweep start to sweep stored
        expected = prepared.compiled.plans[0].camera.n_frames
    dropped = expected - len(set(numbers.tolist()))
    return (len(numbers) / acquiring_s, len(numbers), dropped, prepared.compiled.plans[0].duration_s / acquiring_s,
            elapsed)


def main() -> None:
    """Print the figures and the ratio."""
    bare = bare_rate()
    with tempfile.TemporaryDirectory() as tmp:
        rig, stored, dropped, speed, whole = rig_rate(Path(tmp))
    print(f"bare pymmcore-plus sequence acquisition (same Python camera): {bare:8.0f} frames/s")
    print(f"rig, 80x80 at {RATE_HZ:.0f} Hz into the run file: {rig:8.0f} frames/s while acquiring "
          f"({stored} frames stored, {dropped} dropped; simulated specimen + camera + storage at {speed:.2f}x "
          f"real time); whole run incl. building the rig and the online analysis: {whole:.2f} s")
    print(f"ratio rig / bare: {rig / bare:.2f}")
    verdict = "sustained" if dropped == 0 and speed >= 1.0 else "NOT sustained in real time"
    print(f"2 kHz: {verdict} (every frame stored: {dropped == 0}; chain at {speed:.2f}x the frame clock)")


if __name__ == "__main__":
    main()
