"""The hold step kind: checks, compile to plans, analysis."""

from __future__ import annotations

import math

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.hold.schema import HoldStep
from rig.protocols.shared.common import StepProblem, check_clamp, resolve_device
from rig.protocols.shared.kind import FixedPlanKind


class HoldKind(FixedPlanKind[HoldStep]):
    """The hold step kind."""

    schema = HoldStep

    def check(self, step: HoldStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier exists and holding is within limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        return problems + check_clamp(profile, amp, step.clamp, "clamp")

    def compile(self, step: HoldStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One plan per segment, back to back."""
        amp, _ = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        amp_spec = profile.amplifier(amp or "")
        n_segments = max(1, math.ceil(step.duration_s / step.segment_s - 1e-9))
        plans = []
        remaining = step.duration_s
        for k in range(n_segments):
            seg = min(step.segment_s, remaining)
            remaining -= seg
            n = max(1, int(round(seg * step.sample_rate_hz)))
            inputs = [f"{amp}.primary"] + ([f"{amp}.secondary"] if amp_spec.channels.secondary else [])
            plans.append(SweepPlan(
                step_index=step_index, step_name=step.name or "hold", kind="hold", sweep_in_step=k,
                sample_rate_hz=step.sample_rate_hz, n_samples=n,
                outputs={f"{amp}.command": np.full(n, step.clamp.holding, dtype=np.float32)},
                inputs=tuple(inputs), amplifier=amp, amplifier_mode=step.clamp.mode,
                meta=SweepMeta(holding=step.clamp.holding),
            ))
        return plans
