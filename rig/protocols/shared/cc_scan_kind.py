"""The one implementation of the line-scan current-clamp calcium kinds: a kind says what its sweeps do, the rest
(checks, plans, analysis construction) is shared."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Callable, ClassVar, TypeVar

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApScanMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.ap_scan import CcScanStep, SweepEvents, check_cc_scan, compile_cc_scan
from rig.protocols.shared.common import StepProblem, SweepAnalysis
from rig.protocols.shared.kind import FixedPlanKind

CcStepT = TypeVar("CcStepT", bound=CcScanStep)


class CcScanKind(FixedPlanKind[CcStepT]):
    """A line-scan CC calcium kind: one plan per entry of `sweep_events`, each checked against the profile."""

    analysis_type: ClassVar[Callable[..., SweepAnalysis]]
    meta_type: ClassVar[type[ApScanMeta]] = ApScanMeta  # the kind's sweep metadata

    @abstractmethod
    def sweep_events(self, step: CcStepT) -> list[SweepEvents]:
        """What each sweep does (AP and stimulus onsets, role), in order."""

    def analysis_windows(self, step: CcStepT) -> dict[str, Any]:
        """The fields `meta_type` adds to the AP scan's: the analysis windows every plan records (the simulated
        truth measures with the same windows)."""
        return {}

    def check(self, step: CcStepT, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, condition, CC holding, AP current, stimulus and timing of every kind of sweep."""
        first_of_role: dict[str, SweepEvents] = {}
        for events in self.sweep_events(step):
            first_of_role.setdefault(events.role, events)
        return check_cc_scan(step, profile, list(first_of_role.values()))

    def compile(self, step: CcStepT, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One line-scan CC sweep per entry of `sweep_events`."""
        return compile_cc_scan(step, step_index, profile, step.kind, self.sweep_events(step), self.meta_type,
                               **self.analysis_windows(step))

    def analysis(self, step: CcStepT) -> SweepAnalysis:
        """A fresh online analysis."""
        return self.analysis_type(step)
