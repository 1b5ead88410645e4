"""Pure functions behind the window: membrane test, frame scan, line-scan views, progress, light dose, forms."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from conftest import PROFILE  # noqa: E402
from rig.config.profile import load_profile  # noqa: E402
from rig.engine.limits import check_plan  # noqa: E402
from rig.gui.frame_scan import FrameSettings, check_frame, fold_frame, frame_layout, frame_scan_plan  # noqa: E402
from rig.gui.light_dose import spine_dose_p2ms  # noqa: E402
from rig.gui.membrane_test import PulseShape, analyze_pulse, pulse_plan  # noqa: E402
from rig.gui.progress import RunProgress  # noqa: E402
from rig.gui.sweep_buffers import SweepBuffers  # noqa: E402


def _passive_cell_current(pulse: PulseShape, rs: float, rin: float, cm_pF: float, noise_pA: float = 0.0,
                          seed: int = 0) -> np.ndarray:
    """Analytic VC step response of Rs in series with Rin || Cm (MOhm, pF -> pA)."""
    n = pulse.onset_sample + pulse.pulse_samples + 200
    t = (np.arange(n) - pulse.onset_sample) / pulse.sample_rate_hz * 1000.0
    tau = cm_pF * 1e-3 * rs * rin / (rs + rin)  # pF * MOhm = us
    dv = pulse.step_mV
    on = (t >= 0) & (t < pulse.pulse_ms)
    i = np.zeros(n)
    i[on] = dv / (rs + rin) * 1e3 + (dv / rs - dv / (rs + rin)) * 1e3 * np.exp(-t[on] / tau)
    return i + np.random.default_rng(seed).normal(0, noise_pA, n)


@pytest.mark.parametrize("rs, rin, cm", [(12.0, 150.0, 100.0), (25.0, 400.0, 60.0), (8.0, 90.0, 180.0)])
def test_membrane_test_recovers_rs_rin_cm(rs, rin, cm):
    pulse = PulseShape()
    p = analyze_pulse(_passive_cell_current(pulse, rs, rin, cm, noise_pA=1.0), pulse)
    assert p.series_resistance_MOhm == pytest.approx(rs, rel=0.05)
    assert p.input_resistance_MOhm == pytest.approx(rin, rel=0.05)
    assert p.capacitance_pF == pytest.approx(cm, rel=0.08)


def test_membrane_test_rejects_a_trace_without_transient():
    pulse = PulseShape()
    with pytest.raises(ValueError):
        analyze_pulse(np.zeros(pulse.onset_sample + pulse.pulse_samples + 10), pulse)


def test_test_pulse_plan_passes_the_profile_limits():
    profile = load_profile(PROFILE)
    plan = pulse_plan(profile.profile, "amplifier", PulseShape(holding_mV=-70, step_mV=-5))
    assert check_plan(plan, profile.profile, "test") == []
    command = plan.outputs["amplifier.command"]
    assert command.min() == -75 and command.max() == -70
    bad = pulse_plan(profile.profile, "amplifier", PulseShape(holding_mV=-98, step_mV=-5))
    assert check_plan(bad, profile.profile, "test")  # -103 mV is below the -100 mV limit


def test_frame_plan_rasters_the_field_and_folds_back():
    settings = FrameSettings(centre_um=(2.0, -1.0), size_um=10.0, pixels=16)
    plan = frame_scan_plan(settings, "scanner", "laser", "shutter")
    layout = frame_layout(settings)
    x = fold_frame(plan.outputs["scanner.x"], layout)
    y = fold_frame(plan.outputs["scanner.y"], layout)
    centres = -3.0 + (np.arange(16) + 0.5) * 10.0 / 16
    np.testing.assert_allclose(x[5], centres, atol=1e-5)  # every row sweeps x across the field
    np.testing.assert_allclose(y[:, 3], -6.0 + (np.arange(16) + 0.5) * 10.0 / 16, atol=1e-5)  # rows step in y
    power = fold_frame(plan.outputs["laser.power"], layout)
    assert np.all(power == np.float32(settings.power_fraction))
    assert plan.outputs["laser.power"][-1] == 0 and plan.outputs["shutter.open"][-1] == 0
    partial = fold_frame(plan.outputs["scanner.x"][: layout.first_sample + 3 * layout.samples_per_line], layout)
    assert np.isfinite(partial[:3]).all() and np.isnan(partial[3:]).all()


def test_frame_settings_are_checked_against_the_profile():
    profile = load_profile(PROFILE).profile
    assert check_frame(FrameSettings(), profile, "scanner", "laser") == []
    problems = check_frame(FrameSettings(centre_um=(45.0, 0.0), size_um=20.0, power_fraction=0.5, line_rate_hz=5000),
                           profile, "scanner", "laser")
    assert len(problems) == 4  # line rate, field, power, and the pixel clock the line rate implies


def test_time_remaining_scales_planned_time_by_observed_pace():
    profile = load_profile(PROFILE).profile
    plan = pulse_plan(profile, "amplifier", PulseShape(interval_s=1.0))
    progress = RunProgress([plan] * 4, done=0, started_wall_s=100.0)
    total = 4 * plan.duration_s + 3 * 1.0
    assert progress.remaining_s(100.0) == pytest.approx(total)
    progress.done = 2
    assert progress.remaining_s(100.0 + 2 * (plan.duration_s + 1.0) * 2) == pytest.approx(
        (2 * plan.duration_s + 1.0) * 2)


def test_light_dose_counts_only_light_on_the_spine():
    profile = load_profile(PROFILE).profile
    settings = FrameSettings(centre_um=(0.0, 0.0), size_um=4.0, pixels=40, power_fraction=0.1)
    plan = frame_scan_plan(settings, "scanner", "laser", "shutter")
    on_spine = spine_dose_p2ms(plan, (1.0, 1.0), radius_um=0.5)
    pixel_ms = 1000.0 / plan.sample_rate_hz
    pixels_in_disc = math.pi * 0.5**2 / (4.0 / 40) ** 2
    assert on_spine == pytest.approx(0.01 * pixel_ms * pixels_in_disc, rel=0.1)
    assert spine_dose_p2ms(plan, (30.0, 30.0)) == 0.0
    assert spine_dose_p2ms(plan, (1.0, 1.0), n_samples=10) == 0.0


def test_sweep_buffers_average_only_complete_sweeps():
    profile = load_profile(PROFILE).profile
    plan = pulse_plan(profile, "amplifier", PulseShape())
    buffers = SweepBuffers()
    ch = "amplifier.primary"
    for sweep, level in enumerate((1.0, 3.0)):
        buffers.start_sweep(sweep, plan)
        buffers.add_chunk(sweep, ch, 0, np.full(plan.n_samples, level, np.float32))
        buffers.end_sweep(sweep, True)
    buffers.start_sweep(2, plan)
    buffers.add_chunk(2, ch, 0, np.full(10, 100.0, np.float32))  # chunks skipped: never completed
    buffers.end_sweep(2, True)
    hist = buffers.channels[ch]
    assert hist.n_averaged == 2 and np.allclose(hist.average, 2.0)
    assert len(hist.previous) == 2
