"""The theta_burst step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from dataclasses import replace

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApTrainMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_scan import calcium_sweep, check_condition, check_current
from rig.protocols.shared.calcium_steps import ap_pulses, check_ap_current
from rig.protocols.shared.common import StepProblem, resolve_device
from rig.protocols.shared.kind import FixedPlanKind
from rig.protocols.theta_burst.analysis import ThetaBurstAnalysis
from rig.protocols.theta_burst.schema import ThetaBurstStep


class ThetaBurstKind(FixedPlanKind[ThetaBurstStep]):
    """The theta_burst step kind."""

    schema = ThetaBurstStep

    def check(self, step: ThetaBurstStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier, condition, CC holding and AP current within the holding_pA limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_condition(step.condition) + check_current(profile, amp, step.cc_holding_pA, 0.0,
                                                                    "cc_holding_pA")
        return problems + check_ap_current(profile, amp, step.cc_holding_pA, step.ap_pulse)

    def compile(self, step: ThetaBurstStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One CC sweep per train; the pause to the next train is the sweep's interval."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        period_s = 1.0 / step.train_rate_hz
        pulses = ap_pulses(step.ap_onsets_ms(), step.ap_pulse)
        plans = []
        for k in range(step.trains):
            last = k == step.trains - 1
            plan = calcium_sweep(
                profile, step_index=step_index, step_name=step.name or "theta_burst", kind="theta_burst",
                sweep_in_step=k, amplifier=amp, mode="CC", holding=step.cc_holding_pA, duration_ms=step.train_ms(),
                current_pulses=pulses, condition=step.condition, sample_rate_hz=step.sample_rate_hz,
                meta=SweepMeta(role="train", kind_meta=ApTrainMeta(tuple(step.ap_onsets_ms()))))
            # trains start every 1/train_rate_hz: the pause is the period minus the sweep itself
            plans.append(replace(plan, interval_after_s=0.0 if last else max(0.0, period_s - plan.duration_s)))
        return plans

    def analysis(self, step: ThetaBurstStep) -> ThetaBurstAnalysis:
        """A fresh online analysis."""
        return ThetaBurstAnalysis(step)
