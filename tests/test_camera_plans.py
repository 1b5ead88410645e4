"""Camera frames in a plan are checked before any light: trigger count, frame rate, ROI, exposure."""

from __future__ import annotations

import numpy as np

from conftest import PROFILE
from rig.config.profile import load_profile
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.sweep_plan import SweepPlan, rising_edges
from rig.engine.limits import check_plan


def _plan(rate_hz: float, n_frames: int, roi=(0, 0, 80, 80), exposure_ms=1.0, binning=1) -> SweepPlan:
    fs = 100_000.0
    n = int(0.1 * fs)
    trigger = np.zeros(n, dtype=np.float32)
    period = int(round(fs / rate_hz))
    for k in range(n_frames):
        trigger[k * period: k * period + 10] = 1.0
    cam = CameraAcquisition("camera", "camera.trigger", n_frames, exposure_ms, binning, roi)
    return SweepPlan(0, "na_ca", "na_ca", 0, fs, n, {"camera.trigger": trigger}, (), camera=cam)


def test_rising_edges():
    assert rising_edges(np.array([1, 1, 0, 1, 0, 0, 1])).tolist() == [0, 3, 6]


def test_camera_plan_within_limits_passes():
    profile = load_profile(PROFILE).profile
    assert check_plan(_plan(500, 40), profile, "p.yaml") == []


def test_camera_plan_faults_are_named():
    profile = load_profile(PROFILE).profile
    text = "\n".join(str(p) for p in check_plan(_plan(2500, 40, roi=(40, 0, 80, 80), exposure_ms=1.0), profile, "p"))
    assert "frame rate 2500 Hz exceeds devices.camera.max_frame_rate_hz = 2000" in text
    assert "does not fit the 80x80 sensor" in text
    assert "exposure 1 ms is longer than the frame interval 0.4 ms" in text
    mismatch = check_plan(_plan(500, 40), profile, "p")
    assert mismatch == []
    bad = _plan(500, 40)
    object.__setattr__(bad, "camera", CameraAcquisition("camera", "camera.trigger", 41, 1.0, 1, (0, 0, 80, 80)))
    assert "40 trigger edges for 41 expected frames" in str(check_plan(bad, profile, "p")[0])
