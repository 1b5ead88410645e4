"""Frame plans, a trigger producer and a frame collector for the tests of the Micro-Manager camera path."""

from __future__ import annotations

import time

import numpy as np

from rig.backends.micromanager.camera import MmCamera
from rig.config.device_specs import CameraSpec
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.sweep_plan import SweepPlan, rising_edges
from rig.hal.interfaces import FrameBatch

SAMPLE_RATE_HZ = 100_000.0


def camera_spec(**kw) -> CameraSpec:
    return CameraSpec(kind="camera", channels={"trigger": "Dev1/port0/line0"}, **kw)


def frame_plan(rate_hz: float = 500.0, n_frames: int = 20, roi_px=(0, 0, 80, 80), binning: int = 1,
               exposure_ms: float = 1.0, camera: str = "camera") -> SweepPlan:
    period = int(round(SAMPLE_RATE_HZ / rate_hz))
    n = period * (n_frames + 1)
    trigger = np.zeros(n, dtype=np.float32)
    for k in range(n_frames):
        trigger[k * period: k * period + 5] = 1.0
    acq = CameraAcquisition(camera, f"{camera}.trigger", n_frames, exposure_ms, binning, tuple(roi_px))
    return SweepPlan(0, "na_ca", "na_ca", 0, SAMPLE_RATE_HZ, n, {f"{camera}.trigger": trigger}, (), camera=acq)


def fire(plan: SweepPlan, push, image_for, skip: tuple[int, ...] = ()) -> None:
    """What the simulated DAQ does: one push per rising edge, stamped with the edge's time."""
    assert plan.camera is not None
    for k, edge in enumerate(rising_edges(plan.outputs[plan.camera.trigger_channel])):
        push(None if k in skip else image_for(k), timestamp_ms=edge * 1000.0 / plan.sample_rate_hz)


def collect(camera: MmCamera, n_expected: int, timeout_s: float = 5.0) -> FrameBatch:
    """Poll read_frames like the Runner does until n frames arrived (or time runs out)."""
    batches = []
    got = 0
    deadline = time.monotonic() + timeout_s
    while got < n_expected and time.monotonic() < deadline:
        batch = camera.read_frames()
        if batch is None:
            time.sleep(0.002)
            continue
        batches.append(batch)
        got += len(batch.frames)
    if not batches:
        return FrameBatch(np.empty((0, 0, 0), np.uint16), np.empty(0, np.int64), np.empty(0))
    return FrameBatch(np.concatenate([b.frames for b in batches]), np.concatenate([b.frame_numbers for b in batches]),
                      np.concatenate([b.timestamps_ms for b in batches]))


def numbered(k: int) -> np.ndarray:
    return np.full((80, 80), 100 + k, dtype=np.uint16)
