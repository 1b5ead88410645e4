"""The joint FRAP fit recovers tau when the imaging beam bleaches the head, and its interval covers the truth."""

from __future__ import annotations

import numpy as np
import pytest

from rig.analysis.frap_kinetics import fit_frap_kinetics
from rig.analysis.recovery_fit import fit_recovery


def _synthetic(rng, tau, k_i, head=60.0, dark=0.2, n_base=50, n_post=1250, dt=2.0, f_b=0.35):
    lam = 1 / tau + k_i
    f_inf = (1 / tau) / lam
    t_base = np.arange(n_base) * dt
    t_post = np.arange(n_post) * dt + 1.5
    base = rng.poisson(dark + head * (f_inf + (1 - f_inf) * np.exp(-lam * t_base)))
    post = rng.poisson(dark + head * (f_inf + (f_b - f_inf) * np.exp(-lam * t_post)))
    return t_base, base, t_post, post


def test_imaging_bleach_biases_a_plain_recovery_fit_but_not_the_joint_fit():
    rng = np.random.default_rng(11)
    tau, k_i = 500.0, 2.2e-4
    joint, plain, rates, covered = [], [], [], 0
    for _ in range(25):
        tb, yb, tp, yp = _synthetic(rng, tau, k_i)
        fit = fit_frap_kinetics(tb, yb, tp, yp, dark_counts_per_line=0.2)
        joint.append(fit.tau_ms)
        covered += fit.tau_low_ms <= tau <= fit.tau_high_ms
        plain.append(fit_recovery(tp, yp, yb).tau_ms)
        rates.append(fit.imaging_bleach_per_ms)
    assert np.median(plain) < 0.93 * tau  # the bias the joint model exists to remove
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


def test_no_bleach_is_not_converged():
    rng = np.random.default_rng(5)
    t = np.arange(300) * 2.0
    fit = fit_frap_kinetics(t[:50], rng.poisson(np.full(50, 60.0)), t, rng.poisson(np.full(300, 60.0)), 0.2)
    assert not fit.converged
    assert "not determined" in fit.message or "no bleach" in fit.message
