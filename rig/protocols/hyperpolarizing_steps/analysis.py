"""Online analysis of the hyperpolarizing_steps step."""

from __future__ import annotations

import numpy as np

from rig.analysis.ap_calcium import epsp_amplitude_mV
from rig.analysis.calibration import driving_force_ratio
from rig.analysis.responses import ratio_of_means
from rig.datatypes.kind_meta import CurrentStepMeta
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.hyperpolarizing_steps.schema import HyperpolarizingStepsStep
from rig.protocols.shared.calcium_transients import finite
from rig.protocols.shared.common import AnalysisUpdate


class HyperpolarizingStepsAnalysis:
    """Per step amplitude: EPSPs at rest and hyperpolarized, V_rest, V_hyp; measured vs expected ratio."""

    def __init__(self, step: HyperpolarizingStepsStep):
        self.step = step
        self.rows: dict[float, list[tuple[float, float, float, float]]] = {}
        self._warned: set[float] = set()

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Measure both EPSPs and potentials of this sweep; publish the check for its step amplitude."""
        s, update, name = self.step, AnalysisUpdate(), plan.step_name
        v = np.asarray(data[f"{plan.amplifier}.primary"], float)
        level = plan.meta.kind_as(CurrentStepMeta).step_pA
        rest_ms, hyp_ms = s.stimuli_ms()
        try:
            epsp_rest, v_rest = epsp_amplitude_mV(v, plan.sample_rate_hz, rest_ms, s.baseline_ms, s.window_ms)
            epsp_hyp, v_hyp = epsp_amplitude_mV(v, plan.sample_rate_hz, hyp_ms, s.baseline_ms, s.window_ms)
        except ValueError as exc:
            update.notices.append(Notice("warning", "hyperpolarizing_steps", f"sweep {sweep_index + 1}: {exc}",
                                         sweep_index))
            return update
        rows = self.rows.setdefault(level, [])
        rows.append((epsp_rest, epsp_hyp, v_rest, v_hyp))
        tag = f"{level:g}pA"
        update.features += [Feature(sweep_index, name, f"epsp_rest_mV_{tag}", epsp_rest, np.nan, np.nan, "mV"),
                            Feature(sweep_index, name, f"epsp_hyp_mV_{tag}", epsp_hyp, np.nan, np.nan, "mV")]
        arr = np.array(rows)
        if arr.shape[0] < 2:
            return update
        v_rest_m, v_hyp_m = float(arr[:, 2].mean()), float(arr[:, 3].mean())
        kind = plan.meta.kind_as(CurrentStepMeta)
        e_syn = s.e_syn_mV if kind.e_syn_mV is None else kind.e_syn_mV
        source = kind.e_syn_source
        expected = driving_force_ratio(float(e_syn), v_hyp_m, v_rest_m)
        r_in = (arr[:, 3] - arr[:, 2]) / level * 1e3  # mV / pA -> MOhm
        half = float(2 * r_in.std(ddof=1) / np.sqrt(r_in.size))
        update.estimates.append(Estimate(sweep_index, name, "input_resistance_MOhm", float(r_in.mean()),
                                         float(r_in.mean()) - half, float(r_in.mean()) + half, "MOhm",
                                         "steady-state hyperpolarization / step current (mean +- 2 SE)"))
        update.estimates.append(Estimate(sweep_index, name, f"response_ratio_expected_{tag}", expected,
                                         expected, expected, "1",
                                         f"(E_syn - V_hyp)/(E_syn - V_rest), E_syn {float(e_syn):.2f} mV ({source}), "
                                         f"V_rest {v_rest_m:.1f} mV, V_hyp {v_hyp_m:.1f} mV measured"))
        ratio = ratio_of_means(arr[:, 1], arr[:, 0], s.confidence_level)
        if not finite(ratio.value, ratio.low, ratio.high):
            if level not in self._warned:
                self._warned.add(level)
                update.notices.append(Notice("warning", "hyperpolarizing_steps", f"{tag}: the EPSP at rest is not "
                                             "significantly above zero; no measured ratio yet", sweep_index))
            return update
        update.estimates.append(Estimate(sweep_index, name, f"response_ratio_measured_{tag}", ratio.value, ratio.low,
                                         ratio.high, "1", f"mean EPSP hyperpolarized / at rest ({arr.shape[0]} "
                                         f"sweeps), Fieller interval; expected {expected:.3f} without "
                                         "voltage-gated boosting"))
        return update
