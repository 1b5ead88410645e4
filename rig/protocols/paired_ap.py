"""Paired APs: Feller calibration of a saturating indicator, a = (F3-F2)/(F1-F0) -> Delta[Ca] per AP."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from rig.analysis.ap_calcium import calcium_per_ap_from_ratio, feller_levels, jackknife
from rig.config.profile import HardwareProfile
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan
from rig.protocols.ap_scan import CcScanStep, SweepEvents, TraceCollector, check_cc_scan, compile_cc_scan
from rig.protocols.calcium_transients import z_of
from rig.protocols.common import AnalysisUpdate, StepProblem


class PairedApStep(CcScanStep):
    """Two bAPs per sweep, spacing_ms apart; the second increment over the first calibrates the indicator."""

    kind: Literal["paired_ap"]
    first_ap_ms: float = Field(default=40.0, gt=0)
    spacing_ms: float = Field(default=20.0, gt=0)
    rise_ms: float = Field(default=2.0, ge=0)
    level_window_ms: float = Field(default=6.0, gt=0)
    rest_ca_nM: float = Field(default=75.0, ge=0, description="resting [Ca] (assumed)")
    kd_nM: float = Field(default=800.0, gt=0, description="indicator Kd (fluo-5F 0.8 uM)")
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
    """Levels F0..F3 of the averaged dG/R; a with a jackknife interval over sweeps; Delta[Ca] per AP."""

    def __init__(self, step: PairedApStep):
        self.step = step
        self.collector = TraceCollector(step, "paired_ap")
        self._warned = False

    def _ratio(self, t, y) -> float:
        s = self.step
        ap1, ap2 = s.onsets_ms()
        return feller_levels(t, y, ap1, ap2, s.rise_ms, s.level_window_ms).ratio

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
        if stack.shape[0] < 2:
            return update
        a, sd = jackknife(list(stack), lambda y: self._ratio(t, y))
        z = z_of(s.confidence_level)
        low, high = a - z * sd, a + z * sd
        if not (math.isfinite(a) and math.isfinite(sd) and 0 < low and a < 1):
            self._notice(update, sweep_index, f"Feller ratio a = {a:.3f} +- {sd:.3f}: not inside (0, 1) with "
                         "confidence (indicator not saturating, or no AP response?); no Delta[Ca] per AP yet")
            return update
        basis = (f"a = (F3-F2)/(F1-F0) of the averaged dG/R ({stack.shape[0]} sweeps, jackknife interval); ")
        update.estimates.append(Estimate(sweep_index, name, "feller_ratio", a, low, min(high, 1.0), "1", basis))
        ca = calcium_per_ap_from_ratio(a, s.rest_ca_nM, s.kd_nM)
        ca_high = calcium_per_ap_from_ratio(low, s.rest_ca_nM, s.kd_nM)
        ca_low = calcium_per_ap_from_ratio(high, s.rest_ca_nM, s.kd_nM) if high < 1 else 0.0
        update.estimates.append(Estimate(sweep_index, name, "ca_per_ap_nM", ca, ca_low, ca_high, "nM",
                                         basis + f"Delta[Ca] = ([Ca]0 + Kd)(1-a)/(2a) with [Ca]0 = {s.rest_ca_nM:g} "
                                         f"nM, Kd = {s.kd_nM:g} nM (assumed); no decay between the APs assumed"))
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
        return compile_cc_scan(step, step_index, profile, "paired_ap", _events(step))

    def analysis(self, step: PairedApStep) -> PairedApAnalysis:
        """A fresh online analysis."""
        return PairedApAnalysis(step)


KIND = PairedApKind()
