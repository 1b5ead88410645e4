"""Pieces shared by the AP/EPSP calcium step kinds: AP pulse specs, CC timing checks, traces of a sweep."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from rig.analysis.calcium_signal import RatioTrace, line_ratio_trace
from rig.config.base import StrictModel
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_scan import check_current
from rig.protocols.shared.common import StepProblem


class ApPulseSpec(StrictModel):
    """Somatic current pulse that evokes one (back-propagating) AP in current clamp."""

    amplitude_pA: float = Field(default=1500.0, description="pulse amplitude added to the CC holding")
    width_ms: float = Field(default=2.0, gt=0, le=20)


def train_onsets_ms(first_ms: float, count: int, rate_hz: float) -> list[float]:
    """Onsets of `count` events at `rate_hz` starting at `first_ms`."""
    return [first_ms + k * 1000.0 / rate_hz for k in range(count)]


def ap_pulses(onsets_ms: list[float], pulse: ApPulseSpec) -> tuple[tuple[float, float, float], ...]:
    """(onset, width, amplitude) current steps for calcium_sweep."""
    return tuple((t, pulse.width_ms, pulse.amplitude_pA) for t in onsets_ms)


def check_ap_current(profile: HardwareProfile, amplifier: str | None, holding_pA: float, pulse: ApPulseSpec,
                     field: str = "ap_pulse.amplitude_pA") -> list[StepProblem]:
    """CC holding plus the AP pulse within the amplifier's holding_pA limits."""
    return check_current(profile, amplifier, holding_pA, pulse.amplitude_pA, field)


def check_fits(last_event_end_ms: float, sweep_ms: float, field: str = "sweep_ms") -> list[StepProblem]:
    """Every pulse ends inside the sweep."""
    if last_event_end_ms > sweep_ms:
        return [StepProblem(field, f"{sweep_ms:g} ms is too short: the last pulse ends at {last_event_end_ms:g} ms")]
    return []


def sweep_ratio_trace(plan: SweepPlan, data: dict[str, np.ndarray], radius_um: float,
                      baseline_end_ms: float) -> RatioTrace:
    """dG/R per line in the head ROI of one line-scan sweep (channels named in the plan's metadata)."""
    m = plan.meta
    if plan.line_scan is None or plan.target_um is None:
        raise ValueError(f"sweep {plan.sweep_in_step} of {plan.step_name} is not a line scan aimed at a spine")
    return line_ratio_trace(data[m.green_channel], data[m.red_channel], plan.line_scan, plan.target_um,
                            radius_um, plan.sample_rate_hz, baseline_end_ms)


def count_spikes(voltage_mV: np.ndarray, threshold_mV: float = 0.0) -> int:
    """Upward crossings of threshold_mV (somatic APs in a CC voltage record)."""
    above = np.asarray(voltage_mV, float) > threshold_mV
    return int(np.count_nonzero(above[1:] & ~above[:-1]))


def window_mean(times_ms: np.ndarray, values: np.ndarray, start_ms: float, stop_ms: float) -> float:
    """Mean of values with start_ms <= t < stop_ms; ValueError when no sample lies there."""
    sel = (times_ms >= start_ms) & (times_ms < stop_ms)
    if not sel.any():
        raise ValueError(f"no line between {start_ms:g} and {stop_ms:g} ms")
    return float(np.mean(np.asarray(values, float)[sel]))
