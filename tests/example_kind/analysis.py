"""Online analysis of the membrane_test step: input resistance of every sweep."""

from __future__ import annotations

import math

import numpy as np

from example_kind.schema import MembraneTestStep
from rig.datatypes.records import Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.common import AnalysisUpdate


def input_resistance_MOhm(voltage_mV: np.ndarray, sample_rate_hz: float, step: MembraneTestStep) -> float:
    """(steady-state voltage in the step - baseline voltage) / step current; mV / pA = GOhm, x 1000 -> MOhm."""
    per_ms = sample_rate_hz / 1000.0
    start = int(round(step.baseline_ms * per_ms))
    end = start + int(round(step.step_ms * per_ms))
    steady = voltage_mV[end - int(round(step.steady_ms * per_ms)):end]
    baseline = voltage_mV[:start]
    if steady.size < 2 or baseline.size < 2:
        raise ValueError("the baseline or steady-state window holds fewer than 2 samples")
    return float(steady.mean() - baseline.mean()) / step.step_pA * 1000.0


class MembraneTestAnalysis:
    """Publishes each sweep's input resistance (a feature: a per-sweep measurement, not a spine estimate)."""

    def __init__(self, step: MembraneTestStep):
        self.step = step

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Read the recorded membrane potential of this sweep."""
        update = AnalysisUpdate()
        voltage = np.asarray(data[f"{plan.amplifier}.primary"], float)
        try:
            r_in = input_resistance_MOhm(voltage, plan.sample_rate_hz, self.step)
        except ValueError as exc:
            update.notices.append(Notice("warning", plan.step_name, f"sweep {sweep_index + 1}: {exc}", sweep_index))
            return update
        update.features.append(Feature(sweep_index, plan.step_name, "input_resistance_MOhm", r_in, math.nan,
                                       math.nan, "MOhm"))
        return update
