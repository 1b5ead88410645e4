"""Paired APs: the Feller ratio a = (F3-F2)/(F1-F0) of a saturating indicator, and Delta[Ca] per AP.

Delta[Ca] per AP is the first AP's dG/R step converted to free Ca through the indicator's binding (Kd, F_max/F_min,
resting Ca: `calcium_signal.calcium_change_uM`), not Feller's ([Ca]0 + Kd)(1 - a)/(2a): that formula assumes equal
free-Ca steps at both APs and no decay between them, and with a dye-dominated buffer the second AP's free-Ca step is
larger (the dye buffers less when partly bound), so a overstates saturation (on the simulated 'slow' spine the
noise-free formula gave +7 % at rise 2/window 6 and -47 % at rise 4/window 4, against -2 % for the conversion).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import stats

from rig.analysis.ap_calcium import FellerLevels, calcium_per_ap_from_ratio, feller_levels, jackknife
from rig.analysis.calcium_signal import calcium_change_uM
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.ap_scan import (
    CcScanStep,
    SweepEvents,
    TraceCollector,
    check_cc_scan,
    compile_cc_scan,
    stack_estimate,
)
from rig.protocols.common import AnalysisUpdate, StepProblem


class PairedApStep(CcScanStep):
    """Two bAPs per sweep, spacing_ms apart; the second increment over the first calibrates the indicator."""

    kind: Literal["paired_ap"]
    first_ap_ms: float = Field(default=40.0, gt=0)
    spacing_ms: float = Field(default=20.0, gt=0)
    rise_ms: float = Field(default=4.0, ge=0, description="from an AP pulse onset to its level window: the bAP "
                           "and the head Ca rise take ~4 ms (the window must start on the plateau)")
    level_window_ms: float = Field(default=4.0, gt=0)
    rest_ca_nM: float = Field(default=75.0, ge=0, description="resting [Ca] (assumed)")
    kd_nM: float = Field(default=800.0, gt=0, description="indicator Kd (fluo-5F 0.8 uM)")
    indicator_dynamic_range: float = Field(default=15.0, gt=1, description="F_max/F_min of the indicator as imaged")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _windows(self) -> "PairedApStep":
        if self.rise_ms + 2 * self.level_window_ms > self.spacing_ms:
            raise ValueError("spacing_ms must hold rise_ms + two level windows (F1 after AP1, F2 before AP2)")
        if self.level_window_ms > self.first_ap_ms:
            raise ValueError("level_window_ms must fit before the first AP")
        return self

    def onsets_ms(self) -> list[float]:
        """The two AP pulse onsets."""
        return [self.first_ap_ms, self.first_ap_ms + self.spacing_ms]


def _events(step: PairedApStep) -> list[SweepEvents]:
    return [SweepEvents("paired_ap", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]


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
        q = float(stats.t.ppf(0.5 + s.confidence_level / 2, n - 1))  # jackknife SD on n - 1 degrees of freedom
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


class PairedApKind:
    """The paired_ap step kind."""

    schema = PairedApStep

    def check(self, step: PairedApStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, AP current (holding_pA limits) and timing."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: PairedApStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One sweep per repeat with two AP pulses."""
        return compile_cc_scan(step, step_index, profile, "paired_ap", _events(step),
                               {"rise_ms": step.rise_ms, "level_window_ms": step.level_window_ms})

    def analysis(self, step: PairedApStep) -> PairedApAnalysis:
        """A fresh online analysis."""
        return PairedApAnalysis(step)


KIND = PairedApKind()
