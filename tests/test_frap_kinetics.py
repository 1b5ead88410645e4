"""The joint FRAP fit recovers tau when the imaging beam bleaches the head, and says when it cannot."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from rig.analysis.frap_kinetics import fit_frap_kinetics
from rig.analysis.frap_study import SweepDesign, draw_sweeps, fit_sweeps


def _synthetic(rng, tau, k_i, head=60.0, dark=0.2, n_base=50, n_post=1250, dt=2.0, f_b=0.35):
    lam = 1 / tau + k_i
    f_inf = (1 / tau) / lam
    t_base = np.arange(n_base) * dt
    t_post = np.arange(n_post) * dt + 1.5
    base = rng.poisson(dark + head * (f_inf + (1 - f_inf) * np.exp(-lam * t_base)))
    post = rng.poisson(dark + head * (f_inf + (f_b - f_inf) * np.exp(-lam * t_post)))
    return t_base, base, t_post, post


def _recovery_only_tau(t, counts):
    """What a plain exponential fitted to the recovery alone reports (scipy's curve_fit, for reference)."""
    tail = counts[-100:].mean()
    popt, _ = curve_fit(lambda t, a, b, tau: a - b * np.exp(-t / tau), t, counts,
                        p0=[tail, tail - counts[:5].mean(), 200])
    return popt[2]


def test_imaging_bleach_biases_a_plain_recovery_fit_but_not_the_joint_fit():
    rng = np.random.default_rng(11)
    tau, k_i = 500.0, 2.2e-4
    joint, plain, rates, covered = [], [], [], 0
    for _ in range(25):
        tb, yb, tp, yp = _synthetic(rng, tau, k_i)
        fit = fit_frap_kinetics(tb, yb, tp, yp, dark_counts_per_line=0.2)
        assert fit.converged
        joint.append(fit.tau_ms)
        covered += fit.tau_low_ms <= tau <= fit.tau_high_ms
        plain.append(_recovery_only_tau(tp, yp))
        rates.append(fit.imaging_bleach_per_ms)
    assert np.median(plain) < 0.93 * tau  # the bias the joint model exists to remove: 1 / (1/tau + k_i)
    assert np.median(joint) == pytest.approx(tau, rel=0.03)
    assert covered >= 21
    assert np.median(rates) == pytest.approx(k_i, rel=0.25)


def test_no_imaging_bleach_gives_near_zero_rate():
    rng = np.random.default_rng(5)
    tb, yb, tp, yp = _synthetic(rng, 40.0, 0.0, n_post=300)
    fit = fit_frap_kinetics(tb, yb, tp, yp, dark_counts_per_line=0.2)
    assert fit.converged
    assert fit.tau_low_ms <= 40.0 <= fit.tau_high_ms
    assert fit.tau_ms == pytest.approx(40.0, rel=0.2)
    assert abs(fit.imaging_bleach_per_ms) < 2e-3
    assert fit.deviance_per_dof == pytest.approx(1.0, abs=0.15)


def test_the_rate_is_not_bounded_at_zero():
    """Noise puts the estimate of a small imaging bleach on both sides of 0 (a bound there would bias tau)."""
    rng = np.random.default_rng(9)
    rates = []
    for _ in range(30):
        tb, yb, tp, yp = _synthetic(rng, 40.0, 0.0, n_post=300)
        rates.append(fit_frap_kinetics(tb, yb, tp, yp, 0.2).imaging_bleach_per_ms)
    assert min(rates) < 0 < max(rates)


def test_no_bleach_is_not_converged():
    rng = np.random.default_rng(5)
    t = np.arange(300) * 2.0
    fit = fit_frap_kinetics(t[:50], rng.poisson(np.full(50, 60.0)), t, rng.poisson(np.full(300, 60.0)), 0.2)
    assert not fit.converged
    assert "not determined" in fit.message or "no bleach" in fit.message


def test_a_recovery_far_slower_than_the_sweep_rarely_delivers_a_wrong_interval():
    """tau 5 s in a 1 s recovery: most sweeps give no tau; the few that do hold the truth (profile likelihood)."""
    design = SweepDesign(5000.0, 100.0, recovery_ms=1000.0)
    base, post = draw_sweeps(design, 120, np.random.default_rng(4))
    fits = fit_sweeps(design, base, post)
    delivered = [f for f in fits if f.converged]
    wrong = [f for f in delivered if not f.tau_low_ms <= design.tau_ms <= f.tau_high_ms]
    assert len(delivered) <= 0.2 * len(fits)
    assert len(wrong) <= 0.05 * len(fits)
    assert all("not determined" in f.message for f in fits if not f.converged)
    assert any(f.profiled for f in delivered)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        fit_frap_kinetics(np.arange(5.0), np.ones(5), np.arange(3.0), np.ones(3), 0.0)
