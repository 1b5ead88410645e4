"""Na/Ca imaging on the simulated rig: frames through MMCore into the run file, split by the LED record."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from rig.api import execute, prepare_run
from rig.cli import main
from rig.engine.rig import build_rig
from rig.protocols.na_ca.analysis import frame_leds
from rig.storage.reader import RunFile

NA_CA = ROOT / "protocols" / "na_ca_imaging.yaml"
PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"


def _run(tmp_path, sweeps=2, drop=()):
    prepared = prepare_run(NA_CA, PROFILE, ["interval_s=1"], sweeps=sweeps)
    rig = build_rig(prepared.profile)
    rig.clock.camera_feeds["camera"].drop_frames = set(drop)
    return prepared, execute(prepared, tmp_path, rig_=rig)


def test_frames_reach_the_run_file_through_mmcore_with_one_led_per_frame(tmp_path, journal):
    prepared, result = _run(tmp_path)
    assert result.outcome.status == "completed" and result.outcome.all_safe
    plan = prepared.compiled.plans[1]
    with RunFile(result.path) as f:
        assert f.n_sweeps == 3  # the no-stimulus sweep, then two stimulated sweeps
        frames = f.sweep_data(1, "in:camera.frames")
        numbers = f.sweep_data(1, "in:camera.frame_number")
        assert frames.shape == (100, 80, 80) and frames.dtype == np.uint16
        assert numbers.tolist() == list(range(100))
        leds, _ = frame_leds(plan, numbers)
        assert leds[:4].tolist() == ["uv385", "green520", "uv385", "green520"]
        # the 520 nm frames show ANG-2, the 385 nm ones bis-fura-2: two different images of the same cell
        uv, green = frames[0::2].mean(axis=0), frames[1::2].mean(axis=0)
        assert not np.allclose(uv, green, rtol=0.05)
        assert not [n for n in f.notices() if n["source"] == "camera"]
    names = {e for e in result.estimates}
    assert {"tau_na_ms", "na_half_decay_ms", "na_peak_mM", "neck_resistance_MOhm"} <= names
    assert not [n for n in names if "bound" in n]  # a resolved decay (tau_Na ~23 ms): two-sided rows only


def test_a_dropped_frame_is_reported_and_does_not_shift_the_channels(tmp_path):
    prepared, result = _run(tmp_path, sweeps=1, drop=(7,))
    plan = prepared.compiled.plans[1]
    with RunFile(result.path) as f:
        numbers = f.sweep_data(1, "in:camera.frame_number")
        assert numbers.size == 99 and 7 not in numbers.tolist()
        notices = [n["message"] for n in f.notices() if n["source"] == "camera"]
        assert any("dropped frame numbers [7]" in m for m in notices)
        leds, _ = frame_leds(plan, numbers)
        # split by the record: frame 8 is still a 385 nm frame (assuming alternation would call it 520)
        assert leds[numbers.tolist().index(8)] == "uv385"
        assert leds[7] == "uv385" and numbers[7] == 8


@pytest.mark.parametrize("override, fragment", [
    ("frame_rate_hz=3000", "3000 Hz exceeds the camera limit 2000 Hz"),
    ("steps.0.leds.1.led=red630", "has no LED 'red630'"),
    ("exposure_ms=2.5", "does not fit in a frame interval of 2 ms"),
])
def test_bad_camera_settings_are_refused_before_any_light(tmp_path, capsys, journal, override, fragment):
    code = main(["run", str(NA_CA), "--profile", str(PROFILE), "--out", str(tmp_path / "o"), "--quiet",
                 "--set", override])
    assert code == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not journal.exists()
