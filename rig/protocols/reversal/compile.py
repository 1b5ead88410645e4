"""The reversal step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.reversal.analysis import ReversalAnalysis
from rig.protocols.reversal.program import ReversalProgram
from rig.protocols.reversal.schema import ReversalStep
from rig.protocols.shared.calcium_scan import (
    check_condition,
    check_stimulus,
)
from rig.protocols.shared.common import StepProblem, resolve_device


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
