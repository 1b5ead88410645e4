"""The hyperpolarizing_steps step's program (sweeps chosen while it runs)."""

from __future__ import annotations

from dataclasses import replace

from rig.datatypes.kind_meta import CurrentStepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext
from rig.protocols.hyperpolarizing_steps.schema import HyperpolarizingStepsStep


class ReversalStampedProgram:
    """Fixed sweeps whose driving-force E_syn is the step's value or the reversal an earlier step found."""

    adaptive = False

    def __init__(self, step: HyperpolarizingStepsStep, step_index: int, plans: list[SweepPlan]):
        self.step, self.step_index = step, step_index
        self._plans, self._next = list(plans), 0

    @property
    def planned_sweeps(self) -> int:
        """Exactly its plans."""
        return len(self._plans)

    def envelope(self) -> list[SweepPlan]:
        """All its plans (E_syn changes no output)."""
        return list(self._plans)

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """Plans in order; the first call reads the reversal potential when the step asks for it."""
        if self._next == 0 and self.step.e_syn_mV == "reversal":
            e_syn, source = context.get("reversal_mV"), f"from step '{context.found_by['reversal_mV']}'"
            e_syn_mV = None if e_syn is None else float(e_syn)
            self._plans = [replace(p, meta=replace(p.meta, kind_meta=replace(
                p.meta.kind_as(CurrentStepMeta), e_syn_mV=e_syn_mV, e_syn_source=source))) for p in self._plans]
        if self._next >= len(self._plans):
            return None
        self._next += 1
        return self._plans[self._next - 1]
