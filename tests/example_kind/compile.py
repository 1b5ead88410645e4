"""The membrane_test step kind: checks against the profile and one plan per test pulse."""

from __future__ import annotations

import numpy as np

from example_kind.analysis import MembraneTestAnalysis
from example_kind.schema import MembraneTestStep
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_scan import check_current
from rig.protocols.shared.common import StepProblem, resolve_device
from rig.protocols.shared.kind import FixedPlanKind


class MembraneTestKind(FixedPlanKind[MembraneTestStep]):
    """The membrane_test step kind."""

    schema = MembraneTestStep

    def check(self, step: MembraneTestStep, profile: HardwareProfile) -> list[StepProblem]:
        """An amplifier exists; holding and holding + step within its holding_pA limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        return problems + check_current(profile, amp, step.holding_pA, step.step_pA, "step_pA")

    def compile(self, step: MembraneTestStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """`sweeps` identical sweeps: holding, step, holding (the last samples at holding: outputs end safe)."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        per_ms = step.sample_rate_hz / 1000.0
        n = int(round(step.duration_ms * per_ms))
        command = np.full(n, step.holding_pA, dtype=np.float32)
        start = int(round(step.baseline_ms * per_ms))
        command[start:start + int(round(step.step_ms * per_ms))] += step.step_pA
        inputs = (f"{amp}.primary",)
        return [SweepPlan(step_index=step_index, step_name=step.name or "membrane_test", kind="membrane_test",
                          sweep_in_step=k, sample_rate_hz=step.sample_rate_hz, n_samples=n,
                          outputs={f"{amp}.command": command}, inputs=inputs, amplifier=amp, amplifier_mode="CC",
                          interval_after_s=step.interval_s)
                for k in range(step.sweeps)]

    def analysis(self, step: MembraneTestStep) -> MembraneTestAnalysis:
        """A fresh online analysis."""
        return MembraneTestAnalysis(step)
