"""Online analysis of the bap_train step."""

from __future__ import annotations

import math

from rig.analysis.ap_calcium import fit_decay, increments_per_event
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.bap_train.schema import BapTrainStep
from rig.protocols.shared.ap_scan import (
    TraceCollector,
    stack_estimate,
)
from rig.protocols.shared.calcium_transients import z_of
from rig.protocols.shared.common import AnalysisUpdate


class BapTrainAnalysis:
    """Average dG/R of the sweeps; increment per AP (jackknife interval) and decay after the last AP."""

    def __init__(self, step: BapTrainStep):
        self.step = step
        self.collector = TraceCollector(step, "bap_train")
        self._decay_warned = False

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Add the sweep; publish amplitude per AP and decay of the averaged transient."""
        update = AnalysisUpdate()
        trace = self.collector.add(sweep_index, plan, data, update)
        if trace is None:
            return update
        self.collector.ap_notice(sweep_index, plan, update)
        s, name = self.step, plan.step_name
        onsets = s.onsets_ms()
        inc = increments_per_event(trace.times_ms, trace.dg_over_r, onsets, s.rise_ms, s.level_window_ms)
        update.features.append(Feature(sweep_index, name, "ca_amplitude_per_ap", float(inc.mean()), math.nan,
                                       math.nan, "dG/R"))
        stack = self.collector.stack("bap_train")
        t = trace.times_ms
        z = z_of(s.confidence_level)

        def mean_increment(y):
            return float(increments_per_event(t, y, onsets, s.rise_ms, s.level_window_ms).mean())

        def first_increment(y):
            return float(increments_per_event(t, y, onsets[:1], s.rise_ms, s.level_window_ms)[0])

        for est_name, statistic, what in (("ca_amplitude_per_ap", mean_increment,
                                           f"mean step of the head dG/R at each of {s.n_aps} APs"),
                                          ("ca_amplitude_first_ap", first_increment, "step at the first AP")):
            est = stack_estimate(sweep_index, name, est_name, "dG/R", stack, statistic, s.confidence_level, what)
            if est is not None:
                update.estimates.append(est)
        self._decay(sweep_index, name, t, stack.mean(axis=0), onsets[-1] + s.rise_ms, z, update)
        return update

    def _decay(self, sweep_index: int, name: str, t, mean, start_ms: float, z: float, update: AnalysisUpdate) -> None:
        try:
            fit = fit_decay(t, mean, start_ms)
        except ValueError as exc:
            fit, reason = None, str(exc)
        else:
            reason = "the exponential fit did not converge"
        if fit is None or not fit.converged or fit.tau_ms - z * fit.tau_sd_ms <= 0:
            if not self._decay_warned:
                self._decay_warned = True
                update.notices.append(Notice("warning", "bap_train", f"no decay estimate yet: {reason} "
                                             "(or its interval reaches 0)", sweep_index))
            return
        update.estimates.append(Estimate(sweep_index, name, "ca_decay_ms", fit.tau_ms, fit.tau_ms - z * fit.tau_sd_ms,
                                         fit.tau_ms + z * fit.tau_sd_ms, "ms", "single exponential fitted to the "
                                         "averaged dG/R after the last AP"))
