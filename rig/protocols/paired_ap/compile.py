"""The paired_ap step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApLevelsMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.paired_ap.analysis import PairedApAnalysis
from rig.protocols.paired_ap.schema import PairedApStep
from rig.protocols.shared.ap_scan import (
    SweepEvents,
    check_cc_scan,
    compile_cc_scan,
)
from rig.protocols.shared.common import StepProblem


def _events(step: PairedApStep) -> list[SweepEvents]:
    return [SweepEvents("paired_ap", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]


class PairedApKind:
    """The paired_ap step kind."""

    schema = PairedApStep

    def check(self, step: PairedApStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, AP current (holding_pA limits) and timing."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: PairedApStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One sweep per repeat with two AP pulses."""
        return compile_cc_scan(step, step_index, profile, "paired_ap", _events(step), ApLevelsMeta,
                               rise_ms=step.rise_ms, level_window_ms=step.level_window_ms)

    def analysis(self, step: PairedApStep) -> PairedApAnalysis:
        """A fresh online analysis."""
        return PairedApAnalysis(step)
