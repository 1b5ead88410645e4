"""Online fCaT analysis: dG/R (or calibrated d[Ca]) per sweep, templates from detected successes, fCaT from a
shared-release mixture over every trial, the reversal CaT's decay, a lower bound on R_neck, p, head depolarization
(two-sided, and its one-sided upper bound on every spine; a spine reading below silent_below is said to be
possibly or surely Ca-silent)."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.calcium_signal import calcium_change_uM, line_ratio_trace
from rig.analysis.confidence import one_sided_z, two_sided_t
from rig.analysis.release_distribution import release_function_mean
from rig.analysis.release_mixture import RatioEstimate, release_ratio
from rig.analysis.transients import fit_calcium_decay_known_influx
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.model.head_depolarization import FcatModel, depolarization_of_fcat, head_depolarization, predicted_fcat
from rig.model.neck_resistance import Interval, neck_resistance_interval
from rig.protocols.fcat.release_detection import MAX_MISSED_FRACTION, detected_release_probability
from rig.protocols.fcat.schema import FcatStep
from rig.protocols.fcat.trend import StepTrend, release_trend
from rig.protocols.shared.calcium_scan import DEPOLARIZED_ABOVE_MV, depolarized_ms
from rig.protocols.shared.calcium_steps import count_spikes
from rig.protocols.shared.calcium_transients import ConditionTransients, finite, z_of
from rig.protocols.shared.common import AnalysisUpdate


def published_fcat(ratio: RatioEstimate) -> Interval:
    """fcat as published: the mixture ratio with its point and interval cut at 0.

    fCaT is a ratio of Ca-influx-driven CaT peaks, never negative: a bootstrap end, or a mean CC amplitude per
    release, below 0 is noise about a ratio near 0, not a possible value."""
    return Interval(max(ratio.value, 0.0), max(ratio.low, 0.0), ratio.high, "1")


class FcatAnalysis:
    """Keeps both conditions' transients and publishes the spine estimates after every sweep."""

    def __init__(self, step: FcatStep):
        self.step = step
        a = step.analysis
        self.spec = a
        self.conditions = {c: ConditionTransients(step.stimulus_ms, a.nmda_tau_rise_ms, a.nmda_tau_decay_ms,
                                                  a.prior_ca_decay_ms, a.threshold_sd,
                                                  own_shape_alpha=a.own_shape_alpha) for c in ("reversal", "cc")}
        self.assumptions = a.neck_assumptions()
        self._warned: set[str] = set()
        self._cc_rest_mV: list[float] = []
        self.cc_ap_sweeps: list[int] = []  # CC sweeps left out: a somatic AP fired
        self.depolarized_ms = 0.0
        self._pending: list[str] = []  # info notices for the next update
        # set of success sweeps -> (tau, low, high) of their average's decay (None: the fit failed)
        self._decay_fits: dict[tuple[int, ...], tuple[float, float, float] | None] = {}

    def reversal_releases_detected(self) -> int:
        """CaTs detected at the reversal so far (with the prior shape until the reversal has one of its own)."""
        rev = self.conditions["reversal"]
        if not rev.traces:
            return 0
        return int(rev.successes(self.spec.threshold_sd).sum())

    def note(self, message: str) -> None:
        """An info notice (e.g. the program's decision to extend the step), published with the next sweep."""
        self._pending.append(message)

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Add this sweep to its condition and update every estimate that the data now support."""
        update = self._analyze(sweep_index, plan, data)
        update.notices[:0] = [Notice("info", "fcat", message, sweep_index) for message in self._pending]
        self._pending.clear()
        return update

    def _analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        self.depolarized_ms += depolarized_ms(plan)
        role = plan.meta.role
        if role not in self.conditions:
            return AnalysisUpdate()
        m = plan.meta
        if role == "reversal" and m.holding is not None:  # calcium sweeps have one
            self.reversal_mV = m.holding
        trace = line_ratio_trace(data[m.green_channel], data[m.red_channel], plan.line_scan, plan.target_um,
                                 self.step.imaging.head_roi_radius_um, plan.sample_rate_hz, self.step.stimulus_ms)
        if role == "cc" and f"{plan.amplifier}.primary" in data:
            vm = np.asarray(data[f"{plan.amplifier}.primary"], float)
            before = vm[: max(1, int(self.step.stimulus_ms * plan.sample_rate_hz / 1000.0))]
            aps = count_spikes(vm)
            if aps:
                # A somatic AP's bAP unblocks the bound NMDA receptors and opens the head's channels: that CaT
                # measures the AP, not the synapse's depolarization of the head (what fCaT and its truth are).
                self.cc_ap_sweeps.append(sweep_index)
                return AnalysisUpdate(
                    features=[Feature(sweep_index, plan.step_name, "aps_cc", float(aps), math.nan, math.nan, "1")],
                    notices=[Notice("warning", "fcat", f"sweep {sweep_index + 1}: {aps} AP(s) in current clamp; "
                                    "excluded from fCaT (the bAP's Ca is not the synapse's head depolarization)",
                                    sweep_index)])
            self._cc_rest_mV.append(float(np.median(before)))
        rev, cc = self.conditions["reversal"], self.conditions["cc"]
        self.conditions[role].add(sweep_index, trace)
        # The CC response may be too small to shape its own template: it borrows the reversal's shape until
        # it has successes of its own (the mixture below still uses every trial).
        cc.fallback = rev.template if rev.fitted else None
        if role == "reversal" and cc.traces and not cc.fitted:
            cc.refresh()
        update = AnalysisUpdate()
        name = plan.step_name
        group = self.conditions[role]
        amp = float(group.amplitudes()[-1])
        success = bool(group.successes(self.spec.threshold_sd)[-1])
        update.features += [Feature(sweep_index, name, f"amplitude_{role}", amp, math.nan, math.nan, "dG/R"),
                            Feature(sweep_index, name, f"success_{role}", float(success), math.nan, math.nan, "1")]
        if not rev.fitted:
            if rev.traces:
                # The detected fraction (prior or borrowed shape) bounds p from below even before the reversal
                # has a shape of its own: on a spine that rarely releases this is all the step can say of p.
                self._release_estimates(sweep_index, name, update, two_sided=False)
                self._notice_once(update, sweep_index, "no reversal response", f"sweep {sweep_index + 1}: no CaT "
                                  f"detected at the reversal yet ({len(rev.traces)} sweeps; release fails often): "
                                  "no fCaT until one is")
            return update
        self._reversal_estimates(sweep_index, name, update)
        self._fcat_estimates(sweep_index, name, update)
        return update

    def _release_estimates(self, sweep_index: int, name: str, update: AnalysisUpdate,
                           two_sided: bool = True) -> np.ndarray:
        """release_probability (when few releases go undetected and `two_sided`) and its lower bound (always);
        returns the reversal sweeps' detections."""
        rev = self.conditions["reversal"]
        successes = rev.successes(self.spec.threshold_sd)
        amplitudes, noise = self._amplitudes(rev)
        p = detected_release_probability(amplitudes, noise, successes, self.spec.threshold_sd,
                                         self.spec.confidence_level)
        counted = (f"{p.detected}/{p.trials} reversal sweeps with a CaT above {self.spec.threshold_sd:g} x "
                   "baseline-noise SD (template as matched filter)")
        if p.bound is None and two_sided:
            update.estimates.append(Estimate(sweep_index, name, "release_probability", p.value, p.low, p.high, "1",
                                             f"{counted}; exact binomial interval"))
        # Always (so that the row is never stale when the two-sided estimate is withheld): detections only miss
        # releases, so the detected fraction bounds p from below whatever the CaTs' size.
        update.estimates.append(Estimate(
            sweep_index, name, "release_probability_lower_bound", p.lower_value, p.lower_bound, math.nan, "1",
            f"{counted}; about {p.missed_fraction:.0%} of releases expected below the threshold (the detected "
            f"CaTs' size against the noise; release_probability is withheld above "
            f"{MAX_MISSED_FRACTION:.0%}): one-sided {self.spec.confidence_level:.0%} exact binomial, false "
            "positives of the threshold taken out", bound="lower"))
        return successes

    def _reversal_estimates(self, sweep_index: int, name: str, update: AnalysisUpdate) -> None:
        rev = self.conditions["reversal"]
        successes = self._release_estimates(sweep_index, name, update)
        tau, low, high, how = self._reversal_ca_decay(rev)
        if not finite(tau, low, high):
            if int(successes.sum()) >= 3:
                self._notice_once(update, sweep_index, "tau_decay", "tau_decay_quantum_ms (and the R_neck bound from "
                                  f"it) not estimated yet: the average of the detected reversal CaTs gives no decay "
                                  f"within {self.step.sweep_ms - self.step.stimulus_ms:g} ms after the stimulus; "
                                  "lengthen sweep_ms or add sweeps")
            return
        update.estimates.append(Estimate(sweep_index, name, "tau_decay_quantum_ms", tau, low, high, "ms",
                                         f"{how}: the decay of one quantum's CaT at the reversal with the dye loaded "
                                         "(faster than the small-signal decay: the dye buffers less at the peak; "
                                         "and than diffusion: pumps)", trend=self._trend().sentence))
        # one-sided: the two-sided interval's log half-width at the one-sided quantile
        one_sided = one_sided_z(self.spec.confidence_level)
        z = z_of(self.spec.confidence_level)
        half = (math.log(high) - math.log(low)) / 2 * one_sided / z
        r = neck_resistance_interval(Interval(tau, tau * math.exp(-half), tau * math.exp(half), "ms"),
                                     self.assumptions, one_sided)
        update.estimates.append(Estimate(sweep_index, name, "neck_resistance_lower_bound_MOhm", r.value, r.low,
                                         math.nan, "MOhm",
                                         "R >= rho_i tau D / V with tau = tau_decay_quantum_ms: a lower bound, since "
                                         "extrusion and dye saturation shorten the Ca decay below the diffusional tau "
                                         f"(one-sided {self.spec.confidence_level:.0%}); "
                                         + self.assumptions.describe(), bound="lower", trend=self._trend().sentence))

    def _fcat_estimates(self, sweep_index: int, name: str, update: AnalysisUpdate) -> None:
        rev, cc = self.conditions["reversal"], self.conditions["cc"]
        if len(rev.traces) < 2 or len(cc.traces) < 2:
            return
        a = self.spec
        amp_rev, sd_rev = self._amplitudes(rev)
        amp_cc, sd_cc = self._amplitudes(cc)
        ratio = release_ratio(amp_rev, sd_rev, amp_cc, sd_cc, a.confidence_level, a.bootstrap_resamples,
                              seed=1000 * len(rev.traces) + len(cc.traces))
        if not finite(ratio.value, ratio.low, ratio.high):
            self._notice_once(update, sweep_index, "unbounded", "fCaT not estimated yet: too few releases "
                              f"(about {ratio.expected_releases:.1f} expected per condition) to bound the ratio")
            return
        held = (f"cell held above {DEPOLARIZED_ABOVE_MV:g} mV for {self.depolarized_ms / 1000:.1f} s in this step "
                "(sweeps at the reversal and the intervals after them)")
        aps = (f", {len(self.cc_ap_sweeps)} CC sweeps with an AP left out" if self.cc_ap_sweeps else "")
        basis = (f"mean CaT per release, CC / reversal ({len(cc.traces)} / {len(rev.traces)} sweeps{aps}, failures "
                 f"included: failure/release mixture with a shared release probability {ratio.release_probability:.2f}), "
                 + (f"amplitudes as d[Ca] through the indicator's binding (Kd {a.indicator_kd_uM:g} uM, Fmax/Fmin "
                    f"{a.indicator_dynamic_range:g}, rest {a.rest_ca_uM:g} uM), " if a.calibrate_to_calcium
                    else "amplitudes in dG/R, ")
                 + f"expanded-percentile bootstrap over trials ({ratio.resamples}); {held}")
        trend = self._trend()
        if trend.sentence:
            # The conditions were recorded at different times of a changing spine: the ratio of the two means is
            # uncertain by as much as a condition's CaT per release changed over the step.
            ratio = trend.widen(ratio)
            basis += (f"; the spine changed during the step ({trend.sentence}): interval widened x{trend.factor:.2f}")
        shown = published_fcat(ratio)
        low, value = shown.low, shown.value
        update.estimates.append(Estimate(sweep_index, name, "fcat", value, low, shown.high, "1", basis,
                                         trend=trend.sentence))
        update.estimates.append(Estimate(sweep_index, name, "fcat_upper_bound", value, math.nan,
                                         ratio.upper_bound, "1", f"one-sided {a.confidence_level:.0%} upper bound "
                                         "of fcat (same bootstrap); a spine is calcium-silent when fcat < "
                                         f"{a.silent_below:g}", bound="upper", trend=trend.sentence))
        model = self._model(update, sweep_index)
        if ratio.value < a.silent_below:
            self._silent_notice(sweep_index, ratio, update)
        if model is None:
            return
        # Both on every spine: the two-sided interval (its low end may be a head at rest) and the one-sided bound
        # that fcat_upper_bound allows, so that neither row goes stale nor is missing on a spine that reads silent.
        self._head_depolarization(sweep_index, name, update, model, amp_rev, sd_rev, amp_cc, sd_cc, trend)
        top = head_depolarization(Interval(ratio.upper_bound, ratio.upper_bound, ratio.upper_bound, "1"), model)
        at_most = top.estimate.value
        update.estimates.append(Estimate(
            sweep_index, name, "head_depolarization_upper_bound_mV", at_most, math.nan, at_most, "mV",
            f"one-sided {a.confidence_level:.0%} upper bound: the head depolarization during the NMDA "
            "conductance that fcat_upper_bound allows (inverted as head_depolarization_mV; not a bound on a "
            "brief AMPA peak); " + model.describe(), bound="upper", trend=trend.sentence))

    def _head_depolarization(self, sweep_index: int, name: str, update: AnalysisUpdate, model: FcatModel,
                             amp_rev: np.ndarray, sd_rev: np.ndarray, amp_cc: np.ndarray, sd_cc: np.ndarray,
                             trend: StepTrend) -> None:
        """head_depolarization_mV: the mean over CC releases of each release's fCaT inverted, not the inverse of
        the mean fCaT (the inverse is concave and releases differ: that read +31 % over 45 simulated spines)."""
        a = self.spec
        top = model.reversal_mV - model.rest_mV
        invert = depolarization_of_fcat(model, top)
        mean = release_function_mean(amp_rev, sd_rev, amp_cc, sd_cc, invert, a.confidence_level,
                                     a.bootstrap_resamples, seed=1000 * len(amp_rev) + len(amp_cc) + 7)
        if not finite(mean.value, mean.low, mean.high):
            return
        low, high = max(mean.low, 0.0), min(mean.high, top)
        if trend.sentence:
            # As fcat's: a condition's CaT per release changed by `factor` over the step, so the ends move by that
            # factor in fCaT, mapped through the model (monotone) to mV.
            f = trend.factor
            low = float(invert(np.array([predicted_fcat(model, low) / f]))[0]) if low > 0 else 0.0
            high = float(invert(np.array([predicted_fcat(model, high) * f]))[0])
        update.estimates.append(Estimate(
            sweep_index, name, "head_depolarization_mV", mean.value, min(low, mean.value), max(high, mean.value),
            "mV", "peak head depolarization during the NMDA conductance (the brief AMPA peak moves no NMDA Ca: not "
            "seen), co-released synapses' share included: each CC release's fCaT (its CaT over the mean reversal CaT "
            "per release) inverted and averaged over the releases, the CC release-amplitude distribution "
            "deconvolved from the trial noise (grid maximum likelihood, failures at the shared release probability "
            f"{mean.release_probability:.2f}); expanded-percentile bootstrap over trials ({mean.resamples}); "
            + model.describe() + (f"; the spine changed during the step ({trend.sentence}): interval widened "
                                  f"x{trend.factor:.2f}" if trend.sentence else ""), trend=trend.sentence))

    def _trend(self) -> "StepTrend":
        """Trends of the CaT per release: at the reversal always, in CC once it has releases of its own."""
        z = z_of(self.spec.confidence_level)
        found = []
        for role, label in (("reversal", "at the reversal"), ("cc", "in CC")):
            group = self.conditions[role]
            if not group.traces or not group.fitted:
                continue
            amplitudes, noise = self._amplitudes(group)
            found.append(release_trend(np.array(group.sweeps), amplitudes, noise,
                                       group.successes(self.spec.threshold_sd), z, label))
        return StepTrend(tuple(t for t in found if t is not None))

    def _silent_notice(self, sweep_index: int, ratio: RatioEstimate, update: AnalysisUpdate) -> None:
        """Say once that the spine reads Ca-silent: surely (its upper bound below the threshold too) or possibly."""
        a = self.spec
        sure = ratio.upper_bound < a.silent_below
        self._notice_once(update, sweep_index, "silent", f"{'calcium-silent spine' if sure else 'possibly a calcium-silent spine'}: "
                          f"fCaT {max(ratio.value, 0.0):.3f} < {a.silent_below:g} (at most {ratio.upper_bound:.3f}"
                          + ("" if sure else f", so not below {a.silent_below:g} with confidence") + ")")

    def _model(self, update: AnalysisUpdate, sweep_index: int) -> FcatModel | None:
        a = self.spec
        if a.rest_mV is not None:
            rest_mV = a.rest_mV
        elif self._cc_rest_mV:
            rest_mV = float(np.mean(self._cc_rest_mV))
        else:
            self._notice_once(update, sweep_index, "rest", "no head depolarization estimate: no resting potential "
                              "(set analysis.rest_mV or record Vm in the CC sweeps)")
            return None
        template = self.conditions["reversal"].template
        ca_decay_ms = template.tau_decay_ms if template is not None and math.isfinite(template.tau_decay_ms) else None
        return FcatModel(rest_mV=rest_mV, reversal_mV=a.synaptic_reversal_mV, mg_mM=a.mg_mM, e_ca_mV=a.e_ca_mV,
                         ca_decay_ms=ca_decay_ms,
                         nmda_tau_rise_ms=a.nmda_tau_rise_ms, nmda_tau_decay_ms=a.nmda_tau_decay_ms,
                         depolarization_tau_rise_ms=a.depolarization_tau_rise_ms,
                         depolarization_tau_decay_ms=a.depolarization_tau_decay_ms)

    def _reversal_ca_decay(self, rev: ConditionTransients) -> tuple[float, float, float, str]:
        """Decay of one quantum's CaT at the reversal: the average of the detected successes (as d[Ca] when
        calibrating) fitted with the NMDA influx time course fixed (at the reversal the head sits at V_rev, so
        the influx follows the conductance) convolved with one Ca decay; jackknife over the successes for a t
        interval on log tau (quantal variation included; single noisy CaTs fit badly, their average does not).
        Returns (value, low, high, how); NaN with fewer than 3 successes. Cached per set of successes."""
        a = self.spec
        hits = rev.successes(a.threshold_sd)
        chosen = tuple(s for s, h in zip(rev.sweeps, hits) if h)
        how = (f"average of {len(chosen)} detected reversal CaTs fitted as the NMDA influx ({a.nmda_tau_rise_ms:g}/"
               f"{a.nmda_tau_decay_ms:g} ms) convolved with one Ca decay; jackknife t interval over them")
        if len(chosen) < 3:
            return math.nan, math.nan, math.nan, how
        if chosen not in self._decay_fits:
            rest = self._resting_ratio(rev)
            ys_arr = np.array([t.dg_over_r for t, h in zip(rev.traces, hits) if h])
            times = rev.traces[0].times_ms

            def log_tau(rows: np.ndarray) -> float:
                # Average the successes' dG/R first, then calibrate: the inverse binding curve is convex, and
                # single noisy lines through it come out biased (larger where the CaT is larger).
                mean = rows.mean(axis=0)
                if a.calibrate_to_calcium:
                    mean = calcium_change_uM(mean, rest, a.indicator_kd_uM, a.indicator_dynamic_range, a.rest_ca_uM)
                fit = fit_calcium_decay_known_influx(times, mean, self.step.stimulus_ms,
                                                     a.nmda_tau_rise_ms, a.nmda_tau_decay_ms)
                return math.log(fit.tau_ms) if fit.converged else math.nan

            full = log_tau(ys_arr)
            n = len(ys_arr)
            leave_out = np.array([log_tau(np.delete(ys_arr, k, axis=0)) for k in range(n)])
            if not math.isfinite(full) or not np.all(np.isfinite(leave_out)):
                self._decay_fits[chosen] = None
            else:
                se = math.sqrt((n - 1) / n * float(np.sum((leave_out - leave_out.mean()) ** 2)))
                t = two_sided_t(a.confidence_level, n - 1)
                self._decay_fits[chosen] = (math.exp(full), math.exp(full - t * se), math.exp(full + t * se))
        result = self._decay_fits[chosen]
        if result is None:
            return math.nan, math.nan, math.nan, how
        return (*result, how)

    def _amplitudes(self, group: ConditionTransients) -> tuple[np.ndarray, np.ndarray]:
        """Per-sweep amplitudes and their noise SD: template-scaled peak dG/R, or the Ca change it means."""
        amplitudes, noise = group.amplitudes(), group.noise_sd()
        a = self.spec
        if not a.calibrate_to_calcium:
            return amplitudes, noise
        rest = np.full(len(group.traces), self._resting_ratio(group))

        def to_ca(x: np.ndarray) -> np.ndarray:
            return calcium_change_uM(x, rest, a.indicator_kd_uM, a.indicator_dynamic_range, a.rest_ca_uM)

        # Below rest the binding curve is continued by its slope at rest: failures are noise about zero, and
        # clipping them at zero bound indicator would bias the failures' mean.
        slope = to_ca(np.full(rest.shape, 1e-4)) / 1e-4
        ca = np.where(amplitudes >= 0, to_ca(np.maximum(amplitudes, 0.0)), slope * amplitudes)
        return ca, slope * noise

    @staticmethod
    def _resting_ratio(group: ConditionTransients) -> float:
        """The condition's pre-stimulus G/R, averaged over its sweeps: the calibration's anchor (a single
        sweep's baseline is a few lines of photon noise, and the resting Ca does not change between sweeps)."""
        return float(np.mean([t.g_over_r_baseline for t in group.traces]))

    reversal_mV = 0.0  # the somatic holding of the reversal block (set from its sweeps); not the head's potential

    def _notice_once(self, update: AnalysisUpdate, sweep_index: int, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            update.notices.append(Notice("warning", "fcat", message, sweep_index))
