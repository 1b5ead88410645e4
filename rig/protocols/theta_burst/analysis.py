"""Online analysis of the theta_burst step."""

from __future__ import annotations

import math

from rig.analysis.responses import release_probability
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_steps import count_spikes
from rig.protocols.shared.common import AnalysisUpdate
from rig.protocols.theta_burst.schema import ThetaBurstStep


class ThetaBurstAnalysis:
    """Somatic APs per train (threshold crossings of the CC voltage) against the pulses given."""

    def __init__(self, step: ThetaBurstStep):
        self.step = step
        self.seen = 0
        self.given = 0

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Count this train's APs; publish the fraction of pulses that evoked one."""
        update = AnalysisUpdate()
        v = data.get(f"{plan.amplifier}.primary")
        if v is None:
            return update
        pulses = len(self.step.ap_onsets_ms())
        n = min(count_spikes(v), pulses)
        self.seen += n
        self.given += pulses
        update.features.append(Feature(sweep_index, plan.step_name, "aps_per_train", float(n), math.nan, math.nan,
                                       "1"))
        p = release_probability(self.seen, self.given)
        update.estimates.append(Estimate(sweep_index, plan.step_name, "ap_success_fraction", p.value, p.low, p.high,
                                         "1", f"{self.seen}/{self.given} current pulses followed by a somatic AP "
                                         "(crossing 0 mV); exact binomial interval"))
        if n < pulses:
            update.notices.append(Notice("warning", "theta_burst", f"train {plan.sweep_in_step + 1}: {n} APs for "
                                         f"{pulses} pulses", sweep_index))
        return update
