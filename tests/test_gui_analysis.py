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


def test_pulse_levels_give_the_holding_current_and_the_total_resistance():
    from rig.gui.membrane_test import pulse_levels

    pulse = PulseShape()
    current = _passive_cell_current(pulse, 10.0, 190.0, 100.0, noise_pA=0.5) - 35.0  # a cell holding -35 pA
    levels = pulse_levels(current, pulse)
    assert levels.holding_pA == pytest.approx(-35.0, abs=0.5)
    assert levels.resistance_MOhm(pulse.step_mV) == pytest.approx(200.0, rel=0.02)  # Rs + Rin
    seal = _passive_cell_current(pulse, 2000.0, 1e6, 5.0)  # a gigaseal: 5 mV drives far less than 5 pA
    assert pulse_levels(seal, pulse).resistance_MOhm(pulse.step_mV) > 1e3


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


def test_camera_plan_triggers_each_frame_with_the_led_only_in_exposures():
    from rig.datatypes.sweep_plan import rising_edges
    from rig.gui.camera_live import CameraSettings, camera_plan, check_camera
    profile = load_profile(PROFILE).profile
    settings = CameraSettings(exposure_ms=3.0, roi_px=(8, 8, 64, 48), binning=2, led="uv385")
    assert check_camera(settings, profile, "camera", "leds") == []
    plan = camera_plan(settings, profile, "camera", "leds", n_frames=4)
    assert check_plan(plan, profile, "test") == []
    edges = rising_edges(plan.outputs["camera.trigger"])
    assert edges.size == 4 and np.allclose(np.diff(edges) / plan.sample_rate_hz, 1 / settings.rate_hz)
    led = plan.outputs["leds.uv385"]
    assert led.sum() / plan.sample_rate_hz * 1000 == pytest.approx(4 * 3.0)
    assert np.all(led[edges] == 1) and led[-1] == 0
    assert plan.camera.frame_shape == (24, 32)


@pytest.mark.parametrize("change, words", [
    ({"roi_px": (40, 0, 48, 80)}, "sensor_px"), ({"binning": 3}, "binning"), ({"roi_px": (1, 0, 64, 64),
                                                                               "binning": 2}, "binning"),
    ({"exposure_ms": 120.0}, "exposure"), ({"rate_hz": 5000.0}, "max_frame_rate_hz"),
    ({"led": "uv385", "exposure_ms": 70.0, "rate_hz": 10.0}, "max_duty_fraction"), ({"led": "red999"}, "no LED"),
])
def test_camera_settings_are_checked_against_the_profile(change, words):
    from rig.gui.camera_live import CameraSettings, check_camera
    profile = load_profile(PROFILE).profile
    problems = check_camera(CameraSettings(**change), profile, "camera", "leds")
    assert any(words in p for p in problems), problems


def test_single_pulse_plan_and_limits():
    from rig.gui.stimulus import pulse_problems, single_pulse_plan
    profile = load_profile(PROFILE).profile
    assert pulse_problems(profile, "stimulator", -4.0, 0.2) == []
    assert "max_amplitude_V" in " ".join(pulse_problems(profile, "stimulator", -10.5, 0.2))
    assert "max_pulse_ms" in " ".join(pulse_problems(profile, "stimulator", 4.0, 5.5))
    plan = single_pulse_plan(profile, "stimulator", -4.0, 0.2)
    assert check_plan(plan, profile, "test") == []
    wave = plan.outputs["stimulator.trigger"]
    assert wave.min() == -4.0 and (wave != 0).sum() == 4 and wave[-1] == 0


def test_led_duty_guard_limits_on_time_over_the_window():
    from rig.gui.stimulus import DutyGuard
    guard = DutyGuard(0.6, window_s=10.0)
    guard.switched(True, 0.0)
    assert not guard.exhausted(5.9) and guard.exhausted(6.0)
    guard.switched(False, 6.0)
    assert not guard.may_switch_on(8.0)  # 6 s of the last 10 s
    assert guard.may_switch_on(12.0)  # only 4 s on in [2, 12]
    assert guard.on_time(12.0) == pytest.approx(4.0)


def test_roi_overrides_need_both_local_background_points():
    from rig.gui.roi_markers import roi_overrides
    out = roi_overrides({"head": (1.5, 0.0), "local bg 1": (1.5, -3.0)})
    assert out == {"rois.head_um": "[1.5, 0]"}
    out = roi_overrides({"local bg 1": (1.5, -3.0), "local bg 2": (1.5, 3.0)})
    assert out == {"rois.local_background_um": "[[1.5, -3], [1.5, 3]]"}


def test_stored_sweeps_are_drawn_in_their_units():
    from rig.gui.stored_sweep import StoredKymograph, StoredTrace, ephys_unit, run_label, stored_view

    assert ephys_unit("primary", "VC") == "pA" and ephys_unit("primary", "CC") == "mV"
    assert ephys_unit("secondary", "VC") == "mV" and ephys_unit("secondary", "CC") == "pA"
    meta = {"amplifier": "amplifier", "amplifier_mode": "VC",
            "line_scan": {"first_sample": 10, "samples_per_line": 100, "pixels_per_line": 80, "n_slots": 5,
                          "start_um": [0.0, 0.0], "end_um": [3.0, 4.0]}}
    samples = np.arange(510, dtype=float)
    view = stored_view(samples, "in:scanner.red", 1000.0, meta)
    assert isinstance(view, StoredKymograph) and view.image.shape == (5, 80)
    assert view.image[1, 0] == 110 and view.line_length_um == 5.0 and view.duration_ms == 510.0
    trace = stored_view(samples, "in:amplifier.primary", 1000.0, meta)
    assert isinstance(trace, StoredTrace) and trace.unit == "pA" and trace.time_ms[-1] == 509.0
    assert run_label("20261202-020324_frap.h5", "completed 6/6 sweeps") == "02:03:24  frap  -  completed 6/6 sweeps"
    assert run_label("odd.h5") == "odd.h5"
