"""Base of the line-scan current-clamp calcium kinds (bAP trains, paired APs, EPSP-AP pairing, quantal)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from pydantic import Field

from rig.analysis.ap_calcium import jackknife, linear_trend
from rig.analysis.calcium_signal import RatioTrace
from rig.analysis.confidence import two_sided_t
from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApScanMeta, ApTrainMeta
from rig.datatypes.records import Estimate, Notice
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_scan import (
    ImagingSpec,
    StimulusSpec,
    calcium_sweep,
    check_condition,
    check_current,
    check_imaging,
    check_stimulus,
)
from rig.protocols.shared.calcium_steps import (
    ApPulseSpec,
    ap_pulses,
    check_ap_current,
    check_fits,
    count_spikes,
    sweep_ratio_trace,
)
from rig.protocols.shared.common import AnalysisUpdate, StepBase, StepProblem, resolve_device


class CcScanStep(StepBase):
    """Fields of every line-scan CC calcium step: imaging, AP pulses, stimulus, CC holding, sweeps."""

    if TYPE_CHECKING:  # each kind's schema declares `kind` as its Literal name (there, so its form keeps its order)
        kind: str
    imaging: ImagingSpec
    ap_pulse: ApPulseSpec = ApPulseSpec()
    stimulus: StimulusSpec = StimulusSpec()
    cc_holding_pA: float = 0.0
    sweeps: int = Field(default=5, ge=1, le=10000, description="sweeps (per condition, where there are several)")
    sweep_ms: float = Field(default=250.0, gt=0)
    interval_s: float = Field(default=2.0, ge=0)
    condition: str = "control"


@dataclass
class SweepEvents:
    """What one sweep does: AP pulse onsets, stimulus onsets, a role and the first event (baseline end)."""

    role: str
    ap_ms: list[float] = field(default_factory=list)
    stimuli_ms: list[float] = field(default_factory=list)

    @property
    def first_ms(self) -> float:
        """Onset of the first event (end of the baseline)."""
        return min(self.ap_ms + self.stimuli_ms)


def check_cc_scan(step: CcScanStep, profile: HardwareProfile, events: list[SweepEvents]) -> list[StepProblem]:
    """Amplifier, imaging, condition, CC holding, AP current, stimulus and timing against the profile."""
    amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
    problems += check_imaging(profile, step.imaging) + check_condition(step.condition)
    problems += check_current(profile, amp, step.cc_holding_pA, 0.0, "cc_holding_pA")
    if any(e.ap_ms for e in events):
        problems += check_ap_current(profile, amp, step.cc_holding_pA, step.ap_pulse)
    if any(e.stimuli_ms for e in events):
        problems += check_stimulus(profile, step.stimulus)
    ends = [t + step.ap_pulse.width_ms for e in events for t in e.ap_ms]
    ends += [t + step.stimulus.pulse_ms for e in events for t in e.stimuli_ms]
    problems += check_fits(max(ends, default=0.0) + 10.0, step.sweep_ms)
    if min(e.first_ms for e in events) - step.imaging.shutter_lead_ms < 10:
        problems.append(StepProblem("imaging.shutter_lead_ms", "leave at least 10 ms of imaged baseline before "
                                    "the first pulse"))
    return problems


def compile_cc_scan(step: CcScanStep, step_index: int, profile: HardwareProfile, kind: str,
                    events: list[SweepEvents], meta_type: type[ApScanMeta] = ApScanMeta,
                    **windows: Any) -> list[SweepPlan]:
    """One line-scan CC sweep per entry of `events` (AP pulses and stimuli as given).

    Every plan records the head ROI radius, the baseline end and a `meta_type` built with the step's AP drive and
    `windows` (the fields meta_type adds: the step's analysis windows), so the simulated rig's truth measures the
    noise-free signal with the same windows."""
    amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
    plans = []
    for k, ev in enumerate(events):
        plans.append(calcium_sweep(
            profile, step_index=step_index, step_name=step.name or kind, kind=kind, sweep_in_step=k, amplifier=amp,
            mode="CC", holding=step.cc_holding_pA, duration_ms=step.sweep_ms, imaging=step.imaging,
            stimulus=step.stimulus if ev.stimuli_ms else None, stimuli_ms=tuple(ev.stimuli_ms),
            current_pulses=ap_pulses(ev.ap_ms, step.ap_pulse), condition=step.condition,
            interval_after_s=step.interval_s,
            meta=SweepMeta(role=ev.role, baseline_end_ms=ev.first_ms,
                           head_roi_radius_um=step.imaging.head_roi_radius_um,
                           kind_meta=meta_type(ap_ms=tuple(ev.ap_ms), stimuli_ms=tuple(ev.stimuli_ms),
                                               ap_pulse_width_ms=step.ap_pulse.width_ms,
                                               ap_pulse_pA=step.ap_pulse.amplitude_pA, **windows))))
    return plans


class TraceCollector:
    """dG/R traces of a step's sweeps by role; a sweep that cannot be read becomes a Notice."""

    def __init__(self, step: CcScanStep, source: str):
        self.step, self.source = step, source
        self.traces: dict[str, list[RatioTrace]] = {}
        self.spikes: dict[str, list[int]] = {}

    def add(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray],
            update: AnalysisUpdate) -> RatioTrace | None:
        """Read this sweep's head dG/R (baseline up to the first event); None with a Notice on failure."""
        role = plan.meta.role
        try:
            if plan.meta.baseline_end_ms is None:
                raise ValueError("the plan has no baseline end")
            trace = sweep_ratio_trace(plan, data, self.step.imaging.head_roi_radius_um, plan.meta.baseline_end_ms)
        except (ValueError, KeyError) as exc:
            update.notices.append(Notice("warning", self.source, f"sweep {sweep_index + 1}: no calcium trace ({exc})",
                                         sweep_index))
            return None
        traces = self.traces.setdefault(role, [])
        if traces and traces[0].times_ms.size != trace.times_ms.size:
            update.notices.append(Notice("warning", self.source, f"sweep {sweep_index + 1}: line layout differs; "
                                         "not used", sweep_index))
            return None
        traces.append(trace)
        voltage = data.get(f"{plan.amplifier}.primary")
        if voltage is not None:
            self.spikes.setdefault(role, []).append(count_spikes(voltage))
        return trace

    def stack(self, role: str) -> np.ndarray:
        """(n_sweeps, n_lines) dG/R of one role."""
        return np.array([t.dg_over_r for t in self.traces.get(role, [])])

    def times(self, role: str) -> np.ndarray:
        """Line times of one role."""
        return self.traces[role][0].times_ms

    def ap_notice(self, sweep_index: int, plan: SweepPlan, update: AnalysisUpdate) -> None:
        """Warn when the somatic record shows fewer APs than pulses (pulse too weak)."""
        role = plan.meta.role
        kind = plan.meta.kind_meta
        expected = len(kind.ap_ms) if isinstance(kind, ApTrainMeta) else 0
        seen = self.spikes.get(role, [])
        if expected and seen and seen[-1] < expected:
            update.notices.append(Notice("warning", self.source, f"sweep {sweep_index + 1}: {seen[-1]} AP(s) for "
                                         f"{expected} current pulses (raise ap_pulse.amplitude_pA?)", sweep_index))


TREND_ALPHA = 0.05  # a per-sweep line whose slope is significant at this level marks the spine as changing


def stack_estimate(sweep_index: int, step_name: str, name: str, unit: str, stack: np.ndarray,
                   statistic: Callable[[np.ndarray], float], level: float, basis: str) -> Estimate | None:
    """The statistic of the averaged sweeps with a jackknife interval (Student t on n - 1 df), or, when the
    statistic of the single sweeps trends (OLS slope, p < TREND_ALPHA), the line's present value (at the last
    sweep, t interval on n - 2 df) with a trend sentence: a changing spine is not averaged. None when not finite."""
    n = stack.shape[0]
    if n < 2:
        return None
    value, sd = jackknife(list(stack), statistic)
    if not (math.isfinite(value) and math.isfinite(sd)):
        return None
    q = two_sided_t(level, n - 1)
    per_sweep = []
    for y in stack:
        try:
            per_sweep.append(statistic(y))
        except (ValueError, ZeroDivisionError):
            per_sweep.append(math.nan)
    line = linear_trend(per_sweep)
    if line is None or line.p_value >= TREND_ALPHA:
        return Estimate(sweep_index, step_name, name, value, value - q * sd, value + q * sd, unit,
                        basis + f" ({n} sweeps averaged, jackknife interval, Student t on {n - 1} df)")
    if line.first > 0 and line.last > 0:
        fold = line.last / line.first
        change = f"{'rose' if fold > 1 else 'fell'} x{max(fold, 1 / fold):.2f}"
    else:
        change = f"changed by {line.last - line.first:+.3g} {unit}"
    q = two_sided_t(level, line.n - 2)
    return Estimate(sweep_index, step_name, name, line.last, line.last - q * line.last_se,
                    line.last + q * line.last_se, unit,
                    basis + f" (per-sweep values trend, p = {line.p_value:.2g}: the line's value at the last of {n} "
                    f"sweeps, t interval on {line.n - 2} df)", trend=f"{name} {change} over sweeps 1-{n} of the step")
