"""Online analysis of the paired_ap step."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.ap_calcium import FellerLevels, calcium_per_ap_from_ratio, feller_levels, jackknife
from rig.analysis.calcium_signal import calcium_change_uM
from rig.analysis.confidence import two_sided_t
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.paired_ap.schema import PairedApStep
from rig.protocols.shared.ap_scan import (
    TraceCollector,
    stack_estimate,
)
from rig.protocols.shared.common import AnalysisUpdate


class PairedApAnalysis:
    """Levels F0..F3 of the averaged dG/R; a and Delta[Ca] per AP with jackknife intervals over sweeps."""

    def __init__(self, step: PairedApStep):
        self.step = step
        self.collector = TraceCollector(step, "paired_ap")
        self._warned = False

    def _levels(self, t, y) -> FellerLevels:
        s = self.step
        ap1, ap2 = s.onsets_ms()
        return feller_levels(t, y, ap1, ap2, s.rise_ms, s.level_window_ms)

    def _ratio(self, t, y) -> float:
        return self._levels(t, y).ratio

    def _calcium_nM(self, t, y, g_over_r_rest: float) -> float:
        s = self.step
        lv = self._levels(t, y)
        return 1e3 * float(calcium_change_uM(lv.f1 - lv.f0, g_over_r_rest, s.kd_nM / 1e3, s.indicator_dynamic_range,
                                             s.rest_ca_nM / 1e3))

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Add the sweep; publish the Feller ratio and Delta[Ca] per AP when they are bounded."""
        update = AnalysisUpdate()
        trace = self.collector.add(sweep_index, plan, data, update)
        if trace is None:
            return update
        self.collector.ap_notice(sweep_index, plan, update)
        s, name, t = self.step, plan.step_name, trace.times_ms
        try:
            update.features.append(Feature(sweep_index, name, "feller_ratio", self._ratio(t, trace.dg_over_r),
                                           math.nan, math.nan, "1"))
        except ZeroDivisionError:
            pass
        stack = self.collector.stack("paired_ap")
        n = stack.shape[0]
        if n < 2:
            return update
        q = two_sided_t(s.confidence_level, n - 1)  # jackknife SD on n - 1 degrees of freedom
        g0 = float(np.mean([tr.g_over_r_baseline for tr in self.collector.traces["paired_ap"]]))
        basis = f"levels of the averaged head dG/R ({n} sweeps, jackknife interval, Student t on {n - 1} df); "
        a, sd = jackknife(list(stack), lambda y: self._ratio(t, y))
        if math.isfinite(a) and math.isfinite(sd):
            update.estimates.append(Estimate(sweep_index, name, "feller_ratio", a, a - q * sd, a + q * sd, "1",
                                             basis + "a = (F3-F2)/(F1-F0)"))
        feller = ""
        if 0 < a < 1:
            feller = (f"; Feller's ([Ca]0 + Kd)(1-a)/(2a) would give {calcium_per_ap_from_ratio(a, s.rest_ca_nM, s.kd_nM):.0f}"
                      " nM (assumes equal free-Ca steps and no decay between the APs)")
        est = stack_estimate(sweep_index, name, "ca_per_ap_nM", "nM", stack, lambda y: self._calcium_nM(t, y, g0),
                             s.confidence_level, "first AP's step F1 - F0 of the head dG/R as free Ca through the "
                             f"indicator's binding (Kd {s.kd_nM:g} nM, F_max/F_min {s.indicator_dynamic_range:g}, "
                             f"[Ca]0 {s.rest_ca_nM:g} nM; assumed){feller}")
        if est is None:
            self._notice(update, sweep_index, "no Delta[Ca] per AP yet: the first AP's dG/R step is not finite")
        else:
            update.estimates.append(est)
        return update

    def _notice(self, update: AnalysisUpdate, sweep_index: int, message: str) -> None:
        if not self._warned:
            self._warned = True
            update.notices.append(Notice("warning", "paired_ap", message, sweep_index))
