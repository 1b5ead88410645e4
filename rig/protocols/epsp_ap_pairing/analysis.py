"""Online analysis of the epsp_ap_pairing step."""

from __future__ import annotations

import numpy as np

from rig.analysis.ap_calcium import supralinearity_index
from rig.datatypes.records import Estimate, Feature
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.epsp_ap_pairing.schema import CONDITIONS, EpspApPairingStep
from rig.protocols.shared.ap_scan import TraceCollector
from rig.protocols.shared.calcium_steps import window_mean
from rig.protocols.shared.calcium_transients import z_of
from rig.protocols.shared.common import AnalysisUpdate


class EpspApPairingAnalysis:
    """Per-sweep mean dG/R in the window; supralinearity of both orders once every condition has 2 sweeps."""

    def __init__(self, step: EpspApPairingStep):
        self.step = step
        self.collector = TraceCollector(step, "epsp_ap_pairing")
        self.amplitudes: dict[str, list[float]] = {c: [] for c in CONDITIONS}

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Add the sweep's amplitude; publish supralinearity_index (EPSPs first) and _after (APs first)."""
        update = AnalysisUpdate()
        trace = self.collector.add(sweep_index, plan, data, update)
        if trace is None:
            return update
        self.collector.ap_notice(sweep_index, plan, update)
        role, first = plan.meta.role, plan.meta.baseline_end_ms
        if first is None:
            raise ValueError("the pairing sweep names no baseline end")
        amp = window_mean(trace.times_ms, trace.dg_over_r, first, first + self.step.window_ms)
        self.amplitudes[role].append(amp)
        update.features.append(Feature(sweep_index, plan.step_name, f"amplitude_{role}", amp, float("nan"),
                                       float("nan"), "dG/R"))
        if min(len(v) for v in self.amplitudes.values()) < 2:
            return update
        z = z_of(self.step.confidence_level)
        a = self.amplitudes
        for paired, name in (("epsp_before_ap", "supralinearity_index"), ("epsp_after_ap",
                                                                           "supralinearity_index_after")):
            try:
                idx = supralinearity_index(np.asarray(a[paired]), np.asarray(a["epsp"]), np.asarray(a["ap"]))
            except ValueError:
                continue
            update.estimates.append(Estimate(sweep_index, plan.step_name, name, idx.value, idx.value - z * idx.se,
                                             idx.value + z * idx.se, "1",
                                             f"mean CaT {paired} / (EPSPs alone + APs alone), "
                                             f"{len(a[paired])} sweeps each, delta-method interval"))
        return update
