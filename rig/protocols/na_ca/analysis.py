"""Online Na/Ca analysis: split by the LED record, normalise, bleach-correct, register, ROI dF/F, kinetics, R_neck."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.calibration import concentration_change_from_dff
from rig.analysis.confidence import one_sided_z, two_sided_t, two_sided_z
from rig.analysis.imaging import (
    darkest_corner,
    footprint_copies,
    line_profile,
    matched_head_weights,
    normalise_by_corner,
    normalise_by_reference,
    register,
    roi_delta_f_over_f,
    split_by_led,
)
from rig.analysis.kinetics import PairedTransientFit, fit_paired_transients, half_width
from rig.analysis.quantal_mixture import fit_release_probability
from rig.analysis.responses import release_probability
from rig.datatypes.kind_meta import NaCaMeta
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan, rising_edges
from rig.model.combine import combine_normal
from rig.model.neck_resistance import Interval, NeckAssumptions, neck_resistance_interval
from rig.protocols.na_ca.decay_bound import DecayBounds, decay_upper_bounds
from rig.protocols.na_ca.schema import CALCIUM_INDICATORS, SODIUM_INDICATORS, NaCaStep
from rig.protocols.shared.common import AnalysisUpdate

# The decay counts as resolved while its 95 % interval lies within this factor of the fitted value.
MAX_KINETICS_SPREAD = 10.0
# The rise and half-decay (read from the fitted model) are published two-sided while both ends of their interval are
# finite and within this factor of the value: three decades either side span every time a spine's Na+ transient
# can take (0.01 ms to 10 s), so such an interval states nothing; it only comes from the delta method on a fit
# whose constants are not resolved (a log-SD above 3.5), and a bound, or nothing, says what the data do.
MAX_DERIVED_SPREAD = 1e3
# Rows that rest on the decay (unit, bound kind): each sweep's estimate renews or withdraws every one of them.
KINETICS_ROWS = {"tau_na_ms": ("ms", ""), "na_half_decay_ms": ("ms", ""), "na_rise_10_90_ms": ("ms", ""),
                 "na_peak_mM": ("mM", ""), "neck_resistance_MOhm": ("MOhm", ""), "tau_na_upper_bound_ms": ("ms", "upper"),
                 "na_half_decay_upper_bound_ms": ("ms", "upper"), "neck_resistance_upper_bound_MOhm": ("MOhm", "upper")}


def frame_leds(plan: SweepPlan, frame_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LED lit for each delivered frame and its time (ms), from the recorded trigger and LED outputs."""
    cam = plan.camera
    assert cam is not None
    edges = rising_edges(plan.outputs[cam.trigger_channel])
    numbers = np.asarray(frame_numbers, dtype=int)
    if numbers.size and (numbers.min() < 0 or numbers.max() >= edges.size):
        raise ValueError(f"frame numbers {numbers.min()}..{numbers.max()} do not match {edges.size} triggers")
    at = edges[numbers] + 1
    leds = np.empty(numbers.size, dtype=object)
    for led, channel in plan.meta.kind_as(NaCaMeta).led_channels:
        leds[plan.outputs[channel][at] > 0.5] = led
    return leds, edges[numbers] / plan.sample_rate_hz * 1000.0


def camera_of(plan: SweepPlan) -> CameraAcquisition:
    """The plan's camera acquisition (every na_ca sweep has one); ValueError for a sweep without."""
    if plan.camera is None:
        raise ValueError(f"sweep {plan.sweep_in_step + 1} of '{plan.step_name}' acquires no camera frames")
    return plan.camera


def disc_mask(plan: SweepPlan, centre_um: tuple[float, float], radius_um: float) -> np.ndarray:
    """Pixels whose centre is within radius of a sample-plane point."""
    xs, ys = camera_of(plan).pixel_centers_um()
    return (xs[None, :] - centre_um[0]) ** 2 + (ys[:, None] - centre_um[1]) ** 2 <= radius_um**2


class NaCaAnalysis:
    """Per sweep: the sodium and calcium head signals; across sweeps: decay, peak [Na+], R_neck, successes."""

    def __init__(self, step: NaCaStep):
        self.step = step
        self.spec = step.analysis
        self._reference_image: dict[str, np.ndarray] = {}
        self._bleaching: dict[str, np.ndarray] = {}
        self._na_traces: list[np.ndarray] = []
        self._na_times: list[np.ndarray] = []
        self._na_sweeps: list[int] = []
        self._warned: set[str] = set()
        self._standing: set[str] = set()  # kinetics rows published and not withdrawn

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Process one sweep's frames."""
        cam = plan.camera
        assert cam is not None
        frames = data[f"{cam.camera}.frames"].astype(float)
        leds, times = frame_leds(plan, data[f"{cam.camera}.frame_number"])
        numbers = np.asarray(data[f"{cam.camera}.frame_number"], dtype=int)
        channels = split_by_led(frames, leds, times)
        update = AnalysisUpdate()
        if not plan.meta.kind_as(NaCaMeta).stimulated:  # the no-stimulus sweep: bleaching and registration reference
            self._learn_reference(plan, channels, numbers)
            return update
        step = plan.step_name
        stim_ms = sorted(plan.events_ms.values())
        for li in self.step.leds:
            ch = channels.get(li.led)
            if ch is None or len(ch.frames) < 6:
                update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: too few {li.led} frames",
                                             sweep_index))
                continue
            dff, t = self._roi_signal(plan, li.led, ch, numbers[ch.indices], stim_ms[0], update, sweep_index)
            if li.ion == "calcium":
                sign = -1.0 if CALCIUM_INDICATORS[li.indicator]["falls_with_ca"] else 1.0
                ca = sign * dff  # bis-fura-2 falls with calcium: shown inverted
                update.features.append(Feature(sweep_index, step, "ca_peak_dff", float(np.max(ca)), math.nan,
                                               math.nan, "1"))
                continue
            self._sodium(plan, li.indicator, dff, t, stim_ms, ch, update, sweep_index)
        return update

    def _roi_signal(self, plan, led, ch, numbers, first_stim_ms, update, sweep_index):
        """Head dF/F of one LED channel: normalised (reference region or corner), registered, local background."""
        frames = self._normalise(plan, ch.frames)
        reference = self._reference_image.get(led)
        if reference is not None:
            frames, shift = register(frames, reference)
            update.features.append(Feature(sweep_index, plan.step_name, f"registration_shift_px_{led}",
                                           float(np.hypot(*shift)), math.nan, math.nan, "px"))
        baseline = slice(0, max(2, int(np.sum(ch.times_ms < first_stim_ms))))
        profile = reference if reference is not None else frames[baseline].mean(axis=0)
        head, bg = self._head_and_background(plan, profile)
        dff = roi_delta_f_over_f(frames, head, bg, baseline)
        drift = self._bleaching.get(led)
        if drift is not None and self.spec.subtract_no_stimulus_drift:  # bleaching is slow: a smooth fit
            dff = dff - np.polyval(drift, ch.times_ms)
        self._last_frames, self._last_baseline, self._last_times = frames, baseline, ch.times_ms
        self._channel_numbers = numbers
        return dff, ch.times_ms

    def _normalise(self, plan: SweepPlan, frames: np.ndarray) -> np.ndarray:
        """Divide out the LED intensity (and common bleaching) frame by frame."""
        rois = self.step.rois
        if rois.reference_um:
            reference = np.logical_or.reduce([disc_mask(plan, p, rois.reference_radius_um) for p in rois.reference_um])
            dark = disc_mask(plan, rois.background_um, 2 * rois.radius_um)
            return normalise_by_reference(frames, reference, dark)
        return normalise_by_corner(frames, darkest_corner(frames.mean(axis=0), self.spec.corner_px))

    def _head_and_background(self, plan: SweepPlan, image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Head ROI weights and their background: the head's footprint moved to the local points, else the far one.

        With local background points and a mean image, the head ROI is weighted by the head's own light in that
        image (matched to the head's blurred profile, within twice the ROI radius); otherwise a hard disc.
        """
        rois = self.step.rois
        head = disc_mask(plan, rois.head_um, rois.radius_um)
        if not rois.local_background_um:
            return head, disc_mask(plan, rois.background_um, 2 * rois.radius_um)
        cam = camera_of(plan)
        r0, c0 = cam.um_to_pixel(rois.head_um)
        offsets = []
        for p in rois.local_background_um:
            r, c = cam.um_to_pixel(p)
            offsets.append((int(round(r - r0)), int(round(c - c0))))
        if image is not None and self.spec.weighted_head_roi:
            near = disc_mask(plan, rois.head_um, 2 * rois.radius_um)
            head = matched_head_weights(image, near, offsets)
        return head, footprint_copies(head, offsets)

    def _learn_reference(self, plan, channels, numbers) -> None:
        """From the no-stimulus sweep: the registration image and the bleaching drift of each LED channel."""
        first_stim = self.step.stimulus.onsets_ms[0] + plan.meta.kind_as(NaCaMeta).frame_lead_ms
        for led, ch in channels.items():
            frames = self._normalise(plan, ch.frames)
            self._reference_image[led] = frames.mean(axis=0)
            head, bg = self._head_and_background(plan, self._reference_image[led])
            baseline = slice(0, max(2, int(np.sum(ch.times_ms < first_stim))))
            dff = roi_delta_f_over_f(frames, head, bg, baseline)
            self._bleaching[led] = np.polyfit(ch.times_ms, dff, 2)

    def _sodium(self, plan, indicator, dff, t, stim_ms, ch, update, sweep_index) -> None:
        """Head [Na+] of this sweep; the influx model fitted to every sweep so far (shared kinetics)."""
        step = plan.step_name
        props = SODIUM_INDICATORS[indicator]
        na = np.array([concentration_change_from_dff(v, self.spec.resting_sodium_mM, props["kd_mM"],
                                                     props["dynamic_range"]) for v in dff])
        self._na_traces.append(na)
        self._na_sweeps.append(sweep_index)
        self._na_times.append(np.asarray(t, float) + camera_of(plan).exposure_ms / 2)
        fit = fit_paired_transients(self._na_times, self._na_traces, stim_ms)
        if not fit.converged:
            rows = self._bound_estimates(sweep_index, step, self._decay_bounds(stim_ms), ("tau", "half", "neck"))
            if not rows:
                update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: no sodium transient in "
                                             f"{len(self._na_traces)} sweep(s) ({fit.message})", sweep_index))
                return
            why = (f"the joint fit finds no positive response in {len(self._na_traces)} sweep(s) ({fit.message}), "
                   "but the profile of its decay bounds it")
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: {why}: published as upper "
                                         "bounds only", sweep_index))
            update.estimates += self._standing_now(sweep_index, step, rows, why)
            return
        peaks = [self._peak_and_sd(fit, k) for k in range(len(self._na_traces))]
        amplitude, amplitude_sd = peaks[-1]
        z = two_sided_z(self.spec.confidence_level)
        update.features += [
            Feature(sweep_index, step, "na_peak_mM", amplitude, amplitude - z * amplitude_sd,
                    amplitude + z * amplitude_sd, "mM"),
            Feature(sweep_index, step, "na_success", float(amplitude > 2.5 * amplitude_sd), math.nan, math.nan, "1"),
            Feature(sweep_index, step, "na_spatial_extent_um", self._spatial_extent(plan, fit), math.nan, math.nan,
                    "um"),
        ]
        update.estimates += self._estimates(sweep_index, step, fit, np.array([p for p, _ in peaks]),
                                            np.array([sd for _, sd in peaks]), plan, update)

    @staticmethod
    def _peak_and_sd(fit: PairedTransientFit, sweep: int) -> tuple[float, float]:
        """A sweep's model peak (mM) and its SD from the amplitudes' SDs at the peak time."""
        amps = fit.amplitudes[sweep]
        t = fit.peak_time_ms(amps)
        weights = fit.curve(np.array([t]), np.eye(amps.size))[0]  # d(peak)/d(amplitude_i)
        sd = float(np.sqrt(np.sum((weights * fit.amplitude_sd[sweep]) ** 2)))
        return fit.peak(amps), sd

    def _spatial_extent(self, plan: SweepPlan, fit: PairedTransientFit) -> float:
        """FWHM (um) of the dF profile at the sodium peak along the line through the spine."""
        frames, baseline, times = self._last_frames, self._last_baseline, self._last_times
        t_peak = fit.peak_time_ms(fit.amplitudes[-1])
        k_peak = int(np.argmin(np.abs(times - t_peak)))
        delta = frames[max(0, k_peak - 1):k_peak + 2].mean(axis=0) - frames[baseline].mean(axis=0)
        cam = camera_of(plan)
        p0 = cam.um_to_pixel(self.step.rois.profile_start_um)
        p1 = cam.um_to_pixel(self.step.rois.profile_end_um)
        values, dist_px = line_profile(delta, p0, p1, 200)
        return half_width(dist_px, values) * cam.pixel_size_um * cam.binning

    @property
    def sodium_frame_ms(self) -> float:
        """Time between two sodium frames (ms): one frame of each LED per cycle."""
        return len(self.step.leds) * 1000.0 / self.step.frame_rate_hz

    def _kinetics_resolved(self, fit: PairedTransientFit, spread: float) -> str:
        """Empty when the fit resolves the Na+ decay; else why not (for the notice)."""
        frame_ms = self.sodium_frame_ms
        if not math.isfinite(spread) or spread > MAX_KINETICS_SPREAD:
            return (f"its 95 % interval is wider than a factor {MAX_KINETICS_SPREAD:g} (fitted tau_Na "
                    f"{fit.tau_decay_ms:.3g} ms, one sodium frame every {frame_ms:g} ms)")
        if fit.tau_decay_ms < frame_ms:
            return (f"the fitted tau_Na {fit.tau_decay_ms:.3g} ms is shorter than the {frame_ms:g} ms between sodium "
                    "frames")
        return ""

    def _notice_once(self, update: AnalysisUpdate, sweep_index: int, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: {message}", sweep_index))

    def _decay_bounds(self, stim_ms: list[float]) -> DecayBounds:
        """Profile-likelihood upper bounds on tau_Na and the half-decay from every sweep so far (decay_bound.py)."""
        longest = max(float(np.max(t)) for t in self._na_times) - min(stim_ms)
        return decay_upper_bounds(self._na_times, self._na_traces, stim_ms, self.spec.confidence_level,
                                  self.sodium_frame_ms, longest)

    def _bound_estimates(self, sweep_index: int, step: str, bounds: DecayBounds, rows: tuple[str, ...]
                         ) -> list[Estimate]:
        """The upper-bound rows named in `rows` ("tau", "half", "neck") from the profile bounds (finite ones only)."""
        level = self.spec.confidence_level
        head = (f"one-sided {level:.0%} bound: profile likelihood of the influx model's slower time constant, "
                f"{len(self._na_traces)} sweep(s) (best {bounds.best_tau_ms:.3g} ms); >= one sodium frame "
                f"({bounds.frame_ms:g} ms)")  # the run file keeps 256 characters of a basis
        out = []
        if "tau" in rows and math.isfinite(bounds.tau_ms):
            out.append(Estimate(sweep_index, step, "tau_na_upper_bound_ms", bounds.tau_ms, math.nan, bounds.tau_ms,
                                "ms", f"tau_Na <= the slower constant: {head}", bound="upper"))
        if "half" in rows and math.isfinite(bounds.half_decay_ms):
            out.append(Estimate(sweep_index, step, "na_half_decay_upper_bound_ms", bounds.half_decay_ms, math.nan,
                                bounds.half_decay_ms, "ms", "half-decay with both time constants at the tau bound "
                                f"(the slowest it allows); {head}", bound="upper"))
        if "neck" in rows and math.isfinite(bounds.tau_ms):
            one_sided = one_sided_z(level)
            best = bounds.best_tau_ms
            low = best * best / bounds.tau_ms  # mirrored: ln(bound / best) is z one-sided log-SDs of tau
            assumptions = self._neck_assumptions()
            r = neck_resistance_interval(Interval(best, low, bounds.tau_ms, "ms"), assumptions, one_sided)
            out.append(Estimate(sweep_index, step, "neck_resistance_upper_bound_MOhm", r.high, math.nan, r.high,
                                "MOhm", "R <= rho_i tau D / V, tau <= tau_na_upper_bound_ms, the assumptions' "
                                f"uncertainty folded in one-sided ({level:.0%}); " + assumptions.describe(),
                                bound="upper"))
        return out

    def _neck_assumptions(self) -> NeckAssumptions:
        a = self.spec
        return NeckAssumptions(a.cytoplasm_resistivity_ohm_cm, a.resistivity_rel_sd, a.sodium_diffusion_um2_per_ms,
                               0.0, a.head_volume_um3, a.head_volume_rel_sd, a.head_volume_source)

    def _estimates(self, sweep_index: int, step: str, fit: PairedTransientFit, peaks: np.ndarray,
                   peak_sds: np.ndarray, plan: SweepPlan, update: AnalysisUpdate) -> list[Estimate]:
        """Spine estimates from the joint fit: decay, half-decay, rise, mean peak, R_neck, success probability.

        The kinetics (and the peak and R_neck, which rest on them) are published two-sided only while the fit
        resolves the decay; a decay the sodium frames do not resolve is published as one-sided upper bounds
        (tau_na_upper_bound_ms, na_half_decay_upper_bound_ms, neck_resistance_upper_bound_MOhm), and so is a
        half-decay whose interval is unbounded; a rise whose interval is unbounded is not published."""
        level = self.spec.confidence_level
        z = two_sided_z(level)
        n = len(self._na_traces)
        tau = fit.tau_decay_ms
        spread = _spread(z, fit.tau_decay_log_sd)
        stim_ms = list(fit.onsets_ms)
        out = [self._success_estimate(sweep_index, step, peaks, peak_sds, level)]
        why = self._kinetics_resolved(fit, spread)
        if why:
            out += self._unresolved(sweep_index, step, stim_ms, update,
                                    f"sodium decay too fast to resolve at this frame rate ({self.step.frame_rate_hz:g} "
                                    f"Hz, {len(self.step.leds)} LEDs): {why}")
            return out
        rise, half = fit.kinetics(fit.amplitudes.mean(axis=0))
        rise_spread, half_spread = (_spread(z, sd) for sd in (fit.rise_log_sd, fit.half_decay_log_sd))
        if peaks.size > 1:
            half_width_peak = float(two_sided_t(level, peaks.size - 1) * peaks.std(ddof=1)
                                    / np.sqrt(peaks.size))
        else:
            half_width_peak = z * float(peak_sds[0])
        peak = float(peaks.mean())
        peak_low, peak_high = peak - half_width_peak, peak + half_width_peak
        peak_basis = f"peak of the fitted model in each of {peaks.size} sweep(s); Grynkiewicz calibration"
        trend = ""
        if peaks.size >= 3 and np.all(np.isfinite(peak_sds)) and np.all(peak_sds > 0):
            # the light of every sweep runs the head's Na+ entry down (photodamage; plasticity may move it too): the
            # value is the present one, the weighted line of the per-sweep peaks at the last sweep, not their average
            # (rig.model.combine); a significant trend is reported as such
            present = combine_normal(peaks.tolist(), peak_sds.tolist(), z, name="na_peak_mM",
                                     sweeps=self._na_sweeps[-peaks.size:], drift_expected=True)
            peak, peak_low, peak_high, trend = present.value, present.low, present.high, present.trend
            peak_basis += (f"; the value is the present one, a weighted line of the per-sweep peaks on sweep number at "
                           f"the last sweep (over its last {present.n} sweeps" + (f"; {trend})" if trend else ")"))
        basis = (f"influx model (shared delay, rise, decay; amplitudes per stimulus and sweep) fitted jointly to "
                 f"{n} sweep(s) at mid-exposure times")
        kinetics = [Estimate(sweep_index, step, "tau_na_ms", tau, tau / spread, tau * spread, "ms", basis)]
        if _bounded(half, half_spread):
            kinetics.append(Estimate(sweep_index, step, "na_half_decay_ms", half, half / half_spread,
                                     half * half_spread, "ms", basis))
        else:
            bounds = self._decay_bounds(stim_ms)
            kinetics += self._bound_estimates(sweep_index, step, bounds, ("half",))
            self._notice_once(update, sweep_index, "half", f"the half-decay's 95 % interval is unbounded (fitted "
                              f"{half:.3g} ms, factor {half_spread:.3g}): published as na_half_decay_upper_bound_ms"
                              + ("" if math.isfinite(bounds.half_decay_ms) else ", which the sweeps do not bound "
                                 "either: none yet"))
        if _bounded(rise, rise_spread):
            kinetics.append(Estimate(sweep_index, step, "na_rise_10_90_ms", rise, rise / rise_spread,
                                     rise * rise_spread, "ms", basis))
        else:
            self._notice_once(update, sweep_index, "rise", f"no na_rise_10_90_ms: its 95 % interval is unbounded "
                              f"(fitted {rise:.3g} ms, factor {rise_spread:.3g}), and an upper bound would say "
                              "nothing either: the 10-90 % rise runs to whichever stimulus gives the peak, and the "
                              "frames do not tell")
        kinetics.append(Estimate(sweep_index, step, "na_peak_mM", peak, peak_low, peak_high, "mM", peak_basis,
                                 trend=trend))
        assumptions = self._neck_assumptions()
        r = neck_resistance_interval(Interval(tau, tau / spread, tau * spread, "ms"), assumptions, z)
        kinetics.append(Estimate(sweep_index, step, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                                 "R = rho_i tau_Na D_Na / V; " + assumptions.describe()))
        return out + self._standing_now(sweep_index, step, kinetics, "the decay is resolved now; a row whose "
                                        "interval is unbounded is not published")

    def _unresolved(self, sweep_index: int, step: str, stim_ms: list[float], update: AnalysisUpdate,
                    why: str) -> list[Estimate]:
        """What the sweeps bound when the joint fit does not resolve the decay: the upper-bound rows (notice once)."""
        bounds = self._decay_bounds(stim_ms)
        rows = self._bound_estimates(sweep_index, step, bounds, ("tau", "half", "neck"))
        self._notice_once(update, sweep_index, "unresolved", f"{why}; published as one-sided "
                          f"{self.spec.confidence_level:.0%} upper bounds (tau_na_upper_bound_ms, "
                          "na_half_decay_upper_bound_ms, neck_resistance_upper_bound_MOhm) instead of tau_na_ms, "
                          "na_half_decay_ms and neck_resistance_MOhm, once the sweeps bound it; no na_rise_10_90_ms or "
                          "na_peak_mM (a transient faster than the frames has its rise and peak between them) until "
                          "it is resolved (image faster, or a single LED)")
        if not rows:
            self._notice_once(update, sweep_index, "unbounded", f"no Na+ decay bound yet: the {len(self._na_traces)} "
                              f"sweep(s) do not bound it within the {bounds.points} time constants profiled up to "
                              "the sweep's end")
        return self._standing_now(sweep_index, step, rows, "the sweeps no longer resolve the decay: " + why)

    def _standing_now(self, sweep_index: int, step: str, rows: list[Estimate], why: str) -> list[Estimate]:
        """`rows`, and a withdrawal (NaN) of every kinetics row an earlier sweep published that they do not renew:
        the estimates that stand are what the sweeps show now, never a two-sided value beside its bound."""
        names = {e.name for e in rows}
        withdrawn = [Estimate(sweep_index, step, name, math.nan, math.nan, math.nan, unit, f"withdrawn: {why}",
                              bound=bound) for name, (unit, bound) in KINETICS_ROWS.items()
                     if name in self._standing and name not in names]
        self._standing = names
        return rows + withdrawn

    def _success_estimate(self, sweep_index: int, step: str, peaks: np.ndarray, peak_sds: np.ndarray,
                          level: float) -> Estimate:
        """Fraction of sweeps whose stimuli released at the head: a failure/release mixture over every sweep's
        model peak and its SD (rig/analysis/quantal_mixture.py), not a count of peaks above 2.5 SD, which misses
        releases that do not stand out of one sweep's noise."""
        sds = np.where(np.isfinite(peak_sds) & (peak_sds > 0), peak_sds, np.inf)
        if not np.all(np.isfinite(sds)) or peaks.size < 2:
            p = release_probability(int(np.sum(peaks > 2.5 * sds)), peaks.size, level)
            return Estimate(sweep_index, step, "success_probability", p.value, 0.0, 1.0, "1",
                            f"{peaks.size} sweep(s); the peaks' noise is not known yet: no interval narrower than "
                            "[0, 1]")
        fit = fit_release_probability(peaks, sds, level)
        return Estimate(sweep_index, step, "success_probability", fit.value, fit.low, fit.high, "1",
                        f"{int(np.sum(peaks > 2.5 * sds))}/{peaks.size} sweeps with a head Na+ peak above 2.5 SD; "
                        "probability from a failure/release mixture over every sweep's peak (mean release "
                        f"{fit.mean_per_release:.3g} mM, {fit.separation:.1f} x its noise SD), profile-likelihood "
                        "interval")


def _bounded(value: float, spread: float) -> bool:
    """A two-sided interval [value / spread, value * spread] with both ends finite and meaningful."""
    return math.isfinite(value) and value > 0 and math.isfinite(spread) and spread <= MAX_DERIVED_SPREAD


def _spread(z: float, log_sd: float) -> float:
    """Factor exp(z sd) of a log-normal interval; inf when sd is not finite or the factor overflows a float
    (math.exp raises OverflowError, "math range error", beyond ~1e308)."""
    if not math.isfinite(log_sd) or z * log_sd > math.log(float(np.finfo(float).max)):
        return math.inf
    return math.exp(z * log_sd)
