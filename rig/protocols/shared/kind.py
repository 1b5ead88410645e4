"""The step-kind contract: what every kind provides, and the base class of kinds whose sweeps are fixed in advance."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, Protocol, TypeVar

from rig.config.base import StrictModel
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import FixedProgram, StepProgram
from rig.protocols.shared.common import StepProblem, SweepAnalysis

StepT = TypeVar("StepT", bound=StrictModel)
StepT_contra = TypeVar("StepT_contra", bound=StrictModel, contravariant=True)


class StepKind(Protocol[StepT_contra]):
    """What a kind's package exports as KIND: its schema, step checks, online analysis and program."""

    schema: type[StrictModel]
    fixed_plans: bool  # True: the program runs plans known before the run in order (a step's `until:` may cut it)

    def check(self, step: StepT_contra, profile: HardwareProfile) -> list[StepProblem]:
        """Problems of the step against the profile (devices, limits)."""

    def analysis(self, step: StepT_contra) -> SweepAnalysis | None:
        """A fresh online analysis for the step, or None."""

    def program(self, step: StepT_contra, step_index: int, profile: HardwareProfile,
                analysis: SweepAnalysis | None) -> StepProgram:
        """The step's sweeps for one run: their envelope (checked before the run) and the plan of each sweep."""


class FixedPlanKind(ABC, Generic[StepT]):
    """A kind whose sweeps are all known before the run: write `compile`; its program runs those plans in order."""

    schema: ClassVar[type[StrictModel]]
    fixed_plans: ClassVar[bool] = True

    @abstractmethod
    def check(self, step: StepT, profile: HardwareProfile) -> list[StepProblem]:
        """Problems of the step against the profile (devices, limits)."""

    @abstractmethod
    def compile(self, step: StepT, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """Every sweep plan of the step, in order."""

    def analysis(self, step: StepT) -> SweepAnalysis | None:
        """No online analysis unless the kind has one."""
        return None

    def program(self, step: StepT, step_index: int, profile: HardwareProfile,
                analysis: SweepAnalysis | None) -> FixedProgram:
        """The compiled plans, in order."""
        return FixedProgram(step_index, self.compile(step, step_index, profile))
