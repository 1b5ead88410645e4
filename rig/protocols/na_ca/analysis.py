"""Online Na/Ca analysis: split by the LED record, normalise, bleach-correct, register, ROI dF/F, kinetics, R_neck."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.calibration import concentration_change_from_dff
from rig.analysis.confidence import two_sided_t, two_sided_z
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
from rig.protocols.na_ca.schema import CALCIUM_INDICATORS, SODIUM_INDICATORS, NaCaStep
from rig.protocols.shared.common import AnalysisUpdate

# The decay counts as resolved while its 95 % interval lies within this factor of the fitted value.
MAX_KINETICS_SPREAD = 10.0


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
        self._warned_unresolved = False

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
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: no sodium transient in "
                                         f"{len(self._na_traces)} sweep(s) ({fit.message})", sweep_index))
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

    def _kinetics_resolved(self, fit: PairedTransientFit, spread: float) -> str:
        """Empty when the fit resolves the Na+ decay; else why not (for the notice)."""
        frame_ms = len(self.step.leds) * 1000.0 / self.step.frame_rate_hz  # one frame of each LED per cycle
        if not math.isfinite(spread) or spread > MAX_KINETICS_SPREAD:
            return (f"its 95 % interval is wider than a factor {MAX_KINETICS_SPREAD:g} (fitted tau_Na "
                    f"{fit.tau_decay_ms:.3g} ms, one sodium frame every {frame_ms:g} ms)")
        if fit.tau_decay_ms < frame_ms:
            return (f"the fitted tau_Na {fit.tau_decay_ms:.3g} ms is shorter than the {frame_ms:g} ms between sodium "
                    "frames")
        return ""

    def _estimates(self, sweep_index: int, step: str, fit: PairedTransientFit, peaks: np.ndarray,
                   peak_sds: np.ndarray, plan: SweepPlan, update: AnalysisUpdate) -> list[Estimate]:
        """Spine estimates from the joint fit: decay, half-decay, rise, mean peak, R_neck, success probability.

        The kinetics (and the peak and R_neck, which rest on them) are published only while the fit resolves the
        decay; a decay faster than the sodium frames is reported once as too fast to resolve at this frame rate."""
        level = self.spec.confidence_level
        z = two_sided_z(level)
        n = len(self._na_traces)
        tau = fit.tau_decay_ms
        spread = _spread(z, fit.tau_decay_log_sd)
        out = [self._success_estimate(sweep_index, step, peaks, peak_sds, level)]
        why = self._kinetics_resolved(fit, spread)
        if why:
            if not self._warned_unresolved:
                self._warned_unresolved = True
                update.notices.append(Notice(
                    "warning", "na_ca", f"sweep {sweep_index + 1}: sodium decay too fast to resolve at this frame rate "
                    f"({self.step.frame_rate_hz:g} Hz, {len(self.step.leds)} LEDs): {why}; no tau_na_ms, "
                    "na_half_decay_ms, na_rise_10_90_ms, na_peak_mM or neck_resistance_MOhm until it is resolved "
                    "(image faster, or a single LED)", sweep_index))
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
        out += [
            Estimate(sweep_index, step, "tau_na_ms", tau, tau / spread, tau * spread, "ms", basis),
            Estimate(sweep_index, step, "na_half_decay_ms", half, half / half_spread, half * half_spread, "ms", basis),
            Estimate(sweep_index, step, "na_rise_10_90_ms", rise, rise / rise_spread, rise * rise_spread, "ms",
                     basis),
            Estimate(sweep_index, step, "na_peak_mM", peak, peak_low, peak_high, "mM", peak_basis, trend=trend),
        ]
        a = self.spec
        assumptions = NeckAssumptions(a.cytoplasm_resistivity_ohm_cm, a.resistivity_rel_sd,
                                      a.sodium_diffusion_um2_per_ms, 0.0, a.head_volume_um3, a.head_volume_rel_sd,
                                      a.head_volume_source)
        r = neck_resistance_interval(Interval(tau, tau / spread, tau * spread, "ms"), assumptions, z)
        out.append(Estimate(sweep_index, step, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                            "R = rho_i tau_Na D_Na / V; " + assumptions.describe()))
        return out

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


def _spread(z: float, log_sd: float) -> float:
    """Factor exp(z sd) of a log-normal interval; inf when sd is not finite or the factor overflows a float
    (math.exp raises OverflowError, "math range error", beyond ~1e308)."""
    if not math.isfinite(log_sd) or z * log_sd > math.log(float(np.finfo(float).max)):
        return math.inf
    return math.exp(z * log_sd)
