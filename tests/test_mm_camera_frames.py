"""Triggered frames through the real Micro-Manager core (UniMMCore) with the Python camera.

The producer below plays the simulated DAQ: one `push_frame` per rising edge of the
plan's camera trigger. Every frame then goes through MMCore's sequence acquisition.
"""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from mm_camera_helpers import camera_spec, collect, fire, frame_plan, numbered

from rig.backends.micromanager.camera import open_simulated_camera
from rig.backends.micromanager.python_camera import find_python_camera


@pytest.fixture
def sim():
    camera, push = open_simulated_camera("camera", camera_spec())
    yield camera, push
    camera.make_safe()


def test_triggered_frames_arrive_with_consecutive_numbers_and_trigger_times(sim):
    camera, push = sim
    plan = frame_plan(rate_hz=500.0, n_frames=30)
    camera.configure(plan)
    camera.start_frames(plan)
    assert camera.core.isSequenceRunning(camera.label)
    fire(plan, push, numbered)
    batch = collect(camera, 30)
    assert batch.frame_numbers.tolist() == list(range(30))
    assert batch.frames.shape == (30, 80, 80) and batch.frames.dtype == np.uint16
    assert batch.frames[:, 0, 0].tolist() == [100 + k for k in range(30)]
    np.testing.assert_allclose(batch.timestamps_ms, np.arange(30) * 2.0)
    camera.stop_frames()
    assert camera.read_frames() is None


def test_roi_binning_and_exposure_are_applied_on_the_camera(sim):
    camera, push = sim
    plan = frame_plan(n_frames=3, roi_px=(8, 16, 40, 24), binning=2, exposure_ms=0.75)
    camera.configure(plan)
    core, label = camera.core, camera.label
    assert core.getROI(label) == [4, 8, 20, 12]  # Micro-Manager ROIs are in binned pixels
    assert int(float(core.getProperty(label, "Binning"))) == 2
    assert core.getExposure(label) == pytest.approx(0.75)
    scene = np.arange(80 * 80, dtype=np.uint16).reshape(80, 80) % 1000
    camera.start_frames(plan)
    fire(plan, push, lambda k: scene + k)
    batch = collect(camera, 3)
    region = scene[16:40, 8:48].astype(np.int64)
    expected = region.reshape(12, 2, 20, 2).sum(axis=(1, 3))
    assert batch.frames.shape == (3, 12, 20)
    np.testing.assert_array_equal(batch.frames[0], expected)
    np.testing.assert_array_equal(batch.frames[2], expected + 4 * 2)  # +k per pixel, 4 pixels per bin


def test_a_frame_lost_by_the_camera_is_a_gap_in_frame_numbers(sim):
    camera, push = sim
    plan = frame_plan(n_frames=10)
    camera.configure(plan)
    camera.start_frames(plan)
    fire(plan, push, numbered, skip=(4,))
    batch = collect(camera, 9, timeout_s=2.0)
    assert batch.frame_numbers.tolist() == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert batch.frames[4, 0, 0] == 105  # the frame after the gap keeps its own content
    np.testing.assert_allclose(batch.timestamps_ms[3:5], [6.0, 10.0])
    assert camera.read_frames() is None  # nothing duplicated or invented


def test_make_safe_stops_the_acquisition_and_drives_the_trigger_low():
    writes = []
    clock = type("Clock", (), {"write_static": lambda self, ch, v: writes.append((ch, v))})()
    camera, push = open_simulated_camera("cam2", camera_spec(), clock=clock)
    plan = frame_plan(n_frames=50, camera="cam2")
    camera.configure(plan)
    camera.start_frames(plan)
    push(numbered(0))
    assert camera.safety().safe is False  # acquiring is not safe
    t0 = time.monotonic()
    camera.make_safe()
    assert time.monotonic() - t0 < 0.5  # the waiting camera thread notices the stop at once
    assert not camera.core.isSequenceRunning(camera.label)
    report = camera.safety()
    assert report.safe and "idle" in report.detail
    assert writes == [("cam2.trigger", 0.0)]
    device = find_python_camera(camera.core, camera.label)
    before = device.ignored_triggers
    push(numbered(1))  # a trigger after make_safe is ignored: the camera is not armed
    assert device.ignored_triggers == before + 1


def test_each_sweep_rearms_with_frame_numbers_from_zero(sim):
    camera, push = sim
    plan = frame_plan(n_frames=5)
    device = find_python_camera(camera.core, camera.label)
    camera.configure(plan)
    for _ in range(3):
        # re-armed straight after a completed sequence: the core drops the finished generator
        # only now, and closing it must not disarm the new sequence
        camera.start_frames(plan)
        gc.collect()
        assert device.armed
        fire(plan, push, numbered)
        assert collect(camera, 5).frame_numbers.tolist() == [0, 1, 2, 3, 4]
        time.sleep(0.05)
        assert not device.armed  # complete: a stray trigger now is ignored, not queued for the next sweep
    camera.stop_frames()


def test_a_burst_of_frames_from_an_unpaced_producer_all_arrive_in_order(sim):
    camera, push = sim
    n = 3000
    plan = frame_plan(rate_hz=2000.0, n_frames=n, exposure_ms=0.4)
    camera.configure(plan)
    camera.start_frames(plan)
    fire(plan, push, numbered)  # as fast as Python can push: faster than any real 2 kHz clock
    batch = collect(camera, n, timeout_s=20.0)
    assert batch.frame_numbers.tolist() == list(range(n))
    assert np.array_equal(batch.frames[:, 5, 5], (100 + np.arange(n)).astype(np.uint16))


def test_the_direct_buffer_pop_and_the_public_pop_deliver_the_same_frames():
    """read_frames pops the Python camera's frames from UniMMCore's buffer; the public pop gives the same batch."""
    plan = frame_plan(n_frames=12)
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 4000, (80, 80)).astype(np.uint16) for _ in range(12)]
    batches = []
    for direct in (True, False):
        camera, push = open_simulated_camera("camera", camera_spec())
        assert camera._python_buffer() is not None
        if not direct:
            camera._python_buffer = lambda: None  # the fallback a core without that buffer takes
        camera.configure(plan)
        camera.start_frames(plan)
        fire(plan, push, images.__getitem__, skip=(4,))
        batches.append(collect(camera, 11))
        camera.stop_frames()
    fast, public = batches
    assert fast.frame_numbers.tolist() == [k for k in range(12) if k != 4]
    np.testing.assert_array_equal(fast.frames, np.stack([images[k] for k in range(12) if k != 4]))
    np.testing.assert_array_equal(fast.frames, public.frames)
    np.testing.assert_array_equal(fast.frame_numbers, public.frame_numbers)
    np.testing.assert_array_equal(fast.timestamps_ms, public.timestamps_ms)
