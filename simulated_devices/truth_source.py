"""The simulated rig's truth source: the true parameters of the spine a plan targets."""

from __future__ import annotations

from rig.engine.sweep_plan import SweepPlan
from simulated_devices.specimen import Specimen


class SpecimenTruth:
    """Truth source over the shared specimen: the spine a plan targets, as it is now."""

    def __init__(self, specimen: Specimen):
        self.specimen = specimen

    def truth_for(self, plan: SweepPlan) -> dict[str, float]:
        """True parameters of the spine nearest the plan's target point (empty if none)."""
        if plan.target_um is None:
            return {}
        index = self.specimen.nearest_spine(plan.target_um)
        s = self.specimen
        return {"spine_index": float(index)} | s.spine_truth(index) | s.epsp_truth(index) | s.calcium_truth(index)

    def describe(self) -> dict[str, object]:
        """The whole specimen."""
        return self.specimen.describe()
