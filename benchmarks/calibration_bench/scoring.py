"""Score one run file: every final estimate against the truth of the same name.

Which truth an estimate is compared with (the benchmark's definition):
- the truth rows of the same name, recorded at the start of each sweep the estimate rests on: the sweeps
  of its step up to the sweep it was published after that gave the step's analysis a feature or an estimate
  (an estimate combines all measuring sweeps of its step so far; a no-stimulus reference sweep, which gives
  none, is not one of them);
- their mean, the quantity an average over those sweeps estimates;
- unless the spine changed while it was measured (the truth's range over those sweeps exceeds
  TREND_TOLERANCE of its mean: plasticity, photodamage): then the last of those sweeps' truth, the spine
  as it is when the operator reads the estimate. An interval averaging a changing spine then fails to
  cover, which is the defect to see.
A change is *resolvable* by an estimate when the truth's range over its sweeps exceeds RESOLVABLE_HALF_WIDTHS
times the half width of its 95 % interval: the size at which a straight line fitted to evenly spaced sweeps whose
mean has that interval detects the change (two-sided p < 0.05) about half the time (the end-to-end change of the
line has SE sqrt(12) x the mean's SE). A smaller change is real in the simulated spine but below what the sweeps
can show; the table counts such spines apart instead of expecting a trend report.
An estimate whose name has no truth row in any of its sweeps is scored as "no truth".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rig.storage.reader import RunFile

TREND_TOLERANCE = 0.10
RESOLVABLE_HALF_WIDTHS = 12 ** 0.5


@dataclass(frozen=True)
class ScoredEstimate:
    """The final estimate of one name in one step, with the truth it is compared with."""

    step: str
    step_kind: str
    name: str
    unit: str
    value: float
    low: float
    high: float
    bound: str
    trend: str
    n_sweeps: int
    truth: float | None
    truth_rule: str
    truth_range: float = 0.0  # max - min of the per-sweep truth over the estimate's sweeps

    @property
    def truth_changed(self) -> bool:
        """The truth moved by more than TREND_TOLERANCE over the estimate's sweeps (compared with the last sweep)."""
        return self.truth_rule.startswith("last")

    @property
    def change_resolvable(self) -> bool | None:
        """Whether a changed truth moved by more than RESOLVABLE_HALF_WIDTHS half widths of the interval (None for a
        bound or without an interval, False if the truth did not change)."""
        if not self.truth_changed:
            return False
        if self.bound or not self.has_interval:
            return None
        return self.truth_range > RESOLVABLE_HALF_WIDTHS * (self.high - self.low) / 2

    @property
    def delivered(self) -> bool:
        """A finite value with a finite interval, or a finite one-sided bound."""
        if self.bound == "lower":
            return math.isfinite(self.low)
        if self.bound == "upper":
            return math.isfinite(self.high)
        return math.isfinite(self.value)

    @property
    def has_interval(self) -> bool:
        """A two-sided estimate with both ends finite (or a bound: its one side)."""
        return self.delivered and (self.bound != "" or (math.isfinite(self.low) and math.isfinite(self.high)))

    @property
    def covers(self) -> bool | None:
        """Whether the interval (or bound: the truth on its side) contains the truth; None without truth."""
        if self.truth is None or not self.delivered:
            return None
        if self.bound == "lower":
            return self.truth >= self.low
        if self.bound == "upper":
            return self.truth <= self.high
        return bool(self.has_interval and self.low <= self.truth <= self.high)

    @property
    def relative_bias(self) -> float | None:
        """estimate / truth - 1 of a two-sided estimate (None for bounds, missing or zero truth)."""
        if self.truth is None or self.bound or not self.delivered or self.truth == 0:
            return None
        return self.value / self.truth - 1.0

    @property
    def absolute_bias(self) -> float | None:
        """estimate - truth of a two-sided estimate, in the estimate's unit."""
        if self.truth is None or self.bound or not self.delivered:
            return None
        return self.value - self.truth

    @property
    def relative_width(self) -> float | None:
        """(high - low) / |value| of a two-sided interval."""
        if self.bound or not self.has_interval or self.value == 0:
            return None
        return (self.high - self.low) / abs(self.value)

    @property
    def absolute_width(self) -> float | None:
        """high - low of a two-sided interval, in the estimate's unit."""
        return None if self.bound or not self.has_interval else self.high - self.low


@dataclass(frozen=True)
class StepTruth:
    """A step's sweeps and the mean truth over them (used to say where an estimate is defined)."""

    step: str
    step_kind: str
    sweeps: tuple[int, ...]
    mean: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RunScore:
    """Everything the benchmark keeps of one run."""

    status: str
    message: str
    n_sweeps: int
    steps: dict[str, StepTruth]
    estimates: list[ScoredEstimate]
    notices: list[str]


def truth_range(values: list[float]) -> float:
    """max - min of the finite per-sweep truths (0 without any)."""
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) - min(finite) if finite else 0.0


def comparison_truth(values: list[float]) -> tuple[float | None, str]:
    """The truth an estimate over sweeps with these per-sweep truths is compared with, and the rule used."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None, "no truth"
    mean = float(np.mean(finite))
    spread = max(finite) - min(finite)
    if abs(mean) > 0 and spread > TREND_TOLERANCE * abs(mean):
        return finite[-1], f"last sweep (truth changed {min(finite):.4g}-{max(finite):.4g})"
    return mean, f"mean of {len(finite)} sweep(s)"


def score_run(path: Path) -> RunScore:
    """Read a run file and score its final estimates of every step."""
    with RunFile(path) as run:
        stored = {int(r["sweep"]) for r in run.sweeps()}
        plans = run.plans()
        truth_by_sweep: dict[int, dict[str, float]] = {}
        for sweep, name, value in run.truth_rows():
            truth_by_sweep.setdefault(sweep, {})[name] = value
        step_of = {i: (p.get("step_name", ""), p.get("kind", "")) for i, p in enumerate(plans)}
        final: dict[tuple[str, str], object] = {}
        measured: dict[str, set[int]] = {}  # sweeps that gave each step's analysis a feature or an estimate
        for e in run.estimates():
            final[(e.step, e.name)] = e
            measured.setdefault(e.step, set()).add(e.sweep)
        for f in run.features():
            measured.setdefault(str(f["step"]), set()).add(int(f["sweep"]))
        steps: dict[str, StepTruth] = {}
        for step, kind in dict.fromkeys(step_of.values()):
            sweeps = tuple(s for s, sk in step_of.items() if sk == (step, kind) and s in stored)
            names = {n for s in sweeps for n in truth_by_sweep.get(s, {})}
            mean = {n: float(np.mean([truth_by_sweep[s][n] for s in sweeps if n in truth_by_sweep.get(s, {})]))
                    for n in names}
            steps[step] = StepTruth(step, kind, sweeps, mean)
        scored = []
        for (step, name), e in final.items():
            sweeps = [s for s in (steps[step].sweeps if step in steps else ()) if s <= e.sweep]
            sweeps = [s for s in sweeps if s in measured.get(step, ())] or sweeps
            per_sweep = [truth_by_sweep[s][name] for s in sweeps if name in truth_by_sweep.get(s, {})]
            truth, rule = comparison_truth(per_sweep)
            scored.append(ScoredEstimate(step, steps[step].step_kind if step in steps else "", name, e.unit, e.value,
                                         e.low, e.high, getattr(e, "bound", "") or "", getattr(e, "trend", "") or "",
                                         len(sweeps), truth, rule, truth_range(per_sweep)))
        notices = [f"sweep {n['sweep']}: {n['level']}: {n['message']}" for n in run.notices()]
        end = run.run_end() or {}
        return RunScore(run.status, str(end.get("message", "")), run.n_sweeps, steps, scored, notices)
