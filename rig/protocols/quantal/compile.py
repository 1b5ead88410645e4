"""The quantal step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.quantal.analysis import QuantalAnalysis
from rig.protocols.quantal.schema import QuantalStep
from rig.protocols.shared.ap_scan import SweepEvents, check_cc_scan, compile_cc_scan
from rig.protocols.shared.common import StepProblem


def _events(step: QuantalStep) -> list[SweepEvents]:
    return [SweepEvents("shock", stimuli_ms=[step.stimulus_ms]) for _ in range(step.sweeps)]


class QuantalKind:
    """The quantal step kind."""

    schema = QuantalStep

    def check(self, step: QuantalStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus and timing against the profile."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: QuantalStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One single-shock sweep per repeat."""
        return compile_cc_scan(step, step_index, profile, "quantal", _events(step))

    def analysis(self, step: QuantalStep) -> QuantalAnalysis:
        """A fresh online analysis."""
        return QuantalAnalysis(step)
