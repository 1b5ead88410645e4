"""Synaptic reversal search (adaptive): depolarize in VC until the evoked current reverses, then bisect to zero."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from rig.analysis.evoked_current import evoked_current
from rig.config.profile import HardwareProfile
from rig.engine.program import RunContext, StepFailed
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan
from rig.protocols.calcium_scan import StimulusSpec, calcium_sweep, check_condition, check_stimulus
from rig.protocols.common import AnalysisUpdate, StepBase, StepProblem, resolve_device


class ReversalStep(StepBase):
    """Find the potential at which stimulation evokes zero synaptic current; later steps read `reversal_mV`."""

    kind: Literal["reversal"]
    start_mV: float = Field(default=-70.0, description="first holding (the evoked current must be inward here)")
    step_mV: float = Field(default=40.0, gt=0, description="depolarizing increment until the current reverses")
    max_mV: float | None = Field(default=None, description="highest holding; default the profile's limit")
    tolerance_mV: float = Field(default=1.0, gt=0, description="bisect until the bracket is this narrow")
    sweeps_per_level: int = Field(default=3, ge=1, le=50)
    stimulus: StimulusSpec = StimulusSpec()
    stimulus_ms: float = Field(default=60.0, gt=0)
    sweep_ms: float = Field(default=120.0, gt=0)
    window_ms: tuple[float, float] = Field(default=(1.0, 25.0), description="response window after the stimulus")
    baseline_ms: float = Field(default=30.0, gt=0)
    min_response_pA: float = Field(default=3.0, ge=0, description="smallest inward current at start_mV")
    interval_s: float = Field(default=2.0, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"

    @model_validator(mode="after")
    def _windows(self) -> "ReversalStep":
        if self.stimulus_ms + self.window_ms[1] >= self.sweep_ms or self.window_ms[0] >= self.window_ms[1]:
            raise ValueError("window_ms must be increasing and end before sweep_ms")
        if self.baseline_ms >= self.stimulus_ms:
            raise ValueError("baseline_ms must fit before stimulus_ms")
        return self


def _ceiling(step: ReversalStep, profile: HardwareProfile, amp: str) -> float:
    high = profile.devices[amp].limits.holding_mV[1]  # type: ignore[union-attr]
    return min(high, step.max_mV) if step.max_mV is not None else high


class ReversalAnalysis:
    """Evoked current per sweep, grouped by holding level; the bracket and the reversal estimate."""

    def __init__(self, step: ReversalStep):
        self.step = step
        self.levels: dict[float, list[float]] = {}
        self.noise: dict[float, list[float]] = {}
        self.analysed = 0

    def mean_at(self, level: float) -> float:
        """Mean evoked current at a holding level."""
        values = self.levels[level]
        return sum(values) / len(values)

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Measure this sweep's evoked current; publish the bracket found so far."""
        s = self.step
        if plan.parameters.get("role") == "settle":
            return AnalysisUpdate()
        current = evoked_current(data[f"{plan.amplifier}.primary"], plan.sample_rate_hz, s.stimulus_ms, s.window_ms,
                                 s.baseline_ms)
        level = float(plan.parameters["holding"])
        self.levels.setdefault(level, []).append(current.mean_pA)
        self.noise.setdefault(level, []).append(current.sd_pA)
        self.analysed += 1
        update = AnalysisUpdate([Feature(sweep_index, plan.step_name, "evoked_current_pA", current.mean_pA,
                                         current.mean_pA - 1.96 * current.sd_pA, current.mean_pA + 1.96 * current.sd_pA,
                                         "pA"),
                                 Feature(sweep_index, plan.step_name, "holding_mV", level, level, level, "mV")])
        bracket = self.bracket()
        if bracket is not None:
            low, high = bracket
            value = self.interpolate(low, high)
            update.estimates.append(Estimate(sweep_index, plan.step_name, "reversal_mV", value, low, high, "mV",
                                             f"zero crossing of the mean evoked current between the holdings that "
                                             f"bracket it ({len(self.levels)} levels, {s.sweeps_per_level} sweeps each)"))
        return update

    def bracket(self) -> tuple[float, float] | None:
        """(highest inward level, lowest outward level) when the current has reversed."""
        inward = [v for v in self.levels if self.mean_at(v) < 0]
        outward = [v for v in self.levels if self.mean_at(v) >= 0]
        if not inward or not outward:
            return None
        low = max(inward)
        above = [v for v in outward if v > low]
        return (low, min(above)) if above else None

    def interpolate(self, low: float, high: float) -> float:
        """Linear zero crossing of the mean current between two levels."""
        i_low, i_high = self.mean_at(low), self.mean_at(high)
        if i_high == i_low:
            return 0.5 * (low + high)
        return low + (high - low) * (-i_low) / (i_high - i_low)


class ReversalProgram:
    """Sweeps chosen from the currents measured so far: step up, then bisect."""

    adaptive = True

    def __init__(self, step: ReversalStep, step_index: int, profile: HardwareProfile, analysis: ReversalAnalysis):
        self.step, self.step_index, self.profile, self.analysis = step, step_index, profile, analysis
        self.amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        self.ceiling = _ceiling(step, profile, self.amp)
        self.issued = 0  # measuring sweeps handed out
        self.sweeps = 0
        self.queue: list[tuple[float, bool]] = []
        self.done = False

    def plan_at(self, holding_mV: float, sweep: int, settle: bool = False) -> SweepPlan:
        """A sweep at one holding with one stimulus; a settle sweep (no stimulus, not analysed) moves the holding."""
        s = self.step
        return calcium_sweep(self.profile, step_index=self.step_index, step_name=s.name or "reversal", kind="reversal",
                             sweep_in_step=sweep, amplifier=self.amp, mode="VC", holding=holding_mV,
                             duration_ms=20.0 if settle else s.sweep_ms, stimulus=None if settle else s.stimulus,
                             stimuli_ms=() if settle else (s.stimulus_ms,), condition=s.condition,
                             parameters={"role": "settle" if settle else "measure"},
                             interval_after_s=max(s.interval_s, 1.0) if settle else s.interval_s,
                             sample_rate_hz=s.sample_rate_hz)

    def envelope(self) -> list[SweepPlan]:
        """The lowest and highest holding the search may use."""
        return [self.plan_at(self.step.start_mV, 0), self.plan_at(self.ceiling, 1)]

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The next sweep: repeat the level, step up, bisect, or finish (reversal_mV into the context)."""
        if self.done:
            return None
        if not self.queue:
            level = self._next_level()
            if level is None:
                self.done = True
                low, high = self.analysis.bracket()  # type: ignore[misc]
                context.set("reversal_mV", self.analysis.interpolate(low, high), self.step.name or "reversal")
                return None
            self.queue = [(level, True)] + [(level, False)] * self.step.sweeps_per_level
        level, settle = self.queue.pop(0)
        self.sweeps += 1
        self.issued += 0 if settle else 1
        return self.plan_at(level, self.sweeps - 1, settle)

    def _next_level(self) -> float | None:
        s, a = self.step, self.analysis
        if a.analysed < self.issued:
            raise StepFailed(f"reversal search: {self.issued - a.analysed} sweep(s) could not be analysed "
                             "(see the notices); the search cannot continue")
        if not a.levels:
            return s.start_mV
        if len(a.levels) == 1 and a.mean_at(s.start_mV) > -s.min_response_pA:
            raise StepFailed(f"reversal search: no inward synaptic current at {s.start_mV:g} mV (mean "
                             f"{a.mean_at(s.start_mV):.2f} pA, need < -{s.min_response_pA:g} pA): no response to the "
                             "stimulus, nothing to reverse")
        bracket = a.bracket()
        if bracket is None:
            top = max(a.levels)
            if top >= self.ceiling:
                raise StepFailed(f"reversal search: the evoked current never reversed up to {top:g} mV (the profile's "
                                 f"holding limit, devices.{self.amp}.limits.holding_mV); mean "
                                 f"{a.mean_at(top):.2f} pA there")
            return min(top + s.step_mV, self.ceiling)
        low, high = bracket
        if high - low <= s.tolerance_mV:
            return None
        mid = round(0.5 * (low + high), 3)
        return mid if mid not in a.levels else None


class ReversalKind:
    """The reversal step kind."""

    schema = ReversalStep

    def check(self, step: ReversalStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier and stimulator exist; the search range lies within the holding limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_stimulus(profile, step.stimulus) + check_condition(step.condition)
        if amp is not None:
            low, high = profile.devices[amp].limits.holding_mV  # type: ignore[union-attr]
            if not low <= step.start_mV <= high:
                problems.append(StepProblem("start_mV", f"{step.start_mV:g} mV is outside the profile limit "
                                            f"[{low:g}, {high:g}] mV (devices.{amp}.limits.holding_mV)"))
            if step.max_mV is not None and step.max_mV <= step.start_mV:
                problems.append(StepProblem("max_mV", "must be above start_mV"))
        return problems

    def compile(self, step: ReversalStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """The envelope (the real sweeps are chosen during the run)."""
        return ReversalProgram(step, step_index, profile, ReversalAnalysis(step)).envelope()

    def analysis(self, step: ReversalStep) -> ReversalAnalysis:
        """A fresh online analysis."""
        return ReversalAnalysis(step)

    def program(self, step: ReversalStep, step_index: int, profile: HardwareProfile,
                analysis: ReversalAnalysis) -> ReversalProgram:
        """The adaptive search."""
        return ReversalProgram(step, step_index, profile, analysis)


KIND = ReversalKind()
