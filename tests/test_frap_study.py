"""Seeded synthetic study of the FRAP fit: bias and coverage at tau 20-1000 ms, 100 and 500 photons per line.

Targets (issue 11): median relative bias of tau within 2 %; 95 % intervals covering the truth 90-98 %
per sweep and for sweeps combined (rig.model.combine.combine_log_normal, groups of 10 sweeps).
The same study, with more draws, is printed by benchmarks/bench_frap_fit.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from rig.analysis.frap_kinetics import fit_frap_kinetics
from rig.analysis.frap_study import SweepDesign, draw_sweeps, fit_sweeps, run_study

TAUS_MS = (20.0, 50.0, 200.0, 500.0, 1000.0)
PHOTONS = (100.0, 500.0)


@pytest.fixture(scope="module")
def study():
    return run_study(TAUS_MS, PHOTONS, draws=200, seed=11)


def test_every_condition_is_unbiased_and_its_intervals_cover(study):
    for row in study:
        where = f"tau {row.tau_ms:g} ms, {row.head_photons_per_line:g} photons/line"
        assert row.delivered >= 0.99, where
        assert abs(row.median_rel_bias) <= 0.02, where
        assert 0.90 <= row.coverage <= 0.98, where
        assert abs(row.combined_median_rel_bias) <= 0.02, where


def test_combined_intervals_cover_at_their_level(study):
    groups = sum(r.combined_groups for r in study)
    hits = sum(r.combined_coverage * r.combined_groups for r in study)
    assert groups == 20 * len(study)
    assert 0.90 <= hits / groups <= 0.98


def test_a_recovery_only_rate_is_biased_by_imaging_bleach_and_the_joint_fit_is_not():
    design = SweepDesign(1000.0, 100.0)
    base, post = draw_sweeps(design, 60, np.random.default_rng(3))
    fits = fit_sweeps(design, base, post)
    rates = np.array([f.imaging_bleach_per_ms for f in fits])
    taus = np.array([f.tau_ms for f in fits])
    recovery_rate_tau = 1.0 / (1.0 / taus + rates)  # what a recovery-only fit measures: 1 / lambda
    assert np.median(recovery_rate_tau) < 0.85 * design.tau_ms
    assert np.median(taus) == pytest.approx(design.tau_ms, rel=0.02)
    assert np.median(rates) == pytest.approx(design.imaging_bleach_per_ms, rel=0.2)


def test_a_head_not_fully_recovered_before_the_light_needs_its_start_fraction():
    """After a short interval the head starts dimmer; fitting it as full biases tau, the known start does not."""
    design = SweepDesign(500.0, 500.0)
    t_base, t_post = design.line_times()
    _, post = design.mean_counts()
    start = 0.9
    rng = np.random.default_rng(5)
    told, assumed_full = [], []
    lam = 1.0 / design.tau_ms + design.imaging_bleach_per_ms
    f_inf = (1.0 / design.tau_ms) / lam
    unbleached = f_inf + (start - f_inf) * np.exp(-lam * t_base)
    base = design.dark_counts_per_line + design.head_photons_per_line * unbleached
    for _ in range(40):
        yb, yp = rng.poisson(base).astype(float), rng.poisson(post).astype(float)
        told.append(fit_frap_kinetics(t_base, yb, t_post, yp, design.dark_counts_per_line, start_fraction=start).tau_ms)
        assumed_full.append(fit_frap_kinetics(t_base, yb, t_post, yp, design.dark_counts_per_line).tau_ms)
    assert np.median(told) == pytest.approx(design.tau_ms, rel=0.02)
    assert np.median(assumed_full) < 0.95 * design.tau_ms


def test_the_fit_takes_a_few_newton_steps_from_its_start():
    """The speed of the fit (benchmarks/bench_frap_fit.py) rests on a start close enough for Newton steps."""
    for tau in (20.0, 1000.0):
        design = SweepDesign(tau, 100.0)
        base, post = draw_sweeps(design, 20, np.random.default_rng(8))
        iterations = [f.iterations for f in fit_sweeps(design, base, post)]
        assert np.max(iterations) <= 8
        assert np.median(iterations) <= 5


def test_sweeps_of_a_short_recovery_combine_without_the_pull_of_their_own_weights():
    """Recovery of 1 tau: a sweep's own SD grows with its estimate, so its own weights pull the mean low;
    weighting at the common tau (rig.analysis.frap_combine) does not."""
    from rig.analysis.frap_combine import SweepTau, combine_sweep_taus
    from rig.model.combine import combine_log_normal

    design = SweepDesign(1000.0, 100.0, recovery_ms=1000.0)
    t_base, t_post = design.line_times()
    base, post = draw_sweeps(design, 400, np.random.default_rng(12))
    fits = [f for f in fit_sweeps(design, base, post) if f.converged]
    ours, own, hits = [], [], 0
    z = 1.959963984540054
    for g in range(len(fits) // 10):
        group = fits[g * 10:(g + 1) * 10]
        c = combine_sweep_taus([SweepTau(i, f, t_base, t_post, design.dark_counts_per_line, 1.0)
                                for i, f in enumerate(group)], z)
        ours.append(c.value / design.tau_ms - 1.0)
        hits += c.low <= design.tau_ms <= c.high
        o = combine_log_normal([f.tau_ms for f in group], [f.tau_low_ms for f in group],
                               [f.tau_high_ms for f in group], z)
        own.append(o.value / design.tau_ms - 1.0)
    assert np.median(own) < -0.015
    assert abs(np.median(ours)) < 0.01
    assert hits / len(ours) >= 0.85


@pytest.mark.slow
def test_a_tau_twice_the_recovery_is_published_as_a_lower_bound_that_holds():
    """tau 6 s in a 3 s recovery, groups of 3 sweeps combined as the online analysis does: the combined interval
    reaches beyond the recovery, so the analysis publishes the one-sided 95 % lower bound, and it lies below the
    true tau in about 95 % of the groups. This seed: 17 of 20 (a bound holding 95 % gives fewer than 17 in 1.6 %
    of seeds; 73 of 75 and 74 of 78 at tau 6 s and 3 s over other seeds)."""
    from rig.analysis.confidence import one_sided_z, two_sided_z
    from rig.analysis.frap_combine import SweepTau, combine_sweep_taus
    from rig.protocols.frap.analysis import resolved_by_recovery

    design = SweepDesign(6000.0, 500.0, recovery_ms=3000.0)
    base, post = draw_sweeps(design, 66, np.random.default_rng(20261202))
    fits = [f for f in fit_sweeps(design, base, post) if f.converged]
    t_base, t_post = design.line_times()
    groups = [[SweepTau(i, f, t_base, t_post, design.dark_counts_per_line, 1.0) for i, f in enumerate(fits[k:k + 3])]
              for k in range(0, 60, 3)]
    assert len(fits) >= 60 and len(groups) == 20
    assert not any(resolved_by_recovery(combine_sweep_taus(g, two_sided_z(0.95)).high, float(t_post[-1]))
                   for g in groups)
    held = sum(combine_sweep_taus(g, one_sided_z(0.95)).low <= design.tau_ms for g in groups)
    assert held >= 17
