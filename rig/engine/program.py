"""Step programs: a step's sweeps, fixed in advance or chosen during the run from what earlier sweeps showed.

Every program declares an *envelope*: plans that bound every plan it may produce (e.g. the
lowest and highest holding of a reversal search). The envelope is checked against the
profile before anything moves; each plan produced during the run is checked again before
it runs. Values found during the run (a reversal potential) go into the RunContext, where
later steps read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from rig.datatypes.sweep_plan import SweepPlan


class StepFailed(Exception):
    """A step could not do its job (e.g. the synaptic current never reversed); the run ends with this message."""


@dataclass
class RunContext:
    """Values found during the run, each with the step that found it."""

    values: dict[str, float] = field(default_factory=dict)
    found_by: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, value: float, step: str) -> None:
        """Record a value found by a step."""
        self.values[name] = value
        self.found_by[name] = step

    def get(self, name: str) -> float:
        """A value an earlier step found; StepFailed if none did."""
        if name not in self.values:
            raise StepFailed(f"no earlier step found '{name}' (add the step that measures it before this one)")
        return self.values[name]


class StepProgram(Protocol):
    """The sweeps of one step."""

    step_index: int

    @property
    def adaptive(self) -> bool:
        """True: the next next_plan call needs the online analysis of every earlier sweep first (asked before
        every call: a program may wait only at some sweeps)."""

    @property
    def planned_sweeps(self) -> int:
        """Sweeps expected (adaptive programs: the expected count; they may run more or fewer)."""

    def envelope(self) -> list[SweepPlan]:
        """Plans bounding every plan this program may produce (checked before the run)."""

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The next sweep to run, or None when the step is done."""


class FixedProgram:
    """A step whose sweeps are all known in advance."""

    adaptive = False

    def __init__(self, step_index: int, plans: list[SweepPlan]):
        self.step_index = step_index
        self._plans = list(plans)
        self._next = 0

    @property
    def planned_sweeps(self) -> int:
        """Exactly its plans."""
        return len(self._plans)

    def envelope(self) -> list[SweepPlan]:
        """All its plans."""
        return list(self._plans)

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """Plans in order."""
        if self._next >= len(self._plans):
            return None
        self._next += 1
        return self._plans[self._next - 1]


def planned_sweeps(program: StepProgram) -> int:
    """The sweeps a program expects to run (adaptive programs may run more or fewer)."""
    return int(program.planned_sweeps)
