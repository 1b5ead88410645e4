"""EPSP-AP pairing: 3 EPSPs at 100 Hz before vs after a 2-3 bAP train; head CaT supralinearity index.

Four conditions, interleaved: EPSPs alone, APs alone, EPSPs before the APs (the last EPSP `gap_ms`
before the first AP) and EPSPs after them (the first EPSP `gap_ms` after the last AP). Amplitude of a
sweep: mean head dG/R over `window_ms` from its first event. Index = paired / (EPSP alone + AP alone).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.analysis.ap_calcium import supralinearity_index
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.ap_scan import CcScanStep, SweepEvents, TraceCollector, check_cc_scan, compile_cc_scan
from rig.protocols.calcium_steps import train_onsets_ms, window_mean
from rig.protocols.calcium_transients import z_of
from rig.protocols.common import AnalysisUpdate, StepProblem

CONDITIONS = ("epsp", "ap", "epsp_before_ap", "epsp_after_ap")


class EpspApPairingStep(CcScanStep):
    """EPSP trains (extracellular stimulus) paired with bAP trains (CC current pulses) in both orders."""

    kind: Literal["epsp_ap_pairing"]
    n_epsps: int = Field(default=3, ge=1, le=10)
    epsp_rate_hz: float = Field(default=100.0, gt=0, le=500)
    n_aps: int = Field(default=2, ge=1, le=10)
    ap_rate_hz: float = Field(default=100.0, gt=0, le=500)
    gap_ms: float = Field(default=5.0, ge=0, description="between the two trains (end event to start event)")
    first_event_ms: float = Field(default=40.0, gt=0)
    window_ms: float = Field(default=80.0, gt=0, description="amplitude: mean dG/R this long from the first event")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    def events(self, condition: str) -> SweepEvents:
        """Stimulus and AP onsets of one condition."""
        t0 = self.first_event_ms
        epsp_span = (self.n_epsps - 1) * 1000.0 / self.epsp_rate_hz
        ap_span = (self.n_aps - 1) * 1000.0 / self.ap_rate_hz
        epsp_at, ap_at = {"epsp": (t0, None), "ap": (None, t0),
                          "epsp_before_ap": (t0, t0 + epsp_span + self.gap_ms),
                          "epsp_after_ap": (t0 + ap_span + self.gap_ms, t0)}[condition]
        return SweepEvents(condition,
                           ap_ms=[] if ap_at is None else train_onsets_ms(ap_at, self.n_aps, self.ap_rate_hz),
                           stimuli_ms=[] if epsp_at is None else train_onsets_ms(epsp_at, self.n_epsps,
                                                                                 self.epsp_rate_hz))


def _events(step: EpspApPairingStep) -> list[SweepEvents]:
    return [step.events(c) for _ in range(step.sweeps) for c in CONDITIONS]


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
        role, first = str(plan.parameters["role"]), float(plan.parameters["baseline_end_ms"])
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
                idx = supralinearity_index(a[paired], a["epsp"], a["ap"])
            except ValueError:
                continue
            update.estimates.append(Estimate(sweep_index, plan.step_name, name, idx.value, idx.value - z * idx.se,
                                             idx.value + z * idx.se, "1",
                                             f"mean CaT {paired} / (EPSPs alone + APs alone), "
                                             f"{len(a[paired])} sweeps each, delta-method interval"))
        return update


class EpspApPairingKind:
    """The epsp_ap_pairing step kind."""

    schema = EpspApPairingStep

    def check(self, step: EpspApPairingStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus, AP current (holding_pA limits) and timing of every condition."""
        problems = check_cc_scan(step, profile, [step.events(c) for c in CONDITIONS])
        last = max(max(e.ap_ms + e.stimuli_ms) for e in (step.events(c) for c in CONDITIONS))
        if step.first_event_ms + step.window_ms > step.sweep_ms:
            problems.append(StepProblem("window_ms", f"the window ends after sweep_ms ({step.sweep_ms:g} ms)"))
        if last > step.first_event_ms + step.window_ms:
            problems.append(StepProblem("window_ms", f"the last event ({last:g} ms) falls after the window"))
        return problems

    def compile(self, step: EpspApPairingStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """`sweeps` rounds of the four conditions, interleaved."""
        conditions = {c: {"ap_ms": (e := step.events(c)).ap_ms, "stimuli_ms": e.stimuli_ms} for c in CONDITIONS}
        return compile_cc_scan(step, step_index, profile, "epsp_ap_pairing", _events(step),
                               {"window_ms": step.window_ms, "first_event_ms": step.first_event_ms,
                                "conditions": conditions})

    def analysis(self, step: EpspApPairingStep) -> EpspApPairingAnalysis:
        """A fresh online analysis."""
        return EpspApPairingAnalysis(step)


KIND = EpspApPairingKind()
