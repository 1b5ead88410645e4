"""The bap_train step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApLevelsMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.bap_train.analysis import BapTrainAnalysis
from rig.protocols.bap_train.schema import BapTrainStep
from rig.protocols.shared.ap_scan import (
    SweepEvents,
    check_cc_scan,
    compile_cc_scan,
)
from rig.protocols.shared.common import StepProblem


def _events(step: BapTrainStep) -> list[SweepEvents]:
    return [SweepEvents("bap_train", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]


class BapTrainKind:
    """The bap_train step kind."""

    schema = BapTrainStep

    def check(self, step: BapTrainStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, AP current (holding_pA limits) and timing."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: BapTrainStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One sweep per repeat, each with the same AP train."""
        return compile_cc_scan(step, step_index, profile, "bap_train", _events(step), ApLevelsMeta,
                               rise_ms=step.rise_ms, level_window_ms=step.level_window_ms)

    def analysis(self, step: BapTrainStep) -> BapTrainAnalysis:
        """A fresh online analysis."""
        return BapTrainAnalysis(step)
