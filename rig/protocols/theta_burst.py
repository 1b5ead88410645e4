"""Theta-burst conditioning: trains of bursts of bAPs, each AP a short CC current pulse.

Default (SCIENCE.md, section 3): 3 trains at 0.1 Hz of 10 bursts at 5 Hz of 5 bAPs at 100 Hz.
One sweep per train; the pause between trains is the sweep's interval.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

from pydantic import Field, model_validator

from rig.analysis.responses import release_probability
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.calcium_scan import calcium_sweep, check_condition, check_current
from rig.protocols.calcium_steps import ApPulseSpec, ap_pulses, check_ap_current, count_spikes, train_onsets_ms
from rig.protocols.common import AnalysisUpdate, StepBase, StepProblem, resolve_device

_LEAD_MS = 20.0
_TAIL_MS = 50.0


class ThetaBurstStep(StepBase):
    """Trains of bursts of bAPs in current clamp (no imaging)."""

    kind: Literal["theta_burst"]
    trains: int = Field(default=3, ge=1, le=100)
    train_rate_hz: float = Field(default=0.1, gt=0, le=1)
    bursts_per_train: int = Field(default=10, ge=1, le=100)
    burst_rate_hz: float = Field(default=5.0, gt=0, le=50)
    aps_per_burst: int = Field(default=5, ge=1, le=20)
    ap_rate_hz: float = Field(default=100.0, gt=0, le=500)
    ap_pulse: ApPulseSpec = ApPulseSpec()
    cc_holding_pA: float = 0.0
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"

    @model_validator(mode="after")
    def _nesting(self) -> "ThetaBurstStep":
        burst_ms = (self.aps_per_burst - 1) * 1000.0 / self.ap_rate_hz + self.ap_pulse.width_ms
        if self.bursts_per_train > 1 and burst_ms >= 1000.0 / self.burst_rate_hz:
            raise ValueError("a burst (aps_per_burst at ap_rate_hz) must end before the next burst starts")
        if self.ap_pulse.width_ms >= 1000.0 / self.ap_rate_hz:
            raise ValueError("ap_pulse.width_ms must be shorter than the AP interval")
        if self.trains > 1 and self.train_ms() / 1000.0 >= 1.0 / self.train_rate_hz:
            raise ValueError("a train must end before the next train starts (lower train_rate_hz)")
        return self

    def ap_onsets_ms(self) -> list[float]:
        """AP pulse onsets within one train sweep."""
        onsets: list[float] = []
        for burst in train_onsets_ms(_LEAD_MS, self.bursts_per_train, self.burst_rate_hz):
            onsets += train_onsets_ms(burst, self.aps_per_burst, self.ap_rate_hz)
        return onsets

    def train_ms(self) -> float:
        """Duration of one train sweep (lead, bursts, tail)."""
        return self.ap_onsets_ms()[-1] + self.ap_pulse.width_ms + _TAIL_MS


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


class ThetaBurstKind:
    """The theta_burst step kind."""

    schema = ThetaBurstStep

    def check(self, step: ThetaBurstStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier, condition, CC holding and AP current within the holding_pA limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_condition(step.condition) + check_current(profile, amp, step.cc_holding_pA, 0.0,
                                                                    "cc_holding_pA")
        return problems + check_ap_current(profile, amp, step.cc_holding_pA, step.ap_pulse)

    def compile(self, step: ThetaBurstStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One CC sweep per train; the pause to the next train is the sweep's interval."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        period_s = 1.0 / step.train_rate_hz
        pulses = ap_pulses(step.ap_onsets_ms(), step.ap_pulse)
        plans = []
        for k in range(step.trains):
            last = k == step.trains - 1
            plan = calcium_sweep(
                profile, step_index=step_index, step_name=step.name or "theta_burst", kind="theta_burst",
                sweep_in_step=k, amplifier=amp, mode="CC", holding=step.cc_holding_pA, duration_ms=step.train_ms(),
                current_pulses=pulses, condition=step.condition, sample_rate_hz=step.sample_rate_hz,
                parameters={"role": "train", "ap_ms": step.ap_onsets_ms()})
            # trains start every 1/train_rate_hz: the pause is the period minus the sweep itself
            plans.append(replace(plan, interval_after_s=0.0 if last else max(0.0, period_s - plan.duration_s)))
        return plans

    def analysis(self, step: ThetaBurstStep) -> ThetaBurstAnalysis:
        """A fresh online analysis."""
        return ThetaBurstAnalysis(step)


KIND = ThetaBurstKind()
