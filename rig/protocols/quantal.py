"""Optical quantal analysis: hundreds of single-shock sweeps, success/failure of the head CaT per sweep.

A sweep succeeds when its template amplitude exceeds `threshold_sd` x the SD the same template gives on
its baseline noise (the 2.5 SD rule with the template as matched filter, as in fCaT). Release probability
= successes / sweeps with an exact (Clopper-Pearson) binomial interval.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from rig.analysis.responses import release_probability
from rig.config.profile import HardwareProfile
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan
from rig.protocols.ap_scan import CcScanStep, SweepEvents, TraceCollector, check_cc_scan, compile_cc_scan
from rig.protocols.calcium_transients import ConditionTransients
from rig.protocols.common import AnalysisUpdate, StepProblem


class QuantalStep(CcScanStep):
    """Single synaptic stimuli, one per sweep, many sweeps."""

    kind: Literal["quantal"]
    sweeps: int = Field(default=200, ge=2, le=10000)
    stimulus_ms: float = Field(default=30.0, gt=0)
    sweep_ms: float = Field(default=150.0, gt=0)
    threshold_sd: float = Field(default=2.5, gt=0)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _timing(self) -> "QuantalStep":
        if self.stimulus_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave at least 20 ms after stimulus_ms")
        return self


def _events(step: QuantalStep) -> list[SweepEvents]:
    return [SweepEvents("shock", stimuli_ms=[step.stimulus_ms]) for _ in range(step.sweeps)]


class QuantalAnalysis:
    """Template of the average, amplitude and success of every sweep, release probability."""

    def __init__(self, step: QuantalStep):
        self.step = step
        self.collector = TraceCollector(step, "quantal")
        self.transients = ConditionTransients(step.stimulus_ms, threshold_sd=step.threshold_sd, model="free")
        self._warned = False

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Add the sweep, rebuild the template from the successes, re-decide every sweep, publish p with its interval."""
        update = AnalysisUpdate()
        trace = self.collector.add(sweep_index, plan, data, update)
        if trace is None:
            return update
        t = self.transients
        t.add(sweep_index, trace)
        if not t.fitted and not self._warned:
            self._warned = True
            update.notices.append(Notice("warning", "quantal", f"sweep {sweep_index + 1}: no success detected yet; "
                                         f"calls use the {t.source or 'prior shape'} "
                                         "until one is", sweep_index))
        s, name = self.step, plan.step_name
        amplitudes, successes = t.amplitudes(), t.successes(s.threshold_sd)
        update.features += [Feature(sweep_index, name, "amplitude", float(amplitudes[-1]), math.nan, math.nan, "dG/R"),
                            Feature(sweep_index, name, "success", float(successes[-1]), math.nan, math.nan, "1")]
        p = release_probability(int(successes.sum()), successes.size, s.confidence_level)
        update.estimates.append(Estimate(sweep_index, name, "release_probability", p.value, p.low, p.high, "1",
                                         f"{p.successes}/{p.trials} sweeps with a CaT above {s.threshold_sd:g} x "
                                         "baseline-noise SD (template as matched filter); exact binomial interval"))
        if successes.sum() >= 2:
            hits = amplitudes[successes]
            half = 2 * float(hits.std(ddof=1)) / math.sqrt(hits.size)
            update.estimates.append(Estimate(sweep_index, name, "potency", float(hits.mean()),
                                             float(hits.mean()) - half, float(hits.mean()) + half, "dG/R",
                                             "mean amplitude of the successes (mean +- 2 SE)"))
        return update


class QuantalKind:
    """The quantal step kind."""

    schema = QuantalStep

    def check(self, step: QuantalStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus and timing against the profile."""
        return check_cc_scan(step, profile, _events(step)[:1])

    def compile(self, step: QuantalStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One single-shock sweep per repeat."""
        return compile_cc_scan(step, step_index, profile, "quantal", _events(step))

    def analysis(self, step: QuantalStep) -> QuantalAnalysis:
        """A fresh online analysis."""
        return QuantalAnalysis(step)


KIND = QuantalKind()
