"""The reversal step kind and its program: sweeps chosen while it runs (bisection on the current's sign)."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext, StepFailed
from rig.protocols.reversal.analysis import ReversalAnalysis, bracket, next_holding
from rig.protocols.reversal.schema import ReversalStep
from rig.protocols.shared.calcium_scan import (
    calcium_sweep,
    check_condition,
    check_stimulus,
)
from rig.protocols.shared.common import StepProblem, resolve_device


def _ceiling(step: ReversalStep, profile: HardwareProfile, amp: str) -> float:
    high = profile.amplifier(amp).limits.holding_mV[1]
    return min(high, step.max_mV) if step.max_mV is not None else high


class ReversalProgram:
    """Sweeps chosen from the currents measured so far (bisection on their signs); reversal_mV into the context."""

    adaptive = True

    def __init__(self, step: ReversalStep, step_index: int, profile: HardwareProfile, analysis: ReversalAnalysis):
        self.step, self.step_index, self.profile, self.analysis = step, step_index, profile, analysis
        self.amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        self.ceiling = _ceiling(step, profile, self.amp)
        analysis.ceiling_mV, analysis.amplifier = self.ceiling, self.amp
        self.issued = 0  # measuring sweeps handed out
        self.sweeps = 0
        self.queue: list[tuple[float, bool]] = []
        self.done = False

    @property
    def planned_sweeps(self) -> int:
        """The most sweeps the search can take: max_levels levels of one settle and sweeps_per_level sweeps."""
        return self.step.max_levels * (1 + self.step.sweeps_per_level)

    def plan_at(self, holding_mV: float, sweep: int, settle: bool = False) -> SweepPlan:
        """A sweep at one holding with one stimulus; a settle sweep (no stimulus, not analysed) moves the holding."""
        s = self.step
        return calcium_sweep(self.profile, step_index=self.step_index, step_name=s.name or "reversal", kind="reversal",
                             sweep_in_step=sweep, amplifier=self.amp, mode="VC", holding=holding_mV,
                             duration_ms=20.0 if settle else s.sweep_ms, stimulus=None if settle else s.stimulus,
                             stimuli_ms=() if settle else (s.stimulus_ms,), condition=s.condition,
                             meta=SweepMeta(role="settle" if settle else "measure"),
                             interval_after_s=max(s.interval_s, 1.0) if settle else s.interval_s,
                             sample_rate_hz=s.sample_rate_hz)

    def envelope(self) -> list[SweepPlan]:
        """The lowest and highest holding the search may use."""
        return [self.plan_at(self.step.start_mV, 0), self.plan_at(self.ceiling, 1)]

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The next sweep: repeat the level, move to the next holding, or finish (reversal_mV into the context)."""
        if self.done:
            return None
        if not self.queue:
            a = self.analysis
            if a.analysed < self.issued:
                raise StepFailed(f"reversal search: {self.issued - a.analysed} sweep(s) could not be analysed "
                                 "(see the notices); the search cannot continue")
            levels = a.levels()
            level = next_holding(levels, self.step, self.ceiling, self.amp)
            if level is None:
                found = bracket(levels)
                if found is None:  # next_holding finishes only once the reversal is bracketed
                    raise StepFailed("reversal search: finished without bracketing the reversal")
                self.done = True
                context.set("reversal_mV", a.estimate(levels, found)[0].value_mV, self.step.name or "reversal")
                return None
            self.queue = [(level, True)] + [(level, False)] * self.step.sweeps_per_level
        level, settle = self.queue.pop(0)
        self.sweeps += 1
        self.issued += 0 if settle else 1
        return self.plan_at(level, self.sweeps - 1, settle)


class ReversalKind:
    """The reversal step kind."""

    schema = ReversalStep
    fixed_plans = False  # the search chooses each holding from the currents measured so far

    def check(self, step: ReversalStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier and stimulator exist; the search range lies within the holding limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_stimulus(profile, step.stimulus) + check_condition(step.condition)
        if amp is not None:
            low, high = profile.amplifier(amp).limits.holding_mV
            if not low <= step.start_mV <= high:
                problems.append(StepProblem("start_mV", f"{step.start_mV:g} mV is outside the profile limit "
                                            f"[{low:g}, {high:g}] mV (devices.{amp}.limits.holding_mV)"))
            if step.max_mV is not None and step.max_mV <= step.start_mV:
                problems.append(StepProblem("max_mV", "must be above start_mV"))
        return problems

    def analysis(self, step: ReversalStep) -> ReversalAnalysis:
        """A fresh online analysis."""
        return ReversalAnalysis(step)

    def program(self, step: ReversalStep, step_index: int, profile: HardwareProfile,
                analysis: ReversalAnalysis) -> ReversalProgram:
        """The adaptive search."""
        return ReversalProgram(step, step_index, profile, analysis)
