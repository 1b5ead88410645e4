"""The hyperpolarizing_steps step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import CurrentStepMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.hyperpolarizing_steps.analysis import HyperpolarizingStepsAnalysis
from rig.protocols.hyperpolarizing_steps.program import ReversalStampedProgram
from rig.protocols.hyperpolarizing_steps.schema import HyperpolarizingStepsStep
from rig.protocols.shared.calcium_scan import calcium_sweep, check_condition, check_current, check_stimulus
from rig.protocols.shared.common import StepProblem, resolve_device


class HyperpolarizingStepsKind:
    """The hyperpolarizing_steps step kind."""

    schema = HyperpolarizingStepsStep
    fixed_plans = False  # the plans are stamped with the reversal an earlier step found when the step starts

    def check(self, step: HyperpolarizingStepsStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier, stimulus, condition and every step current within the holding_pA limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_stimulus(profile, step.stimulus) + check_condition(step.condition)
        for k, level in enumerate(step.steps_pA):
            problems += check_current(profile, amp, step.cc_holding_pA, level, f"steps_pA.{k}")
        return problems

    def compile(self, step: HyperpolarizingStepsStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """`sweeps` sweeps per step amplitude, amplitudes interleaved."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        plans = []
        for k in range(step.sweeps * len(step.steps_pA)):
            level = step.steps_pA[k % len(step.steps_pA)]
            plans.append(calcium_sweep(
                profile, step_index=step_index, step_name=step.name or "hyperpolarizing_steps",
                kind="hyperpolarizing_steps", sweep_in_step=k, amplifier=amp, mode="CC", holding=step.cc_holding_pA,
                duration_ms=step.sweep_ms, stimulus=step.stimulus, stimuli_ms=step.stimuli_ms(),
                current_pulses=((step.step_onset_ms, step.step_ms, level),), condition=step.condition,
                meta=SweepMeta(role="step", kind_meta=CurrentStepMeta(level)), interval_after_s=step.interval_s,
                sample_rate_hz=step.sample_rate_hz))
        return plans

    def analysis(self, step: HyperpolarizingStepsStep) -> HyperpolarizingStepsAnalysis:
        """A fresh online analysis."""
        return HyperpolarizingStepsAnalysis(step)

    def program(self, step: HyperpolarizingStepsStep, step_index: int, profile: HardwareProfile,
                analysis: object) -> ReversalStampedProgram:
        """The compiled sweeps, each told the E_syn of the driving-force check when the step starts."""
        return ReversalStampedProgram(step, step_index, self.compile(step, step_index, profile))
