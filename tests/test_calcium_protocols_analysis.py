"""Analysis of the other calcium protocols on synthetic data with known answers: Feller, per-AP steps,
decay, supralinearity, driving force, EPSP amplitude, and release probability from synthetic sweeps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import PROFILE, ROOT
from rig.analysis.ap_calcium import (
    calcium_per_ap_from_ratio,
    driving_force_check,
    epsp_amplitude_mV,
    feller_levels,
    fit_decay,
    increments_per_event,
    supralinearity_index,
)
from rig.analysis.calcium_signal import calcium_change_uM
from rig.analysis.transients import difference_of_exponentials
from rig.config.profile import load_profile
from rig.protocols.paired_ap import PairedApAnalysis, PairedApKind, PairedApStep
from rig.protocols.quantal import QuantalAnalysis, QuantalKind, QuantalStep
from rig.protocols.shared.ap_scan import stack_estimate

IMAGING = {"start_um": [-1.0, 8.0], "end_um": [2.6, 8.0], "spine_um": [1.788, 8.0]}


def synthetic_sweep(plan, green_of_t, red: float, rng, noise: float) -> dict[str, np.ndarray]:
    """PMT samples of a line-scan plan: every pixel of a line at green_of_t(line time), flyback dark (0)."""
    lay = plan.line_scan
    green, red_s = np.zeros(plan.n_samples), np.zeros(plan.n_samples)
    for k in range(lay.n_slots):
        a = lay.first_sample + k * lay.samples_per_line
        t_ms = (a + lay.pixels_per_line / 2) / plan.sample_rate_hz * 1000.0
        green[a:a + lay.pixels_per_line] = green_of_t(t_ms) + rng.normal(0, noise, lay.pixels_per_line)
        red_s[a:a + lay.pixels_per_line] = red
    m = plan.meta
    return {m.green_channel: green, m.red_channel: red_s, f"{plan.amplifier}.primary": np.zeros(plan.n_samples)}


def test_feller_levels_recover_the_calcium_step_of_a_saturating_indicator():
    kd, c0, delta = 800.0, 75.0, 300.0
    t = np.arange(0, 200, 2.0) + 1.0
    ca = c0 + delta * ((t > 40).astype(float) + (t > 60))
    f = 20 + 100 * ca / (ca + kd)
    levels = feller_levels(t, f, 40.0, 60.0, 2.0, 6.0)
    assert levels.ratio == pytest.approx((c0 + kd) / (c0 + kd + 2 * delta), rel=1e-9)
    assert calcium_per_ap_from_ratio(levels.ratio, c0, kd) == pytest.approx(delta, rel=1e-9)
    with pytest.raises(ValueError, match="must lie in"):
        calcium_per_ap_from_ratio(1.02, c0, kd)


def test_paired_ap_analysis_recovers_delta_ca_from_noisy_synthetic_sweeps():
    profile = load_profile(PROFILE).profile
    step = PairedApStep(kind="paired_ap", sweeps=8, imaging=IMAGING, sweep_ms=150)
    plans = PairedApKind().compile(step, 0, profile)
    analysis = PairedApAnalysis(step)
    kd, c0, delta = 800.0, 75.0, 400.0
    rng = np.random.default_rng(3)

    def green(t_ms: float) -> float:  # F_min 30, F_max/F_min 15 (the step's default), Ca steps at both APs
        ca = c0 + delta * ((t_ms > 40) + (t_ms > 60))
        return 30 * (1 + 14 * ca / (ca + kd))

    for k, plan in enumerate(plans):
        update = analysis.analyze(k, plan, synthetic_sweep(plan, green, 50.0, rng, 2.0))
    est = {e.name: e for e in update.estimates}
    ca = est["ca_per_ap_nM"]
    assert ca.low <= delta <= ca.high
    assert ca.value == pytest.approx(delta, rel=0.1)
    assert not ca.trend
    assert 0 < est["feller_ratio"].value < 1


def test_a_stack_estimate_reports_a_trend_and_the_present_value_not_the_average():
    rng = np.random.default_rng(5)
    t = np.arange(0, 100, 2.0)
    step_of = lambda y: float(np.mean(y[t >= 50]) - np.mean(y[t < 50]))  # noqa: E731
    shape = (t >= 50).astype(float)
    falling = np.array([(1.0 - 0.06 * k) * shape + rng.normal(0, 0.02, t.size) for k in range(10)])
    est = stack_estimate(9, "s", "amp", "dG/R", falling, step_of, 0.95, "step")
    assert est is not None and "amp fell x" in est.trend and "sweeps 1-10" in est.trend
    assert est.low <= 1.0 - 0.06 * 9 <= est.high  # the last sweep's spine, not the mean (0.73)
    assert est.high < 0.73
    stable = np.array([shape + rng.normal(0, 0.02, t.size) for _ in range(10)])
    est = stack_estimate(9, "s", "amp", "dG/R", stable, step_of, 0.95, "step")
    assert est is not None and est.trend == "" and est.low <= 1.0 <= est.high
    assert "Student t on 9 df" in est.basis


def test_the_noise_free_line_scan_signal_converts_back_to_its_calcium_step():
    """The truth's optics (line_scan_truth) and the analysis' calibration agree: a head Ca step of 200 nM, imaged
    through the PSF and the ROI, comes back through calcium_change_uM within the dendrite's dilution of dG/R."""
    from rig.api import prepare_run
    from rig.engine.rig import build_rig
    from simulated_devices.line_scan_truth import expected_ratio_trace

    prepared = prepare_run(ROOT / "protocols" / "paired_ap.yaml", PROFILE, ["sweeps=1"])
    specimen = build_rig(prepared.profile).extras["specimen"]
    plan = prepared.compiled.plans[0]
    index = specimen.nearest_spine(plan.target_um)
    rest = specimen.sim.calcium.rest_uM
    t = np.arange(0.0, 200.0, 0.5)
    trace = expected_ratio_trace(specimen, plan, index, t, rest + 0.2 * (t >= 60.0), rest)  # baseline ends at 40
    after = trace.dg_over_r[trace.times_ms > 65].mean()
    assert abs(trace.dg_over_r[trace.times_ms < 55]).max() < 1e-9
    ca = specimen.ca_indicator
    back = calcium_change_uM(after, trace.g_over_r_baseline, ca.kd_uM, ca.dynamic_range, rest)
    assert 0.17 < back <= 0.2001


def test_increments_and_decay_of_a_synthetic_ap_train():
    t = np.arange(0, 400, 2.0) + 1.0
    onsets = [40.0, 60.0, 80.0]
    tau = 120.0
    y = sum(0.3 * (t > on) * np.exp(-np.clip(t - on, 0, None) / tau) for on in onsets)
    steps = sum(0.3 * (t > on) for on in onsets)  # no decay: each AP adds exactly 0.3
    assert increments_per_event(t, steps, onsets, 2.0, 6.0) == pytest.approx([0.3, 0.3, 0.3], abs=1e-9)
    inc = increments_per_event(t, y, onsets, 2.0, 6.0)  # the decay between windows lowers each step a little
    assert np.all((inc > 0.24) & (inc < 0.3))
    fit = fit_decay(t, y + 0.01 * np.random.default_rng(1).normal(size=t.size), onsets[-1] + 2)
    assert fit.converged and fit.tau_ms == pytest.approx(tau, rel=0.05)


def test_supralinearity_index_and_its_error():
    rng = np.random.default_rng(0)
    epsp, ap = rng.normal(1.0, 0.1, 400), rng.normal(2.0, 0.1, 400)
    paired = rng.normal(4.5, 0.2, 400)
    idx = supralinearity_index(paired, epsp, ap)
    assert idx.value == pytest.approx(1.5, rel=0.02)
    assert 0 < idx.se < 0.02
    assert supralinearity_index([3.0, 3.0, 3.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]).value == pytest.approx(1.0)
    with pytest.raises(ValueError):
        supralinearity_index([1.0], [1.0, 1.0], [1.0, 1.0])


def test_driving_force_check_measured_vs_expected():
    e_syn, v_rest, v_hyp = 0.0, -70.0, -110.0
    passive = driving_force_check(2.0, 2.0 * 110 / 70, v_rest, v_hyp, e_syn)
    assert passive.expected_ratio == pytest.approx(110 / 70)
    assert passive.measured_ratio == pytest.approx(110 / 70) and passive.excess == pytest.approx(1.0)
    boosted = driving_force_check(2.0, 5.0, v_rest, v_hyp, e_syn)
    assert boosted.excess > 1.5


def test_epsp_amplitude_on_a_synthetic_voltage_record():
    rate = 10_000.0
    t = np.arange(0, 200, 0.1)
    v = -70 + 3.0 * difference_of_exponentials(t, 50.0, 1.0, 15.0)
    amp, base = epsp_amplitude_mV(v, rate, 50.0, 20.0, (1.0, 30.0))
    assert base == pytest.approx(-70.0) and amp == pytest.approx(3.0, rel=0.01)


def test_quantal_analysis_recovers_release_probability_with_a_binomial_interval():
    profile = load_profile(PROFILE).profile
    step = QuantalStep(kind="quantal", sweeps=120, imaging=IMAGING, sweep_ms=100)
    plans = QuantalKind().compile(step, 0, profile)
    analysis = QuantalAnalysis(step)
    rng = np.random.default_rng(11)
    p_true = 0.3
    truth = rng.random(len(plans)) < p_true
    for k, plan in enumerate(plans):
        amplitude = 60.0 if truth[k] else 0.0

        def green(t_ms: float, a: float = amplitude) -> float:
            return 100 + a * float(difference_of_exponentials(np.array([t_ms]), 30.0, 2.0, 25.0)[0])

        update = analysis.analyze(k, plan, synthetic_sweep(plan, green, 80.0, rng, 6.0))
    calls = analysis.transients.successes(step.threshold_sd)
    assert np.mean(calls == truth) >= 0.97
    p = {e.name: e for e in update.estimates}["release_probability"]
    assert p.value == pytest.approx(truth.mean(), abs=0.03)
    assert p.low < truth.mean() < p.high and p.high - p.low < 0.2
    assert not math.isnan(p.low)
