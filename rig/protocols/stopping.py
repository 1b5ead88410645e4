"""Acquire until the answer is known: a step's `until:` rule stops it once an estimate's interval is tight enough.

    until: {estimate: neck_resistance_MOhm, relative_half_width: 0.15, min_sweeps: 5, max_sweeps: 20}

The step's compiled sweeps are its budget (`max_sweeps` may cap them). After each sweep the step's own online
analysis publishes its estimates as usual; `StopWatch` (wrapping that analysis) reads the named estimate, tells
the step's program to stop once its 95 % interval's half width is at or below the target (after `min_sweeps`),
and predicts, from the width so far, how many sweeps the target needs (width ~ 1/sqrt(sweeps)): a feature
`sweeps_to_target` after every sweep, and one warning as soon as the prediction exceeds the budget. Settle
sweeps (role "settle": no light, not analysed) are not counted as sweeps of the rule.

Fixed steps are wrapped in `UntilProgram`. A kind whose program writes its own sweeps takes a rule when its
program has `stop_with(watch)` (an `UntilCapable`: fCaT, which then alternates its conditions in blocks) and its
kind says `stops_on_until = True`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import FixedProgram, RunContext

MAX_BUDGET_SWEEPS = 100_000
# 5, not 3: a width from 3 sweeps (its Birge ratio on 2 degrees of freedom) is itself so noisy that stops there
# leaned high (FRAP, target 8 %: median tau bias +1.9 % stopping from sweep 3, -0.0 % from 5; benchmarks/README.md)
DEFAULT_MIN_SWEEPS = 5


class StoppingRule(StrictModel):
    """Stop a step when the named estimate's 95 % interval is this tight (relative or absolute half width)."""

    estimate: str = Field(min_length=1, max_length=64, description="an estimate the step publishes")
    relative_half_width: float | None = Field(default=None, gt=0, le=10,
                                              description="(high - low) / 2 / |value| at or below this")
    absolute_half_width: float | None = Field(default=None, gt=0, le=1e12,
                                              description="(high - low) / 2 at or below this, in the estimate's unit")
    min_sweeps: int | None = Field(default=None, ge=1, le=MAX_BUDGET_SWEEPS,
                                   description="sweeps before the rule may stop the step (default 5, or max_sweeps "
                                   "when smaller)")
    max_sweeps: int | None = Field(default=None, ge=1, le=MAX_BUDGET_SWEEPS,
                                   description="cap on the step's sweeps (default: all its compiled sweeps)")
    block_sweeps: int | None = Field(default=None, ge=1, le=MAX_BUDGET_SWEEPS,
                                     description="kinds with two conditions (fcat): measuring sweeps of one "
                                     "condition before switching to the other (default: a third of "
                                     "sweeps_per_condition, at least 2)")

    @model_validator(mode="after")
    def _one_target(self) -> "StoppingRule":
        if (self.relative_half_width is None) == (self.absolute_half_width is None):
            raise ValueError("give exactly one of relative_half_width and absolute_half_width")
        if self.max_sweeps is not None and self.min_sweeps is not None and self.max_sweeps < self.min_sweeps:
            raise ValueError(f"max_sweeps {self.max_sweeps} is below min_sweeps {self.min_sweeps}")
        return self

    @property
    def least_sweeps(self) -> int:
        """Sweeps before the rule may stop: min_sweeps, else DEFAULT_MIN_SWEEPS (at most max_sweeps)."""
        if self.min_sweeps is not None:
            return self.min_sweeps
        return min(DEFAULT_MIN_SWEEPS, self.max_sweeps or DEFAULT_MIN_SWEEPS)

    def half_width(self, e: Estimate) -> float:
        """The estimate's half width in the rule's terms (relative or absolute); inf for a bound or no interval."""
        if e.bound or not (math.isfinite(e.low) and math.isfinite(e.high)):
            return math.inf
        half = (e.high - e.low) / 2.0
        if self.relative_half_width is not None:
            return half / abs(e.value) if e.value != 0 and math.isfinite(e.value) else math.inf
        return half

    @property
    def target(self) -> float:
        """The half width to reach."""
        if self.relative_half_width is not None:
            return self.relative_half_width
        return self.absolute_half_width if self.absolute_half_width is not None else math.inf

    def describe_width(self, width: float) -> str:
        """'half width 12 % (target 15 %)' or in the estimate's unit."""
        if self.relative_half_width is not None:
            return f"half width {100 * width:.3g} % (target {100 * self.target:.3g} %)"
        return f"half width {width:.4g} (target {self.target:.4g})"


class StopWatch:
    """Wraps a step's online analysis: passes every update on, and decides when the step has its answer."""

    def __init__(self, inner: Any, rule: StoppingRule, budget: int):
        self.inner = inner
        self.rule = rule
        self.budget = budget
        self.sweeps = 0
        self.done = False
        self._warned = False
        self._seen = False

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, Any]) -> Any:
        """The inner analysis' update, plus the stopping decision and the prediction for this sweep."""
        update = self.inner.analyze(sweep_index, plan, data)
        if plan.meta.role == "settle":
            return update
        self.sweeps += 1
        step = plan.step_name
        latest = next((e for e in reversed(update.estimates) if e.name == self.rule.estimate), None)
        if latest is None:
            if self.sweeps >= self.budget and not self._seen:
                update.notices.append(Notice("warning", step, f"stopping rule: {self.rule.estimate} was never "
                                             f"published by this step; it ran all {self.budget} sweeps", sweep_index))
            return update
        self._seen = True
        width = self.rule.half_width(latest)
        if math.isfinite(width) and width > 0:
            needed = math.ceil(self.sweeps * (width / self.rule.target) ** 2)
        else:
            needed = self.sweeps if width == 0 else MAX_BUDGET_SWEEPS
        needed = max(needed, self.rule.least_sweeps)
        remaining = max(0, needed - self.sweeps)
        update.features.append(Feature(sweep_index, step, "sweeps_to_target", float(remaining), math.nan, math.nan,
                                       "sweeps"))
        if width <= self.rule.target and self.sweeps >= self.rule.least_sweeps:
            self.done = True
            update.notices.append(Notice("info", step, f"stopping rule met after {self.sweeps} of {self.budget} "
                                         f"sweeps: {self.rule.estimate} {self.rule.describe_width(width)}",
                                         sweep_index))
        elif needed > self.budget and not self._warned and self.sweeps >= self.rule.least_sweeps:
            self._warned = True
            update.notices.append(Notice("warning", step, f"stopping rule: {self.rule.estimate} is predicted to need "
                                         f"about {needed} sweeps to reach its target, more than the budget of "
                                         f"{self.budget} ({self.rule.describe_width(width)} after {self.sweeps} sweeps; widths shrink about "
                                         "as 1/sqrt(sweeps))",
                                         sweep_index))
        elif self.sweeps >= self.budget:
            update.notices.append(Notice("warning", step, f"stopping rule not met: budget of {self.budget} sweeps "
                                         f"used, {self.rule.estimate} {self.rule.describe_width(width)}",
                                         sweep_index))
        return update


class UntilProgram:
    """A fixed step's sweeps in order until its StopWatch says the answer is known (adaptive: waits for it)."""

    adaptive = True

    def __init__(self, inner: FixedProgram, watch: StopWatch):
        self.inner = inner
        self.watch = watch
        self.step_index = inner.step_index
        self._budget = watch.budget
        self._produced = 0

    @property
    def planned_sweeps(self) -> int:
        """The budget (progress shows the actual count once the step stops early)."""
        return self._budget

    def envelope(self) -> list[SweepPlan]:
        """Every plan of the budget."""
        return self.inner.envelope()[:self._budget]

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The next fixed plan, or None once the rule is met or the budget is used."""
        if self.watch.done or self._produced >= self._budget:
            return None
        plan = self.inner.next_plan(context)
        if plan is not None:
            self._produced += 1
        return plan


class UntilCapable(Protocol):
    """A program that writes its own sweeps and can stop on a StopWatch."""

    @property
    def measuring_sweeps(self) -> int:
        """The most measuring sweeps (settle sweeps left out) it may run."""

    def stop_with(self, watch: StopWatch) -> Any:
        """The program to run, stopping once `watch.done` or after `watch.budget` measuring sweeps."""


def with_stopping(step: Any, program: Any, analysis: Any) -> tuple[Any, Any]:
    """(program, analysis) of a step: wrapped in UntilProgram and StopWatch when it has an `until:` rule."""
    rule = getattr(step, "until", None)
    if rule is None or analysis is None:
        return program, analysis
    if isinstance(program, FixedProgram):
        n_plans = program.planned_sweeps
        watch = StopWatch(analysis, rule, min(n_plans, rule.max_sweeps or n_plans))
        return UntilProgram(program, watch), watch
    if hasattr(program, "stop_with"):
        capable: UntilCapable = program
        n_measuring = capable.measuring_sweeps
        watch = StopWatch(analysis, rule, min(n_measuring, rule.max_sweeps or n_measuring))
        return capable.stop_with(watch), watch
    return program, analysis


def until_problem(step: Any, has_own_program: bool, has_analysis: bool) -> str | None:
    """Why a step's `until:` rule cannot work (None when it can)."""
    if getattr(step, "until", None) is None:
        return None
    from rig.protocols import STEP_KINDS  # here: the kinds' programs import this module

    if has_own_program and not getattr(STEP_KINDS.get(step.kind), "stops_on_until", False):
        return f"not available for kind '{step.kind}': its own program chooses its sweeps"
    if not has_analysis:
        return f"kind '{step.kind}' has no online estimate to stop on"
    if step.until.block_sweeps is not None and not has_own_program:
        return f"block_sweeps applies to kinds that alternate two conditions (fcat), not to '{step.kind}'"
    return None
