"""The calibration benchmark (benchmarks/calibration.py): its parts on small inputs, and a fixed-seed subset
end to end (3 FRAP spines, 2 fCaT spines) through the real runner, run files and online model."""

from __future__ import annotations

import dataclasses
import math
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import calibration  # noqa: E402  (benchmarks/calibration.py)

from calibration_bench.budget import JUDGEABLE_SPINES, MIN_SPINES, size_populations, spine_wall_s  # noqa: E402
from calibration_bench.kinds import KINDS, default_kinds, parse_kinds  # noqa: E402
from calibration_bench.population import PopulationRanges, draw_spines  # noqa: E402
from calibration_bench.report import RunInfo, markdown_document  # noqa: E402
from calibration_bench.scoring import RunScore, ScoredEstimate, StepTruth, comparison_truth  # noqa: E402
from calibration_bench.spine_rig import DRAWN_SPINE_NAME, find_target, protocol_overrides, write_spine_profile  # noqa: E402
from calibration_bench.summary import (  # noqa: E402
    FAIL,
    NOT_SIGNIFICANT,
    PASS,
    SpineResult,
    judge_bias,
    judge_coverage,
    median_interval,
    summarise,
)
from rig.config.profile import load_profile  # noqa: E402
from simulated_devices.population import spine_geometry  # noqa: E402


def _estimate(value: float, low: float, high: float, truth: float | None, bound: str = "") -> ScoredEstimate:
    return ScoredEstimate("frap", "frap", "tau_frap_ms", "ms", value, low, high, bound, "", 5, truth, "mean")


def test_population_is_reproducible_and_stratified() -> None:
    """One seed gives the same spines; every spine sits in its own 1/n slice of log R_neck and log V."""
    ranges = PopulationRanges()
    a, b, c = draw_spines(8, 3), draw_spines(8, 3), draw_spines(8, 4)
    assert a == b and a != c
    for values, (lo, hi) in (([s.neck_resistance_MOhm for s in a], ranges.neck_resistance_MOhm),
                             ([s.head_volume_um3 for s in a], ranges.head_volume_um3)):
        slices = np.floor(8 * (np.log(values) - math.log(lo)) / (math.log(hi) - math.log(lo)))
        assert sorted(slices.astype(int)) == list(range(8))
    assert all(0.1 <= s.release_probability <= 0.5 for s in a)
    assert sum(s.silent for s in a) == 2  # a quarter of 8, by stratification
    assert abs(float(np.median([s.volume_error_z for s in a]))) < 0.2


def test_drawn_spine_sits_where_the_protocol_looks(tmp_path) -> None:
    """The FRAP protocol's bleach point lands on the drawn spine's head, with the drawn R_neck and volume."""
    kind = KINDS["frap"]
    target = find_target(kind)
    assert target.replaced.name == "fast" and target.point_um == (1.288, 0.0)
    spine = draw_spines(3, 5)[2]
    profile = load_profile(write_spine_profile(kind, target, spine, tmp_path))
    sim = profile.profile.simulation
    placed = [spine_geometry(s, sim) for s in sim.spines if s.name == DRAWN_SPINE_NAME]
    assert len(placed) == 1 and len(sim.spines) == 3
    assert math.dist(placed[0].head_center_um, target.point_um) < 1e-9
    assert placed[0].neck_resistance_MOhm(sim.cytoplasm_resistivity_ohm_cm) == pytest.approx(spine.neck_resistance_MOhm)
    assert placed[0].head_volume_um3 == spine.head_volume_um3
    assert sim.seed == spine.simulation_seed
    overrides = protocol_overrides(kind, spine)
    assert f"steps.0.analysis.head_volume_um3={spine.operator_volume_um3(0.2):.6g}" in overrides


def test_truth_rule_mean_unless_the_spine_changed() -> None:
    """Mean of the per-sweep truths; the last sweep's when they spread more than 10 %; None without any."""
    assert comparison_truth([100.0, 102.0, 101.0])[0] == pytest.approx(101.0)
    truth, rule = comparison_truth([40.0, 120.0, 300.0])
    assert truth == 300.0 and rule.startswith("last")
    assert comparison_truth([])[0] is None


def test_coverage_of_intervals_and_one_sided_bounds() -> None:
    """An interval covers when it contains the truth; a bound when the truth is on its side."""
    assert _estimate(10, 9, 11, 10.5).covers is True
    assert _estimate(10, 9, 11, 12).covers is False
    assert _estimate(10, 9, math.nan, 12, "lower").covers is True
    assert _estimate(10, 9, math.nan, 8, "lower").covers is False
    assert _estimate(0.02, math.nan, 0.05, 0.01, "upper").covers is True
    assert _estimate(10, math.nan, math.nan, 10).covers is False  # no interval: cannot cover
    assert _estimate(10, 9, 11, None).covers is None
    assert _estimate(10, 9, math.nan, 12, "lower").relative_bias is None  # a bound is no point estimate


def test_coverage_judged_with_its_sampling_error() -> None:
    """4 of 4 cannot tell 100 % from 95 %; 19 of 20 is on target; 10 of 20 is too low to be chance."""
    assert judge_coverage(4, 4, 0.90, 0.98) == NOT_SIGNIFICANT
    assert judge_coverage(19, 20, 0.90, 0.98) == PASS
    assert judge_coverage(10, 20, 0.90, 0.98) == FAIL


def test_bias_judged_with_the_medians_sampling_error() -> None:
    """-7 % on 2 spines cannot fail a 2 % target (no interval of a median from < 6 spines); -7 % +- 1 % on 12
    spines does; -1 % passes; the order-statistic interval of 0..19 is [5, 14] (binomial(20, 1/2))."""
    assert median_interval([-0.1, -0.04])[0] == -math.inf
    assert judge_bias([-0.1, -0.04], 0.02) == NOT_SIGNIFICANT
    assert judge_bias(list(np.linspace(-0.08, -0.06, 12)), 0.02) == FAIL
    assert judge_bias([-0.05, -0.01, 0.0], 0.02) == PASS
    assert median_interval([float(v) for v in range(20)]) == (5.0, 14.0)


def test_change_resolvable_only_beyond_the_interval() -> None:
    """A truth that fell 30 % is a change; resolvable when its range exceeds sqrt(12) half widths of the interval."""
    narrow = dataclasses.replace(_estimate(10, 9.5, 10.5, 7.0), truth_rule="last sweep (truth changed 7-10)",
                                 truth_range=3.0)
    wide = dataclasses.replace(narrow, low=5.0, high=15.0)
    assert narrow.change_resolvable is True and wide.change_resolvable is False
    assert _estimate(10, 9, 11, 10).change_resolvable is False


def test_budget_sizes_fit_and_favour_cheap_kinds() -> None:
    """15 min on 2 workers: every kind at least MIN_SPINES, the prediction within the budget, FRAP (1.5 s a spine)
    enough spines to judge coverage, more than step-depolarization FRAP (60 s); a fixed size is kept; the flag
    parses and an impossible value is refused."""
    kinds = default_kinds()
    sizing = size_populations(kinds, 15, 2)
    assert sizing.predicted_wall_s <= 15 * 60
    assert all(n >= MIN_SPINES for n in sizing.spines.values())
    assert sizing.spines["frap"] >= JUDGEABLE_SPINES > sizing.spines["step_depolarization_frap"]
    assert sizing.predicted_wall_s == pytest.approx(sum(n * spine_wall_s(KINDS[k], 2) for k, n in
                                                        sizing.spines.items()))
    kept = size_populations(kinds, 15, 2, {"fcat": 2})
    assert kept.spines["fcat"] == 2 and kept.spines["frap"] >= sizing.spines["frap"]
    args = calibration.parse_args(["--budget-min", "15", "--spines", "fcat=2"])
    counts, _ = calibration.population_sizes(args.kinds, args.spines, args.budget_min, args.workers)
    assert counts == kept.spines
    with pytest.raises(SystemExit):
        calibration.parse_args(["--budget-min", "0"])


def test_silent_fcat_rows_judged_on_their_bound() -> None:
    """On drawn Ca-silent spines the two-sided fcat and head depolarization are not defined (no delivery target)
    and the upper bounds are the headline; on non-silent spines head_depolarization_mV is a headline."""
    def fcat_run(index: int, silent: bool) -> SpineResult:
        est = [ScoredEstimate("fcat", "fcat", "fcat_upper_bound", "1", 0.12, math.nan, 0.2, "upper", "", 10,
                              0.11, "mean"),
               ScoredEstimate("fcat", "fcat", "head_depolarization_upper_bound_mV", "mV", 20, math.nan, 30, "upper",
                              "", 10, 12.0, "mean")]
        if not silent:
            est.append(ScoredEstimate("fcat", "fcat", "head_depolarization_mV", "mV", 20, 15, 25, "", "", 10, 21.0,
                                      "mean"))
        score = RunScore("completed", "", 10, {"fcat": StepTruth("fcat", "fcat", tuple(range(10)),
                                                                  {"fcat": 0.11})}, est, [])
        spine = dataclasses.replace(draw_spines(2, 1)[index], silent=silent)
        return SpineResult("fcat", spine, score, "", 1.0)
    rows = {(r.name, r.stratum): r for r in summarise("fcat", [("fcat", "fcat")],
                                                       [fcat_run(0, True), fcat_run(1, False)])}
    silent_label, non_silent_label = "Ca-silent (drawn, nmda_scale 0.05)", "non-silent (drawn)"
    for name in ("head_depolarization_mV", "fcat"):
        row = rows[(name, silent_label)]
        assert not row.headline and row.status == "-"
        assert [c.what for c in row.checks] == ["not defined"]
    for name in ("fcat_upper_bound", "head_depolarization_upper_bound_mV"):
        bound = rows[(name, silent_label)]
        assert bound.headline and bound.status == PASS and "delivered" in [c.what for c in bound.checks]
    assert rows[("head_depolarization_mV", non_silent_label)].headline
    assert rows[("fcat", non_silent_label)].headline


def test_na_decay_under_two_frames_is_delivered_by_its_bound() -> None:
    """Na/Ca spines are split on the true tau_Na at two sodium frames (8 ms): above, only the two-sided
    tau_na_ms delivers it; below, its upper bound does too (counted apart), and a spine with neither is not
    delivered; the bound's own row is judged as a bound."""
    def na_run(index: int, truth_tau: float, two_sided: bool, bound: bool) -> SpineResult:
        est = []
        if two_sided:
            est.append(ScoredEstimate("na_ca", "na_ca", "tau_na_ms", "ms", truth_tau, truth_tau / 2, truth_tau * 2,
                                      "", "", 8, truth_tau, "mean"))
        if bound:
            est.append(ScoredEstimate("na_ca", "na_ca", "tau_na_upper_bound_ms", "ms", math.nan, math.nan, 20.0,
                                      "upper", "", 8, truth_tau, "mean"))
        score = RunScore("completed", "", 9, {"na_ca": StepTruth("na_ca", "na_ca", tuple(range(1, 9)),
                                                                  {"tau_na_ms": truth_tau})}, est, [])
        return SpineResult("na_ca", draw_spines(5, 1)[index], score, "", 1.0)
    results = [na_run(0, 30.0, True, False), na_run(1, 12.0, False, True),  # resolved: the bound does not count
               na_run(2, 3.0, False, True), na_run(3, 5.0, True, False), na_run(4, 4.0, False, False)]
    rows = {(r.name, r.stratum): r for r in summarise("na_ca", [("na_ca", "na_ca")], results)}
    resolved, unresolved = "tau_Na >= 2 sodium frames (8 ms)", "tau_Na < 2 sodium frames (8 ms)"
    tau = rows[("tau_na_ms", resolved)]
    assert (tau.n_spines, tau.n_delivered, tau.n_delivered_as_bound) == (2, 1, 0) and tau.status == FAIL
    tau = rows[("tau_na_ms", unresolved)]
    assert (tau.n_spines, tau.n_delivered, tau.n_delivered_as_bound, tau.n_with_truth) == (3, 2, 1, 1)
    assert [c.what for c in tau.checks if c.status == FAIL] == ["delivered"]  # the spine with neither
    bound = rows[("tau_na_upper_bound_ms", unresolved)]
    assert bound.n_delivered == 1 and [c.what for c in bound.checks] == ["coverage"]
    text = markdown_document(RunInfo("cmd", "2026-12-03", "abc", 1, 1, 1.0, PopulationRanges()), [KINDS["na_ca"]],
                             {}, list(rows.values()), results)
    assert f"| {unresolved} | 2/3 (67%), 1 as tau_na_upper_bound_ms |" in text


def _scored(spine_index: int, tau: float, truth: float, potency: bool) -> SpineResult:
    """A FRAP run's score as scoring.score_run returns it (tau with a +-10 % interval, maybe a truthless row)."""
    estimates = [ScoredEstimate("frap", "frap", "tau_frap_ms", "ms", tau, tau * 0.9, tau * 1.1, "", "", 5, truth,
                                "mean of 5 sweep(s)")]
    if potency:
        estimates.append(ScoredEstimate("frap", "frap", "potency", "1", 0.3, 0.2, 0.4, "", "", 5, None, "no truth"))
    score = RunScore("completed", "", 5, {"frap": StepTruth("frap", "frap", tuple(range(5)), {"tau_frap_ms": truth})},
                     estimates, [])
    return SpineResult("frap", draw_spines(4, 1)[spine_index], score, "", 1.0, 0.5)


def test_rows_count_delivery_bias_coverage_and_missing_truth() -> None:
    """Spines without the estimate count as undelivered; the median bias and the coverage come from the
    delivered ones; a name without truth is a FAIL row, not left out; spines outside a stratum are not in it."""
    results = [_scored(0, 101.0, 100.0, True), _scored(1, 50.0, 40.0, False), _scored(2, 10.0, 10.0, False),
               SpineResult("frap", draw_spines(4, 1)[3], None, "RuntimeError: boom", 0.0)]
    rows = {(r.name, r.stratum): r for r in summarise("frap", [("frap", "frap")], results)}
    tau = rows[("tau_frap_ms", "all spines")]
    assert (tau.n_spines, tau.n_delivered, tau.n_with_truth, tau.n_covered) == (4, 3, 3, 2)
    assert tau.median_relative_bias == pytest.approx(0.01)
    assert tau.status == FAIL and [c.what for c in tau.checks if c.status == FAIL] == ["delivered"]
    in_range = rows[("tau_frap_ms", "tau 20-1000 ms")]
    assert in_range.n_spines == 2  # tau 10 ms is outside; the failed run has no truth to place it
    assert rows[("tau_frap_ms", "truth 'tau_frap_ms' missing")].n_spines == 1
    potency = rows[("potency", "all spines")]
    assert potency.n_delivered == 1 and potency.n_with_truth == 0
    assert [c.what for c in potency.checks if c.status == FAIL] == ["truth"]
    info = RunInfo("python benchmarks/calibration.py --kinds frap", "2026-12-01", "abc123", 1, 1, 60.0,
                   PopulationRanges())
    text = markdown_document(info, [KINDS["frap"]], {}, list(rows.values()), results)
    assert "`python benchmarks/calibration.py --kinds frap`" in text and "2026-12-01" in text
    assert "| frap | frap | potency | all spines | 1/4 (25%) | - | - | no truth |" in text
    assert "spine 3: RuntimeError: boom" in text


def test_bad_kind_is_refused() -> None:
    """An unknown kind names the allowed ones."""
    with pytest.raises(ValueError, match="unknown kind.*allowed: default, all, frap"):
        parse_kinds("frap,nonsense")
    with pytest.raises(SystemExit) as exc:
        calibration.parse_args(["--kinds", "nonsense"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_frap_and_fcat_subset_end_to_end(tmp_path) -> None:
    """3 FRAP spines and 2 fCaT spines (fewer sweeps) through the real rig: every FRAP spine delivers tau and
    R_neck, tau within its own interval widened by the 2 % target on at least 2 of 3, the median tau within 5 %;
    the fCaT spines (whatever their runs' outcome) give rows for fcat and head depolarization in a stratum chosen
    by the truth ('... missing' when the fCaT step never ran)."""
    frap = KINDS["frap"]
    # 3 sweeps per condition and no extension rounds (protocols/fcat.yaml's would run up to 60 per condition)
    fcat = dataclasses.replace(KINDS["fcat"], overrides=("sweeps_per_condition=3", "min_reversal_releases=0"))
    rows, results, _ = calibration.run_benchmark([frap], 3, 11, 1, tmp_path / "frap",
                                                 PopulationRanges(neck_resistance_MOhm=(80, 600),
                                                                  head_volume_um3=(0.05, 0.2)))
    fcat_rows, fcat_results, _ = calibration.run_benchmark([fcat], 2, 11, 1, tmp_path / "fcat")
    ended = [(r.kind, r.spine.index, r.error or f"{r.score.status} {r.score.message}") for r in results + fcat_results]
    assert all(r.score is not None and r.score.status == "completed" for r in results), ended
    assert all(r.score is not None for r in fcat_results), ended  # read back even when the protocol failed
    by_name = {(r.name, r.stratum): r for r in rows}
    for name in ("tau_frap_ms", "neck_resistance_MOhm"):
        row = by_name[(name, "all spines")]
        assert row.n_delivered == 3 and row.n_with_truth == 3, row
    taus = [e for r in results for e in r.score.estimates if e.name == "tau_frap_ms"]
    assert len(taus) == 3
    assert all(e.truth is not None and 20 <= e.truth <= 1000 for e in taus)
    outside = [e for e in taus if not e.low / 1.02 <= e.truth <= e.high * 1.02]
    assert len(outside) <= 1, outside  # a calibrated 95 % interval misses 2 of 3 with probability 0.7 %
    assert abs(by_name[("tau_frap_ms", "all spines")].median_relative_bias) <= 0.05
    for name in ("fcat", "head_depolarization_mV"):  # headline rows exist for every fCaT spine, delivered or not
        rows_of = [r for r in fcat_rows if (r.step, r.name) == ("fcat", name)]
        assert sum(r.n_spines for r in rows_of) == 2, rows_of
        assert all(r.stratum in ("non-silent (drawn)", "Ca-silent (drawn, nmda_scale 0.05)") for r in rows_of)


@pytest.mark.slow
def test_no_stimulus_sweep_is_not_one_of_an_estimates_sweeps(tmp_path) -> None:
    """Na/Ca's first sweep (no stimulus, the registration reference) gives no feature: an estimate's truth is taken
    over the stimulated sweeps only, where the kinetics do not change (the reference sweep's truth differs)."""
    _, results, _ = calibration.run_benchmark([KINDS["na_ca"]], 1, 11, 1, tmp_path)
    score = results[0].score
    assert score is not None and score.status == "completed", results[0].error
    half = next(e for e in score.estimates if e.name == "na_half_decay_ms")
    assert half.n_sweeps == score.n_sweeps - 1
    assert not half.truth_changed, half.truth_rule
