"""Online fCaT analysis: dG/R (or calibrated d[Ca]) per sweep, templates per condition, fCaT, tau_decay, R_neck, p, head depolarization."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.calcium_signal import calcium_change_uM, line_ratio_trace
from rig.analysis.responses import ratio_of_means, release_probability
from rig.analysis.transients import fit_calcium_decay_known_influx
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan
from rig.model.head_depolarization import FcatModel, head_depolarization
from rig.model.neck_resistance import Interval, neck_resistance_interval
from rig.protocols.calcium_transients import ConditionTransients, finite, z_of
from rig.protocols.common import AnalysisUpdate
from rig.protocols.fcat.schema import FcatStep


class FcatAnalysis:
    """Keeps both conditions' transients and publishes the spine estimates after every sweep."""

    def __init__(self, step: FcatStep):
        self.step = step
        a = step.analysis
        self.spec = a
        self.conditions = {c: ConditionTransients(step.stimulus_ms) for c in ("reversal", "cc")}
        self.assumptions = a.neck_assumptions()
        self._warned: set[str] = set()
        self._cc_rest_mV: list[float] = []

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Add this sweep to its condition and update every estimate that the data now support."""
        role = plan.parameters.get("role")
        if role not in self.conditions:
            return AnalysisUpdate()
        p = plan.parameters
        if role == "reversal":
            self.reversal_mV = float(p["holding"])
        trace = line_ratio_trace(data[p["green_channel"]], data[p["red_channel"]], plan.line_scan, plan.target_um,
                                 self.step.imaging.head_roi_radius_um, plan.sample_rate_hz, self.step.stimulus_ms)

        if role == "cc" and f"{plan.amplifier}.primary" in data:
            vm = np.asarray(data[f"{plan.amplifier}.primary"], float)
            before = vm[: max(1, int(self.step.stimulus_ms * plan.sample_rate_hz / 1000.0))]
            self._cc_rest_mV.append(float(np.median(before)))
        group = self.conditions[role]
        group.add(sweep_index, trace)
        update = AnalysisUpdate()
        name = plan.step_name
        if not group.usable:
            msg = group.template.message if group.template is not None else "no template"
            update.notices.append(Notice("warning", "fcat", f"sweep {sweep_index + 1}: {role} template fit did not "
                                         f"converge ({msg}); no {role} amplitudes yet", sweep_index))
            return update
        amp = float(group.amplitudes()[-1])
        success = bool(group.successes(self.spec.threshold_sd)[-1])
        update.features += [Feature(sweep_index, name, f"amplitude_{role}", amp, math.nan, math.nan, "dG/R"),
                            Feature(sweep_index, name, f"success_{role}", float(success), math.nan, math.nan, "1")]
        self._reversal_estimates(sweep_index, name, update)
        self._fcat_estimates(sweep_index, name, update)
        return update

    def _reversal_estimates(self, sweep_index: int, name: str, update: AnalysisUpdate) -> None:
        rev = self.conditions["reversal"]
        if not rev.usable:
            return
        z = z_of(self.spec.confidence_level)
        successes = rev.successes(self.spec.threshold_sd)
        p = release_probability(int(successes.sum()), successes.size, self.spec.confidence_level)
        update.estimates.append(Estimate(sweep_index, name, "release_probability", p.value, p.low, p.high, "1",
                                         f"{p.successes}/{p.trials} reversal sweeps with a CaT above "
                                         f"{self.spec.threshold_sd:g} x baseline-noise SD (template as matched filter); "
                                         "exact binomial interval"))
        t = rev.template
        assert t is not None
        tau, tau_sd, how = self._reversal_ca_decay(rev)
        if not finite(tau, tau_sd):  # the free two-exponential template's decay, biased toward the influx
            tau, tau_sd = t.tau_decay_ms, t.tau_decay_sd_ms
            how = "decay of the two-exponential CaT template"
        low, high = tau - z * tau_sd, tau + z * tau_sd
        if low <= 0 or not finite(low, high):
            if len(rev.traces) >= 3:
                self._notice_once(update, sweep_index, "tau_decay", "tau_decay (and R_neck from it) not estimated: "
                                  f"the decay of the reversal CaT is not resolved (fit {tau:.0f} ms within "
                                  f"{self.step.sweep_ms - self.step.stimulus_ms:g} ms after the stimulus); lengthen "
                                  "sweep_ms or add sweeps")
            return
        update.estimates.append(Estimate(sweep_index, name, "tau_decay_ms", tau, low, high, "ms",
                                         f"{how} at reversal ({len(rev.traces)} sweeps), "
                                         "diffusional proxy (pumps and buffers not corrected)"))
        r = neck_resistance_interval(Interval(tau, low, high, "ms"), self.assumptions, z)
        update.estimates.append(Estimate(sweep_index, name, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                                         "R = rho_i tau_decay D / V, a lower bound unless Ca pumps are blocked "
                                         "(extrusion shortens tau_decay below the diffusional tau); "
                                         + self.assumptions.describe()))

    def _fcat_estimates(self, sweep_index: int, name: str, update: AnalysisUpdate) -> None:
        rev, cc = self.conditions["reversal"], self.conditions["cc"]
        if not (rev.usable and cc.usable and len(rev.traces) >= 2 and len(cc.traces) >= 2):
            return
        ratio = ratio_of_means(self._amplitudes(cc), self._amplitudes(rev), self.spec.confidence_level)
        if not finite(ratio.value, ratio.low, ratio.high):
            self._notice_once(update, sweep_index, "unbounded", "fCaT not estimated: the response at reversal is not "
                              "significantly above zero (no response at reversal?), so the ratio is unbounded")
            return
        basis = (f"mean CC amplitude / mean reversal amplitude ({len(cc.traces)} / {len(rev.traces)} sweeps), "
                 + ("amplitudes as d[Ca] through the indicator's binding "
                    f"(Kd {self.spec.indicator_kd_uM:g} uM, Fmax/Fmin {self.spec.indicator_dynamic_range:g}, "
                    f"rest {self.spec.rest_ca_uM:g} uM), " if self.spec.calibrate_to_calcium else "amplitudes in dG/R, ")
                 + "Fieller interval")
        update.estimates.append(Estimate(sweep_index, name, "fcat", ratio.value, ratio.low, ratio.high, "1", basis))
        if ratio.value < self.spec.silent_below:
            self._notice_once(update, sweep_index, "silent", f"calcium-silent spine: fCaT {ratio.value:.3f} < "
                              f"{self.spec.silent_below:g}; no head depolarization estimate")
            return
        a = self.spec
        if a.rest_mV is not None:
            rest_mV = a.rest_mV
        elif self._cc_rest_mV:
            rest_mV = float(np.mean(self._cc_rest_mV))
        else:
            self._notice_once(update, sweep_index, "rest", "no head depolarization estimate: no resting potential "
                              "(set analysis.rest_mV or record Vm in the CC sweeps)")
            return
        tau = self.conditions["reversal"].template
        ca_decay_ms = tau.tau_decay_ms if tau is not None and math.isfinite(tau.tau_decay_ms) else None
        model = FcatModel(rest_mV=rest_mV, reversal_mV=self._reversal_mV(), mg_mM=a.mg_mM, e_ca_mV=a.e_ca_mV,
                          ca_decay_ms=ca_decay_ms,
                          nmda_tau_rise_ms=a.nmda_tau_rise_ms, nmda_tau_decay_ms=a.nmda_tau_decay_ms,
                          depolarization_tau_rise_ms=a.depolarization_tau_rise_ms,
                          depolarization_tau_decay_ms=a.depolarization_tau_decay_ms)
        est = head_depolarization(Interval(ratio.value, ratio.low, ratio.high, "1"), model)
        e = est.estimate
        update.estimates.append(Estimate(sweep_index, name, "peak_head_epsp_mV", e.value, e.low, e.high, "mV",
                                         "inverted from fCaT; " + model.describe()
                                         + (f"; {est.note}" if est.note else "")))

    def _reversal_ca_decay(self, rev: ConditionTransients) -> tuple[float, float, str]:
        """tau_decay of the average reversal CaT (as d[Ca] when calibrating) with the NMDA influx time course
        fixed: at a clamped head the Mg block is constant, so the influx follows the NMDA conductance."""
        a = self.spec
        times = rev.traces[0].times_ms
        mean = np.mean([tr.dg_over_r for tr in rev.traces], axis=0)
        if a.calibrate_to_calcium:
            rest = float(np.mean([tr.g_over_r_baseline for tr in rev.traces]))
            mean = calcium_change_uM(mean, rest, a.indicator_kd_uM, a.indicator_dynamic_range, a.rest_ca_uM)
        fit = fit_calcium_decay_known_influx(times, mean, self.step.stimulus_ms, a.nmda_tau_rise_ms,
                                             a.nmda_tau_decay_ms)
        how = (f"decay of the average CaT fitted as the NMDA influx ({a.nmda_tau_rise_ms:g}/{a.nmda_tau_decay_ms:g} "
               "ms) convolved with one Ca decay")
        return (fit.tau_ms, fit.tau_sd_ms, how) if fit.converged else (math.nan, math.nan, how)

    def _amplitudes(self, group: ConditionTransients) -> np.ndarray:
        """Per-sweep amplitudes: template-scaled peak dG/R, or the Ca change it means when calibrating."""
        amplitudes = group.amplitudes()
        a = self.spec
        if not a.calibrate_to_calcium:
            return amplitudes
        rest = np.array([t.g_over_r_baseline for t in group.traces])
        return calcium_change_uM(amplitudes, rest, a.indicator_kd_uM, a.indicator_dynamic_range, a.rest_ca_uM)

    def _reversal_mV(self) -> float:
        holding = self.step.reversal_holding
        return float(holding) if holding != "reversal" else self.reversal_mV

    reversal_mV = 0.0  # set from the sweeps' holding when the reversal comes from the run

    def _notice_once(self, update: AnalysisUpdate, sweep_index: int, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            update.notices.append(Notice("warning", "fcat", message, sweep_index))
