"""Aggregate scored runs into table rows: delivery, bias, coverage, width, and PASS/FAIL against targets.

Coverage is judged with its sampling error: PASS when the observed coverage lies in the target range,
FAIL when its exact (Clopper-Pearson) 95 % interval misses the range entirely, "n.s." (not significant)
otherwise, e.g. 4 of 4 covered: 100 % is above 98 %, but 4 spines cannot tell 100 % from 95 %.
A median-bias target likewise: PASS when the observed median meets it, FAIL when the median's distribution-free
95 % interval (order statistics, binomial(n, 1/2)) lies wholly outside it, "n.s." otherwise (fewer than 6 spines
never give such an interval). Delivery is judged on the observed fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from calibration_bench.population import DrawnSpine
from calibration_bench.scoring import RunScore, ScoredEstimate
from calibration_bench.targets import (
    BOUND_COVERAGE_TARGET,
    COVERAGE_TARGET,
    DELIVERY_TARGET,
    HEADLINE,
    bias_target,
    delivered_as,
    is_headline,
    not_defined,
    strata_for,
)

PASS, FAIL, NOT_SIGNIFICANT, NO_CHECK = "PASS", "FAIL", "n.s.", "-"


@dataclass(frozen=True)
class SpineResult:
    """What one spine's run gave: its score (None if the run could not start) and how long it took."""

    kind: str
    spine: DrawnSpine
    score: RunScore | None
    error: str
    wall_s: float
    cpu_s: float = 0.0
    run_path: str = ""


@dataclass(frozen=True)
class Check:
    """One target check of a row."""

    what: str
    target: str
    status: str


@dataclass
class Row:
    """One line of the table: one estimate of one step over one stratum of a kind's spines."""

    kind: str
    step: str
    step_kind: str
    name: str
    stratum: str
    unit: str = ""
    n_spines: int = 0
    n_delivered: int = 0
    n_bounds: int = 0
    n_delivered_as_bound: int = 0  # spines delivered only by the row's DELIVERED_AS bound (counted in n_delivered)
    delivered_as: str = ""
    n_with_truth: int = 0
    n_covered: int = 0
    n_no_interval: int = 0
    n_trend_reported: int = 0
    n_truth_changed: int = 0
    n_change_resolvable: int = 0  # changed by more than the estimate's interval can hide (scoring.RESOLVABLE_HALF_WIDTHS)
    n_resolvable_reported: int = 0
    not_defined: str = ""  # why the stratum's spines have no such quantity (then no delivery target)
    median_relative_bias: float | None = None
    median_absolute_bias: float | None = None
    median_relative_width: float | None = None
    median_absolute_width: float | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def delivered_fraction(self) -> float | None:
        """Delivered / spines in the stratum."""
        return self.n_delivered / self.n_spines if self.n_spines else None

    @property
    def n_own_delivered(self) -> int:
        """Spines that delivered this row's own estimate (not its DELIVERED_AS bound)."""
        return self.n_delivered - self.n_delivered_as_bound

    @property
    def coverage(self) -> float | None:
        """Covered / delivered with truth."""
        return self.n_covered / self.n_with_truth if self.n_with_truth else None

    @property
    def status(self) -> str:
        """FAIL if any check fails, else n.s. if any is not significant, else PASS ('-' without checks)."""
        states = [c.status for c in self.checks]
        for s in (FAIL, NOT_SIGNIFICANT, PASS):
            if s in states:
                return s
        return NO_CHECK

    @property
    def headline(self) -> bool:
        """A headline estimate of its step kind on this stratum."""
        return is_headline(self.step_kind, self.name, self.stratum)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def coverage_interval(covered: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a coverage fraction."""
    ci = stats.binomtest(covered, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def median_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of a median: order statistics k and n + 1 - k (1-based), k the largest with
    P(Binomial(n, 1/2) < k) <= (1 - level) / 2; (-inf, inf) when no k >= 1 qualifies (n < 6 at 95 %)."""
    x = sorted(values)
    n = len(x)
    k = int(stats.binom.ppf((1 - level) / 2, n, 0.5)) if n else 0
    while k > 0 and stats.binom.cdf(k - 1, n, 0.5) > (1 - level) / 2:
        k -= 1
    if k < 1:
        return -math.inf, math.inf
    return x[k - 1], x[n - k]


def judge_bias(values: list[float], limit: float) -> str:
    """PASS when |median| <= limit; FAIL when the median's 95 % interval lies wholly outside [-limit, limit]."""
    if abs(float(np.median(values))) <= limit:
        return PASS
    low, high = median_interval(values)
    return FAIL if low > limit or high < -limit else NOT_SIGNIFICANT


def judge_coverage(covered: int, n: int, low: float, high: float) -> str:
    """PASS in [low, high]; FAIL when the exact 95 % interval of the coverage misses [low, high]; else n.s."""
    fraction = covered / n
    if low <= fraction <= high:
        return PASS
    ci_low, ci_high = coverage_interval(covered, n)
    return FAIL if ci_high < low or ci_low > high else NOT_SIGNIFICANT


def _checks(row: Row, estimates: list[ScoredEstimate]) -> list[Check]:
    checks = []
    if row.not_defined:
        checks.append(Check("not defined", row.not_defined, NO_CHECK))
    if row.headline:
        frac = row.delivered_fraction or 0.0
        checks.append(Check("delivered", f">= {DELIVERY_TARGET:.0%}", PASS if frac >= DELIVERY_TARGET else FAIL))
    if row.n_own_delivered and not row.n_with_truth:
        checks.append(Check("truth", "of the same name", FAIL))
    if row.n_with_truth:
        if row.n_bounds == row.n_own_delivered:
            status = judge_coverage(row.n_covered, row.n_with_truth, BOUND_COVERAGE_TARGET, 1.0)
            checks.append(Check("coverage", f">= {BOUND_COVERAGE_TARGET:.0%} (bounds)", status))
        else:
            lo, hi = COVERAGE_TARGET
            status = judge_coverage(row.n_covered, row.n_with_truth, lo, hi)
            checks.append(Check("coverage", f"{lo:.0%}-{hi:.0%}", status))
    target = bias_target(row.step_kind, row.name, row.stratum)
    if target is not None:
        usable = [e for e in estimates if e.n_sweeps >= target.min_sweeps]
        rel = [b for e in usable if (b := e.relative_bias) is not None]
        ab = [b for e in usable if (b := e.absolute_bias) is not None]
        judged = ([judge_bias(rel, target.relative)] if target.relative is not None and rel else []) + \
                 ([judge_bias(ab, target.absolute)] if target.absolute is not None and ab else [])
        if not judged:
            status = FAIL if row.n_spines else NO_CHECK
        else:  # either bound met passes (e.g. 20 % or 3 mV); FAIL only when every one is shown missed
            status = next(s for s in (PASS, NOT_SIGNIFICANT, FAIL) if s in judged)
        checks.append(Check("|bias|", target.describe(row.unit), status))
    return checks


def _row(kind: str, step: str, step_kind: str, name: str, stratum: str,
         members: list[tuple[SpineResult, ScoredEstimate | None]]) -> Row:
    row = Row(kind, step, step_kind, name, stratum, n_spines=len(members))
    found = [e for _, e in members if e is not None]
    row.unit = found[0].unit if found else ""
    delivered = [e for e in found if e.delivered]
    row.delivered_as = delivered_as(step_kind, name, stratum)
    if row.delivered_as:
        by_bound = [r for r, e in members if (e is None or not e.delivered)
                    and (b := _final_of(r, step, row.delivered_as)) is not None and b.delivered]
        row.n_delivered_as_bound = len(by_bound)
    row.n_delivered = len(delivered) + row.n_delivered_as_bound
    row.n_bounds = sum(1 for e in delivered if e.bound)
    with_truth = [e for e in delivered if e.truth is not None]
    row.n_with_truth = len(with_truth)
    row.n_covered = sum(1 for e in with_truth if e.covers)
    row.n_no_interval = sum(1 for e in delivered if not e.has_interval)
    row.n_trend_reported = sum(1 for e in delivered if e.trend)
    row.n_truth_changed = sum(1 for e in with_truth if e.truth_changed)
    row.n_change_resolvable = sum(1 for e in with_truth if e.change_resolvable)
    row.n_resolvable_reported = sum(1 for e in with_truth if e.change_resolvable and e.trend)
    row.not_defined = not_defined(step_kind, name, stratum)
    row.median_relative_bias = _median([b for e in with_truth if (b := e.relative_bias) is not None])
    row.median_absolute_bias = _median([b for e in with_truth if (b := e.absolute_bias) is not None])
    row.median_relative_width = _median([w for e in delivered if (w := e.relative_width) is not None])
    row.median_absolute_width = _median([w for e in delivered if (w := e.absolute_width) is not None])
    row.checks = _checks(row, delivered)
    return row


def summarise(kind: str, steps: list[tuple[str, str]], results: list[SpineResult]) -> list[Row]:
    """Rows of one kind: for every step (name, step kind) of its protocol, the step kind's headline names and
    every other estimate name any spine gave, over each stratum of the step kind."""
    rows: list[Row] = []
    for step, step_kind in steps:
        headline = list(HEADLINE.get(step_kind, ()))
        seen = sorted({e.name for r in results if r.score for e in r.score.estimates if e.step == step})
        names = headline + [n for n in seen if n not in headline]
        missing_placed: set[tuple[str | None, int]] = set()  # a spine without the truth is listed once
        for stratum in strata_for(step_kind):
            groups: dict[str, list[SpineResult]] = {}
            for i, r in enumerate(results):
                step_truth = r.score.steps[step].mean if r.score and step in r.score.steps else {}
                inside = stratum.contains(step_truth, r.spine.silent)
                if inside is False or (inside is None and (stratum.truth_name, i) in missing_placed):
                    continue
                if inside is None:
                    missing_placed.add((stratum.truth_name, i))
                label = stratum.label if inside else f"truth '{stratum.truth_name}' missing"
                groups.setdefault(label, []).append(r)
            for label, members in groups.items():
                for name in names:
                    rows.append(_row(kind, step, step_kind, name, label,
                                     [(r, _final_of(r, step, name)) for r in members]))
    return rows


def _final_of(result: SpineResult, step: str, name: str) -> ScoredEstimate | None:
    if result.score is None:
        return None
    for e in result.score.estimates:
        if e.step == step and e.name == name:
            return e
    return None


def format_fraction(value: float | None) -> str:
    """'93 %' or '-'."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.0%}"
