"""Every path out of a run leaves the rig safe: end, stop, abort mid-bleach, exception, Ctrl-C."""

from __future__ import annotations

import threading

import pytest

from conftest import FRAP, PROFILE, assert_rig_safe
from rig.api import execute, prepare_run
from rig.engine.rig import build_rig
from rig.storage.reader import RunFile


def _prepared(sweeps: int = 2):
    return prepare_run(FRAP, PROFILE, ["recovery_ms=200", "interval_s=0.1"], sweeps=sweeps)


def test_completed_run_leaves_rig_safe(journal, tmp_path):
    result = execute(_prepared(), tmp_path)
    assert result.outcome.status == "completed"
    assert result.outcome.all_safe
    assert_rig_safe(journal)


def test_abort_during_bleach_turns_light_off(journal, tmp_path):
    prepared = _prepared()
    rig = build_rig(prepared.profile)
    plan = prepared.compiled.plans[0]
    bleach_end = int(plan.events_ms["bleach_end"] / 1000 * plan.sample_rate_hz)
    runner_box = {}
    seen = {}

    def abort_while_laser_high(daq) -> None:
        # chunk boundaries are 20 ms: find the chunk that contains the bleach and abort there
        if "power" not in seen and daq.position >= bleach_end:
            seen["power"] = daq.plan.outputs["laser.power"][: daq.position].max()
            runner_box["runner"].abort()

    rig.clock.observers.append(abort_while_laser_high)
    result = execute(prepared, tmp_path, rig_=rig, on_runner=lambda r: runner_box.setdefault("runner", r))
    assert seen["power"] == pytest.approx(1.0)  # the bleach had been commanded
    assert result.outcome.status == "aborted"
    assert result.outcome.all_safe
    assert_rig_safe(journal)
    with RunFile(result.path) as f:
        assert f.status == "aborted"
        assert f.n_sweeps == 0


def test_laser_left_high_by_an_abort_is_switched_off(journal, tmp_path):
    """A DAQ holds its last output: abort with the Pockels held at bleach power, and check it is zeroed."""
    prepared = _prepared()
    rig = build_rig(prepared.profile)
    runner_box = {}

    def hold_laser_high(daq) -> None:
        daq.held["laser.power"] = 1.0  # as if the abort caught the AO mid-bleach
        runner_box["runner"].abort()

    rig.clock.observers.append(hold_laser_high)
    result = execute(prepared, tmp_path, rig_=rig, on_runner=lambda r: runner_box.setdefault("runner", r))
    assert result.outcome.status == "aborted"
    assert rig.clock.held["laser.power"] == 0.0
    assert_rig_safe(journal)


def test_exception_in_daq_leaves_rig_safe_and_is_recorded(journal, tmp_path):
    prepared = _prepared()
    rig = build_rig(prepared.profile)
    rig.clock.inject_fault(after_reads=20, error=RuntimeError("DAQ buffer overflow"))
    with pytest.raises(RuntimeError, match="buffer overflow"):
        execute(prepared, tmp_path, rig_=rig)
    assert_rig_safe(journal)
    (path,) = tmp_path.glob("*.h5")
    with RunFile(path) as f:
        assert f.status == "error"
        assert "buffer overflow" in f.attrs["message"]
        assert f.n_sweeps == 1  # the first sweep completed before the fault and is kept


def test_keyboard_interrupt_inside_acquisition_leaves_rig_safe(journal, tmp_path):
    prepared = _prepared()
    rig = build_rig(prepared.profile)
    rig.clock.inject_fault(after_reads=5, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        execute(prepared, tmp_path, rig_=rig)
    assert_rig_safe(journal)
    (path,) = tmp_path.glob("*.h5")
    with RunFile(path) as f:
        assert f.status == "aborted"


def test_stop_request_from_another_thread_finishes_current_sweep(journal, tmp_path):
    prepared = _prepared(sweeps=4)
    rig = build_rig(prepared.profile)
    runner_box = {}

    def stop_during_second_sweep(daq) -> None:
        if daq.plan.sweep_in_step == 1 and "asked" not in runner_box:
            runner_box["asked"] = True
            threading.Thread(target=runner_box["runner"].request_stop).start()  # as the GUI thread would

    rig.clock.observers.append(stop_during_second_sweep)
    result = execute(prepared, tmp_path, rig_=rig, on_runner=lambda r: runner_box.setdefault("runner", r))
    assert result.outcome.status == "stopped"
    assert result.outcome.sweeps_completed == 2
    assert_rig_safe(journal)
    with RunFile(result.path) as f:
        assert f.n_sweeps == 2
        assert f.status == "stopped"


def test_pause_holds_between_sweeps_until_resume(journal, tmp_path):
    prepared = _prepared(sweeps=3)
    rig = build_rig(prepared.profile)
    box: dict = {"starts": []}

    def note_sweep(daq) -> None:
        if daq.position <= 20000 and (not box["starts"] or box["starts"][-1] != daq.plan.sweep_in_step):
            box["starts"].append(daq.plan.sweep_in_step)
            if daq.plan.sweep_in_step == 0:
                box["runner"].pause()

    rig.clock.observers.append(note_sweep)

    def resume_later() -> None:
        import time

        deadline = time.monotonic() + 60
        while not box["runner"].paused and time.monotonic() < deadline:  # wait until the pause is asked for
            time.sleep(0.01)
        time.sleep(0.8)  # hold well past the end of sweep 1
        box["starts_while_paused"] = list(box["starts"])
        box["runner"].resume()

    def on_runner(runner) -> None:
        box["runner"] = runner
        threading.Thread(target=resume_later).start()

    result = execute(prepared, tmp_path, rig_=rig, on_runner=on_runner)
    assert box["starts_while_paused"] == [0]  # sweep 2 did not start during the pause
    assert result.outcome.status == "completed" and result.outcome.sweeps_completed == 3
    assert_rig_safe(journal)


def test_frame_check_names_dropped_and_duplicated_frames_in_linear_time():
    """200,000 frame numbers are checked at once (the old list.count check was quadratic)."""
    import time
    from types import SimpleNamespace

    import numpy as np

    from rig.datatypes.records import Notice
    from rig.engine.runner import _FrameCollector
    from rig.engine.stream import Stream

    n = 200_000
    stream = Stream()
    notices = []
    stream.attach("n", type("C", (), {"handle": lambda self, r: notices.append(r)})())
    plan = SimpleNamespace(camera=SimpleNamespace(camera="cam", n_frames=n, exposure_ms=0.0))
    frames = _FrameCollector(0, plan, stream)
    numbers = np.arange(n)
    numbers[7] = 6  # frame 7 dropped, frame 6 twice
    frames.take(SimpleNamespace(frames=np.zeros((n, 1, 1)), frame_numbers=numbers, timestamps_ms=np.zeros(n)))
    t0 = time.process_time()
    frames.finish(camera=None, aborted=lambda: True)
    assert time.process_time() - t0 < 5.0
    stream.close()
    (notice,) = [r for r in notices if isinstance(r, Notice)]
    assert "dropped frame numbers [7]" in notice.message and "duplicated frame numbers [6]" in notice.message
