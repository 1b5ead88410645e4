"""bAP train: somatic CC current pulses evoke back-propagating APs; line-scan Ca amplitude per AP and decay."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from rig.analysis.ap_calcium import fit_decay, increments_per_event
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
from rig.protocols.calcium_steps import train_onsets_ms
from rig.protocols.calcium_transients import z_of
from rig.protocols.common import AnalysisUpdate, StepProblem


class BapTrainStep(CcScanStep):
    """A train of bAPs per sweep (2 ms current pulses) with a line scan through the spine head."""

    kind: Literal["bap_train"]
    n_aps: int = Field(default=5, ge=1, le=100)
    ap_rate_hz: float = Field(default=50.0, gt=0, le=500)
    first_ap_ms: float = Field(default=40.0, gt=0)
    rise_ms: float = Field(default=2.0, ge=0, description="from an AP to the start of its level window")
    level_window_ms: float = Field(default=6.0, gt=0, description="window of each level before/after an AP")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _windows(self) -> "BapTrainStep":
        if self.n_aps > 1 and self.rise_ms + self.level_window_ms > 1000.0 / self.ap_rate_hz:
            raise ValueError("rise_ms + level_window_ms must fit between two APs")
        return self

    def onsets_ms(self) -> list[float]:
        """AP pulse onsets."""
        return train_onsets_ms(self.first_ap_ms, self.n_aps, self.ap_rate_hz)


def _events(step: BapTrainStep) -> list[SweepEvents]:
    return [SweepEvents("bap_train", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]


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


class BapTrainKind:
    """The bap_train step kind."""

    schema = BapTrainStep

    def check(self, step: BapTrainStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, AP current (holding_pA limits) and timing."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: BapTrainStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One sweep per repeat, each with the same AP train."""
        return compile_cc_scan(step, step_index, profile, "bap_train", _events(step),
                               {"rise_ms": step.rise_ms, "level_window_ms": step.level_window_ms})

    def analysis(self, step: BapTrainStep) -> BapTrainAnalysis:
        """A fresh online analysis."""
        return BapTrainAnalysis(step)


KIND = BapTrainKind()
