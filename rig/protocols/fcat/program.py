"""The fCaT step kind and its program: sweeps at the reversal (VC) and free-running (CC), built once it is known."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import FcatMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext, StepFailed
from rig.protocols.fcat.analysis import FcatAnalysis
from rig.protocols.fcat.schema import FcatStep
from rig.protocols.shared.calcium_scan import (
    calcium_sweep,
    check_condition,
    check_current,
    check_imaging,
    check_stimulus,
)
from rig.protocols.shared.common import StepProblem, resolve_device


def condition_order(step: FcatStep) -> list[str]:
    """'reversal'/'cc' for every sweep, in blocks or interleaved."""
    n = step.sweeps_per_condition
    if step.order == "blocks":
        return ["reversal"] * n + ["cc"] * n
    if step.order == "blocks_cc_first":
        return ["cc"] * n + ["reversal"] * n
    return ["reversal", "cc"] * n


def fcat_sweep(step: FcatStep, step_index: int, profile: HardwareProfile, sweep: int, condition: str,
               reversal_mV: float, settle: bool = False) -> SweepPlan:
    """One fCaT sweep (or a short settle sweep, no light or stimulus, when the clamp changes)."""
    amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
    vc = condition == "reversal"
    return calcium_sweep(profile, step_index=step_index, step_name=step.name or "fcat", kind="fcat",
                         sweep_in_step=sweep, amplifier=amp, mode="VC" if vc else "CC",
                         holding=reversal_mV if vc else step.cc_holding_pA,
                         duration_ms=20.0 if settle else step.sweep_ms, imaging=None if settle else step.imaging,
                         stimulus=None if settle else step.stimulus, stimuli_ms=() if settle else (step.stimulus_ms,),
                         condition=step.condition, interval_after_s=max(step.interval_s, 1.0) if settle else step.interval_s,
                         meta=SweepMeta(role="settle" if settle else condition,
                                        kind_meta=FcatMeta(step.stimulus_ms)))


class FcatProgram:
    """Plans made at run time from the reversal potential in the RunContext (or the step's fixed holding)."""

    adaptive = False

    def __init__(self, step: FcatStep, step_index: int, profile: HardwareProfile):
        self.step, self.step_index, self.profile = step, step_index, profile
        self._plans: list[SweepPlan] | None = None

    @property
    def planned_sweeps(self) -> int:
        """Every sweep the step will run: the measuring sweeps and a settle sweep at every clamp change."""
        order = condition_order(self.step)
        return len(order) + sum(1 for k, c in enumerate(order) if k == 0 or c != order[k - 1])

    def envelope(self) -> list[SweepPlan]:
        """VC sweeps at both ends of the allowed holding range and one CC sweep."""
        low, high = self.step.holding_range_mV
        return [fcat_sweep(self.step, self.step_index, self.profile, 0, "reversal", low),
                fcat_sweep(self.step, self.step_index, self.profile, 1, "reversal", high),
                fcat_sweep(self.step, self.step_index, self.profile, 2, "cc", 0.0)]

    def plans_for(self, reversal_mV: float) -> list[SweepPlan]:
        """Every sweep, with a settle sweep wherever the clamp mode or holding changes."""
        plans: list[SweepPlan] = []
        previous: str | None = None
        for condition in condition_order(self.step):
            if condition != previous:
                plans.append(fcat_sweep(self.step, self.step_index, self.profile, len(plans), condition, reversal_mV,
                                        settle=True))
            plans.append(fcat_sweep(self.step, self.step_index, self.profile, len(plans), condition, reversal_mV))
            previous = condition
        return plans

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """Plans in order; the first call reads the reversal potential."""
        if self._plans is None:
            holding = self.step.reversal_holding
            value = context.get("reversal_mV") if holding == "reversal" else float(holding)
            low, high = self.step.holding_range_mV
            if not low <= value <= high:
                raise StepFailed(f"fcat: reversal potential {value:.2f} mV is outside this step's holding_range_mV "
                                 f"[{low:g}, {high:g}] (checked before the run); widen it if that potential is right")
            self._plans = self.plans_for(value)
        return self._plans.pop(0) if self._plans else None


class FcatKind:
    """The fCaT step kind."""

    schema = FcatStep
    fixed_plans = False  # the VC holding is the reversal an earlier step finds

    def check(self, step: FcatStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus, holding range and CC holding within the profile's limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_imaging(profile, step.imaging) + check_stimulus(profile, step.stimulus)
        problems += check_condition(step.condition) + check_current(profile, amp, step.cc_holding_pA, 0.0, "cc_holding_pA")
        if amp is not None:
            low, high = profile.amplifier(amp).limits.holding_mV
            if step.holding_range_mV[0] < low or step.holding_range_mV[1] > high:
                problems.append(StepProblem("holding_range_mV", f"{list(step.holding_range_mV)} mV reaches outside "
                                            f"the profile limit [{low:g}, {high:g}] mV (devices.{amp}.limits.holding_mV)"))
        return problems

    def analysis(self, step: FcatStep) -> FcatAnalysis:
        """A fresh online analysis."""
        return FcatAnalysis(step)

    def program(self, step: FcatStep, step_index: int, profile: HardwareProfile, analysis: object) -> FcatProgram:
        """Plans built when the step starts."""
        return FcatProgram(step, step_index, profile)
