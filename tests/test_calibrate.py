"""Calibration procedures on the simulated rig recover its hidden true calibration (within 2 %, several seeds),
and `rig calibrate` writes a commented copy of the profile, never the profile itself."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

from rig.calibrate.galvo import calibrate_galvo
from rig.calibrate.instruments import MeterReadings, TypedReadings, rig_power_meter
from rig.calibrate.leds import calibrate_leds
from rig.calibrate.pockels import calibrate_pockels
from rig.calibrate.telegraph import SimulatedStepper, calibrate_telegraph, telegraph_amplifier
from rig.cli import main
from rig.config.profile import load_profile
from rig.engine.rig import build_rig

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "hardware_profiles" / "simulated.yaml"
SEEDS = (1, 4, 7)
TELEGRAPH = {"mode": "SimDev1/ai6", "gain": "SimDev1/ai7", "mode_levels_V": {"VC": 6.0, "CC": 2.0, "I0": 3.0},
             "gain_levels_V": [[1, 2.0], [2, 2.5], [5, 3.0], [10, 3.5], [20, 4.0], [50, 4.5], [100, 5.0]]}


def _profile(tmp_path: Path, hidden: dict, telegraph: bool = False, name: str = "rig.yaml") -> Path:
    data = yaml.safe_load(SIM.read_text())
    data["simulation"]["hidden_calibration"] = hidden
    if telegraph:
        data["devices"]["amplifier"]["telegraph"] = TELEGRAPH
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _rig(tmp_path: Path, hidden: dict, telegraph: bool = False):
    return build_rig(load_profile(_profile(tmp_path, hidden, telegraph)))


def test_the_hidden_calibration_is_the_identity_unless_asked() -> None:
    """Existing profiles: commands land exactly where the profile says (same arrays back, no new numbers)."""
    rig = build_rig(load_profile(SIM))
    truth = rig.extras["hidden_calibration"]
    x = np.linspace(-10, 10, 5)
    assert truth.identity and truth.beam_um(x, x)[0] is x and truth.beam_power(x) is x
    assert truth.true_volts_per_um("scanner") == pytest.approx((0.01, 0.01))
    assert truth.galvo_um("scanner", "x", x) is None and truth.pockels_power("laser", x) is None


def test_the_true_calibration_from_volts_agrees_with_commands(tmp_path) -> None:
    """From commands (this branch's optics hook) or from volts (the driver seam): the same true positions/powers."""
    truth = _rig(tmp_path, {"seed": 4}).extras["hidden_calibration"]
    x_um = np.linspace(-20, 20, 9)
    assert np.allclose(truth.beam_um(x_um, x_um)[0], truth.galvo_um("scanner", "x", x_um * 0.01))
    fraction = np.linspace(0, 1, 9)
    assert np.allclose(truth.beam_power(fraction), truth.pockels_power("laser", fraction * 1.0))


def test_a_seed_draws_errors_of_a_few_to_twenty_percent(tmp_path) -> None:
    """The seeded true calibration differs from the profile's by 3-20 % on each axis."""
    for seed in SEEDS:
        truth = _rig(tmp_path, {"seed": seed}).extras["hidden_calibration"]
        for v in truth.true_volts_per_um("scanner"):
            assert 0.03 <= abs(0.01 / v - 1) <= 0.2


@pytest.mark.parametrize("seed", SEEDS)
def test_galvo_calibration_recovers_the_true_volts_per_um(tmp_path, seed) -> None:
    """A frame scan of the grid slide: each axis within 2 % of the hidden truth."""
    rig = _rig(tmp_path, {"seed": seed, "sample": "grid_slide"})
    result = calibrate_galvo(rig, pitch_um=10.0)
    true = rig.extras["hidden_calibration"].true_volts_per_um("scanner")
    errors = [m / t - 1 for m, t in zip(result.volts_per_um, true)]
    assert max(map(abs, errors)) < 0.02, errors
    assert max(abs(0.01 / t - 1) for t in true) > 0.02  # the profile's own value would fail


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("method", ["meter", "pmt"])
def test_pockels_calibration_recovers_the_true_power_curve(tmp_path, seed, method) -> None:
    """Power meter or 2P PMT counts on a uniform slide: every table point within 0.02 of the true fraction."""
    rig = _rig(tmp_path, {"seed": seed, "sample": "uniform_slide"})
    meter = rig_power_meter(rig)
    assert meter is not None
    result = calibrate_pockels(rig, method, MeterReadings(meter))
    volts = np.array([v for v, _ in result.points])
    measured = np.array([f for _, f in result.points])
    true = rig.extras["hidden_calibration"].true_power_fraction("laser", volts)
    assert len(volts) >= 15 and np.max(np.abs(measured - true)) < 0.02
    assert np.max(np.abs(np.interp(volts, [0, 1], [0, 1]) - true)) > 0.05  # the nominal linear cell is off


def test_typed_power_readings_reach_the_table(tmp_path) -> None:
    """The operator's typed readings (here what the meter shows, typed with a mistake first) make the table."""
    rig = _rig(tmp_path, {"seed": 4, "sample": "uniform_slide"})
    meter = rig_power_meter(rig)
    typed = iter(["oops"])

    def ask(prompt: str) -> str:
        return next(typed, None) or f"{meter.read_mW():.4f}"

    result = calibrate_pockels(rig, "meter", TypedReadings(ask), steps=9)
    volts = np.array([v for v, _ in result.points])
    true = rig.extras["hidden_calibration"].true_power_fraction("laser", volts)
    assert result.method.startswith("power meter readings typed in")
    assert np.max(np.abs(np.array([f for _, f in result.points]) - true)) < 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_led_calibration_recovers_each_leds_power(tmp_path, seed) -> None:
    """Each LED alone above the dark reading: within 2 % of its true power."""
    rig = _rig(tmp_path, {"seed": seed})
    result = calibrate_leds(rig, MeterReadings(rig_power_meter(rig)))
    truth = rig.extras["hidden_calibration"]
    assert {p.led for p in result.leds} == {"uv385", "blue460", "green520"}
    for p in result.leds:
        assert abs(p.power_mW / truth.led_power_mW(p.source, p.led) - 1) < 0.02
        assert p.mW_per_V == pytest.approx(p.power_mW / 5.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_telegraph_calibration_recovers_the_levels(tmp_path, seed) -> None:
    """Stepping the amplifier through its modes and gains: every level within 2 %, amplifier left safe."""
    rig = _rig(tmp_path, {"seed": seed}, telegraph=True)
    amplifier = telegraph_amplifier(rig)
    result = calibrate_telegraph(rig, SimulatedStepper(rig, amplifier), amplifier)
    truth = rig.extras["hidden_calibration"].telegraphs[amplifier]
    for mode, volts in result.mode_levels_V.items():
        assert abs(volts / truth.mode_levels_V[mode] - 1) < 0.02
    for gain, volts in result.gain_levels_V:
        assert abs(volts / truth.gain_levels_V[gain] - 1) < 0.02
    levels = sorted(v for _, v in result.gain_levels_V)
    assert 0 < result.tolerance_V <= 0.4 * min(b - a for a, b in zip(levels, levels[1:])) + 1e-3
    assert rig.devices[amplifier].mode == "VC"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_rig_calibrate_galvo_writes_a_commented_copy(tmp_path) -> None:
    """End to end: the copy has the measured values with date and method; the original is byte-identical."""
    profile = _profile(tmp_path, {"seed": 4, "sample": "grid_slide"})
    before = profile.read_text()
    out = tmp_path / "calibrated.yaml"
    code, stdout, err = _cli("calibrate", "galvo", "--profile", str(profile), "--out", str(out), "--pitch-um", "10")
    assert code == 0, err
    assert profile.read_text() == before and f"wrote {out}" in stdout
    text = out.read_text()
    assert text.startswith("# Calibrated copy of rig.yaml: galvo measured ")
    assert "measured " in next(line for line in text.splitlines() if "volts_per_um:" in line)
    assert "frame scan of a 10 um grid" in text
    scanner = load_profile(out).profile.scanner("scanner")
    true = build_rig(load_profile(profile)).extras["hidden_calibration"].true_volts_per_um("scanner")
    assert abs(scanner.volts_per_um / true[0] - 1) < 0.02 and abs(scanner.volts_per_um_y / true[1] - 1) < 0.02


def test_rig_calibrate_leds_and_telegraph_write_copies(tmp_path) -> None:
    """LED powers and telegraph levels land in the copy under the right keys, with comments."""
    profile = _profile(tmp_path, {"seed": 7}, telegraph=True)
    leds, tele = tmp_path / "leds.yaml", tmp_path / "tele.yaml"
    assert _cli("calibrate", "leds", "--profile", str(profile), "--out", str(leds))[0] == 0
    assert _cli("calibrate", "telegraph", "--profile", str(profile), "--out", str(tele))[0] == 0
    powered = load_profile(leds).profile.led_source("leds").leds
    assert all(spec.power_mW is not None for spec in powered.values())
    assert "mW per V of TTL high" in leds.read_text()
    telegraph = load_profile(tele).profile.amplifier("amplifier").telegraph
    assert telegraph is not None and set(telegraph.mode_levels_V) == {"VC", "CC", "I0"}
    assert "amplifier stepped by software" in tele.read_text()


def test_rig_calibrate_refuses_bad_input_one_line_each(tmp_path) -> None:
    """--out the profile itself, a bad pitch, a method a procedure lacks: one line each, exit 2, nothing written."""
    profile = _profile(tmp_path, {"seed": 1})
    before = profile.read_text()
    code, _, err = _cli("calibrate", "galvo", "--profile", str(profile), "--out", str(profile), "--pitch-um", "0.1",
                        "--method", "meter")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 3, lines
    assert any("--out: is the profile itself" in line for line in lines)
    assert any("--pitch-um: 0.1; allowed 1 to 200 um" in line for line in lines)
    assert any("--method: galvo has no --method" in line for line in lines)
    assert profile.read_text() == before
    code, _, err = _cli("calibrate", "telegraph", "--profile", str(profile), "--out", str(tmp_path / "t.yaml"))
    assert code == 2 and "no patch_amplifier has telegraph inputs wired" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "t.yaml").exists()
    code, _, err = _cli("calibrate", "leds", "--profile", str(tmp_path / "missing.yaml"), "--out",
                        str(tmp_path / "l.txt"))
    assert code == 2 and len(err.strip().splitlines()) == 2, err


def test_a_grid_that_is_not_there_fails_in_one_line(tmp_path) -> None:
    """The cell under the objective instead of the grid: exit 1, one line, no copy, the rig left safe."""
    profile = _profile(tmp_path, {"seed": 1})
    out = tmp_path / "c.yaml"
    code, _, err = _cli("calibrate", "galvo", "--profile", str(profile), "--out", str(out))
    assert code == 1 and ("grid line(s) found" in err or "do not form a grid" in err), err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("name", ["two_photon_rig.yaml", "simulated.yaml", "ccd_rig.yaml"])
def test_the_copy_changes_only_the_measured_lines(tmp_path, name) -> None:
    """Every other line of the profile (comments, flow maps, list layout, nulls) is kept as it was."""
    import difflib

    from rig.calibrate.profile_copy import ProfileEdit, dated, write_calibrated_copy

    loaded = load_profile(ROOT / "hardware_profiles" / name)
    edit = ProfileEdit(("daq", "max_sample_rate_hz"), 123456, dated("a test"))
    text = write_calibrated_copy(loaded, [edit], tmp_path / "copy.yaml", "daq")
    diff = [line for line in difflib.unified_diff(loaded.text.splitlines(), text.splitlines(), n=0, lineterm="")
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert len(diff) == 3, diff  # the header, and the one value replaced
    assert diff[0].startswith(f"+# Calibrated copy of {name}: daq measured ")
    assert diff[1].startswith("-  max_sample_rate_hz:") and diff[2].startswith("+  max_sample_rate_hz: 123456")
    assert "measured " in diff[2] and "a test" in diff[2]
    assert load_profile(tmp_path / "copy.yaml").profile.daq.max_sample_rate_hz == 123456


def test_after_calibration_commands_land_where_the_profile_says(tmp_path) -> None:
    """Closed loop: hardware fixed absolutely; before calibration commands miss by >5 %, after it by <2 %."""
    hardware = {"galvo_um_per_V": [88.0, 112.0], "pockels_v_pi_V": 1.15}
    grid = _profile(tmp_path, hardware | {"sample": "grid_slide"}, name="grid.yaml")
    galvo_copy = tmp_path / "galvo_cal.yaml"
    assert _cli("calibrate", "galvo", "--profile", str(grid), "--out", str(galvo_copy))[0] == 0
    slide = _profile(tmp_path, hardware | {"sample": "uniform_slide"}, name="slide.yaml")
    pockels_copy = tmp_path / "pockels_cal.yaml"
    assert _cli("calibrate", "pockels", "--profile", str(slide), "--out", str(pockels_copy), "--method", "pmt")[0] == 0
    x_um = np.linspace(-40.0, 40.0, 9)
    fraction = np.linspace(0.0, 1.0, 41)
    before = build_rig(load_profile(grid)).extras["hidden_calibration"]
    assert np.max(np.abs(before.beam_um(x_um, x_um)[0] - x_um)) > 0.05 * 40
    assert np.max(np.abs(before.beam_power(fraction) - fraction)) > 0.05
    after_galvo = build_rig(load_profile(galvo_copy)).extras["hidden_calibration"]
    landed_x, landed_y = after_galvo.beam_um(x_um, x_um)
    assert np.max(np.abs(landed_x - x_um)) < 0.02 * 40 and np.max(np.abs(landed_y - x_um)) < 0.02 * 40
    after_pockels = build_rig(load_profile(pockels_copy)).extras["hidden_calibration"]
    assert np.max(np.abs(after_pockels.beam_power(fraction) - fraction)) < 0.02
