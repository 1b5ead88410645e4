"""Online Na/Ca analysis: split by the LED record, normalise, bleach-correct, register, ROI dF/F, kinetics, R_neck."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from rig.analysis.calibration import concentration_change_from_dff
from rig.analysis.imaging import (darkest_corner, line_profile, normalise_by_corner, register, roi_delta_f_over_f,
                                  split_by_led)
from rig.analysis.kinetics import half_decay_time, half_width, rise_time_10_90
from rig.analysis.responses import release_probability
from rig.analysis.transients import fit_template, scale_template
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan, rising_edges
from rig.model.neck_resistance import Interval, NeckAssumptions, neck_resistance_interval
from rig.protocols.common import AnalysisUpdate
from rig.protocols.na_ca.schema import CALCIUM_INDICATORS, SODIUM_INDICATORS, NaCaStep


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
    for led, channel in plan.parameters["led_channels"].items():
        leds[plan.outputs[channel][at] > 0.5] = led
    return leds, edges[numbers] / plan.sample_rate_hz * 1000.0


def disc_mask(plan: SweepPlan, centre_um: tuple[float, float], radius_um: float) -> np.ndarray:
    """Pixels whose centre is within radius of a sample-plane point."""
    xs, ys = plan.camera.pixel_centers_um()  # type: ignore[union-attr]
    return (xs[None, :] - centre_um[0]) ** 2 + (ys[:, None] - centre_um[1]) ** 2 <= radius_um**2


class NaCaAnalysis:
    """Per sweep: the sodium and calcium head signals; across sweeps: decay, peak [Na+], R_neck, successes."""

    def __init__(self, step: NaCaStep):
        self.step = step
        self.spec = step.analysis
        self._reference_image: dict[str, np.ndarray] = {}
        self._bleaching: dict[str, np.ndarray] = {}
        self._na_traces: list[np.ndarray] = []
        self._amplitudes: list[tuple[float, float]] = []
        self._grid_t = np.empty(0)
        self._successes = 0
        self._stimuli = 0

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Process one sweep's frames."""
        cam = plan.camera
        assert cam is not None
        frames = data[f"{cam.camera}.frames"].astype(float)
        leds, times = frame_leds(plan, data[f"{cam.camera}.frame_number"])
        numbers = np.asarray(data[f"{cam.camera}.frame_number"], dtype=int)
        channels = split_by_led(frames, leds, times)
        update = AnalysisUpdate()
        if not plan.parameters["stimulated"]:  # the no-stimulus sweep: bleaching and registration reference
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
        """Head dF/F of one LED channel: corner-normalised, registered, minus the no-stimulus sweep's drift."""
        rois = self.step.rois
        frames = normalise_by_corner(ch.frames, darkest_corner(ch.frames.mean(axis=0), self.spec.corner_px))
        reference = self._reference_image.get(led)
        if reference is not None:
            frames, shift = register(frames, reference)
            update.features.append(Feature(sweep_index, plan.step_name, f"registration_shift_px_{led}",
                                           float(np.hypot(*shift)), math.nan, math.nan, "px"))
        baseline = slice(0, max(2, int(np.sum(ch.times_ms < first_stim_ms))))
        head = disc_mask(plan, rois.head_um, rois.radius_um)
        bg = self._background_mask(plan)
        dff = roi_delta_f_over_f(frames, head, bg, baseline)
        drift = self._bleaching.get(led)
        if drift is not None:  # bleaching is slow: subtract a smooth fit of the no-stimulus sweep's dF/F
            dff = dff - np.polyval(drift, ch.times_ms)
        self._last_frames, self._last_baseline, self._last_times = frames, baseline, ch.times_ms
        self._channel_numbers = numbers
        return dff, ch.times_ms

    def _background_mask(self, plan: SweepPlan) -> np.ndarray:
        """Local background discs beside the dendrite if given, else the far background."""
        rois = self.step.rois
        if rois.local_background_um:
            return np.logical_or.reduce([disc_mask(plan, p, rois.radius_um) for p in rois.local_background_um])
        return disc_mask(plan, rois.background_um, 2 * rois.radius_um)

    def _learn_reference(self, plan, channels, numbers) -> None:
        """From the no-stimulus sweep: the registration image and the bleaching drift of each LED channel."""
        rois = self.step.rois
        first_stim = self.step.stimulus.onsets_ms[0] + plan.parameters["frame_lead_ms"]
        for led, ch in channels.items():
            frames = normalise_by_corner(ch.frames, darkest_corner(ch.frames.mean(axis=0), self.spec.corner_px))
            self._reference_image[led] = frames.mean(axis=0)
            head = disc_mask(plan, rois.head_um, rois.radius_um)
            bg = self._background_mask(plan)
            baseline = slice(0, max(2, int(np.sum(ch.times_ms < first_stim))))
            dff = roi_delta_f_over_f(frames, head, bg, baseline)
            self._bleaching[led] = np.polyfit(ch.times_ms, dff, 2)

    def _sodium(self, plan, indicator, dff, t, stim_ms, ch, update, sweep_index) -> None:
        """Head [Na+] of this sweep onto the nominal frame grid; template fitted to the running average."""
        step = plan.step_name
        props = SODIUM_INDICATORS[indicator]
        na = np.array([concentration_change_from_dff(v, self.spec.resting_sodium_mM, props["kd_mM"],
                                                     props["dynamic_range"]) for v in dff])
        grid_numbers, grid_t = self._sodium_grid(plan, ch.led)
        trace = np.full(grid_numbers.size, np.nan)
        trace[np.searchsorted(grid_numbers, self._channel_numbers)] = na  # a dropped frame stays a gap
        self._na_traces.append(trace)
        self._grid_t = grid_t
        with warnings.catch_warnings():  # a frame dropped in every sweep so far leaves an all-gap column
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.vstack(self._na_traces), axis=0)
        ok = np.isfinite(mean)
        template = fit_template(grid_t[ok], mean[ok], stim_ms[0], min_decay_to_rise=1.5)
        if not template.converged:
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: no sodium transient in the "
                                         f"average of {len(self._na_traces)} sweep(s) ({template.message})",
                                         sweep_index))
            return
        valid = np.isfinite(trace)
        amplitude, amplitude_sd = scale_template(template, grid_t[valid], trace[valid], stim_ms[0])
        self._amplitudes.append((amplitude, amplitude_sd))
        success = amplitude > 2.5 * amplitude_sd
        self._successes += int(success)
        self._stimuli += 1
        update.features += [
            Feature(sweep_index, step, "na_peak_mM", amplitude, amplitude - 1.96 * amplitude_sd,
                    amplitude + 1.96 * amplitude_sd, "mM"),
            Feature(sweep_index, step, "na_success", float(success), math.nan, math.nan, "1"),
            Feature(sweep_index, step, "na_spatial_extent_um", self._spatial_extent(plan, template, stim_ms[0]),
                    math.nan, math.nan, "um"),
        ]
        update.estimates += self._estimates(sweep_index, step, template)

    def _sodium_grid(self, plan: SweepPlan, led: str) -> tuple[np.ndarray, np.ndarray]:
        """Frame numbers and times (ms) of every frame the plan lights with this LED."""
        all_numbers = np.arange(plan.camera.n_frames)  # type: ignore[union-attr]
        leds, times = frame_leds(plan, all_numbers)
        mine = leds == led
        return all_numbers[mine], times[mine]

    def _spatial_extent(self, plan: SweepPlan, template, stimulus_ms: float) -> float:
        """FWHM (um) of the dF profile at the sodium peak along the line through the spine."""
        frames, baseline, times = self._last_frames, self._last_baseline, self._last_times
        fine = np.arange(stimulus_ms, times[-1], 0.1)
        t_peak = float(fine[int(np.argmax(template.shape(fine)))])
        k_peak = int(np.argmin(np.abs(times - t_peak)))
        delta = frames[max(0, k_peak - 1):k_peak + 2].mean(axis=0) - frames[baseline].mean(axis=0)
        cam = plan.camera
        p0 = cam.um_to_pixel(self.step.rois.profile_start_um)
        p1 = cam.um_to_pixel(self.step.rois.profile_end_um)
        values, dist_px = line_profile(delta, p0, p1, 200)
        return half_width(dist_px, values) * cam.pixel_size_um * cam.binning

    def _estimates(self, sweep_index: int, step: str, template) -> list[Estimate]:
        """Spine estimates from the template of the average and the per-sweep amplitudes."""
        level = self.spec.confidence_level
        z = float(stats.norm.ppf(0.5 + level / 2))
        n = len(self._na_traces)
        tau, tau_sd = template.tau_decay_ms, template.tau_decay_sd_ms
        spread = math.exp(z * tau_sd / tau) if np.isfinite(tau_sd) and tau > 0 else math.inf
        fine = np.arange(0.0, self._grid_t[-1] + 200.0, 0.05)
        curve = template.shape(fine)
        half = half_decay_time(fine, curve)
        rise = rise_time_10_90(fine, curve)
        amps = np.array([a for a, _ in self._amplitudes])
        if amps.size > 1:
            half_width_peak = float(stats.t.ppf(0.5 + level / 2, amps.size - 1) * amps.std(ddof=1) / np.sqrt(amps.size))
        else:
            half_width_peak = z * self._amplitudes[0][1]
        peak = float(amps.mean())
        basis = f"difference-of-exponentials template on the average of {n} sweep(s)"
        out = [
            Estimate(sweep_index, step, "tau_na_ms", tau, tau / spread, tau * spread, "ms", basis),
            Estimate(sweep_index, step, "na_half_decay_ms", half, half / spread, half * spread, "ms", basis),
            Estimate(sweep_index, step, "na_rise_10_90_ms", rise, math.nan, math.nan, "ms", basis),
            Estimate(sweep_index, step, "na_peak_mM", peak, peak - half_width_peak, peak + half_width_peak, "mM",
                     f"template scaled to each of {amps.size} sweep(s); Grynkiewicz calibration"),
        ]
        if math.isfinite(spread):
            a = self.spec
            assumptions = NeckAssumptions(a.cytoplasm_resistivity_ohm_cm, a.resistivity_rel_sd,
                                          a.sodium_diffusion_um2_per_ms, 0.0, a.head_volume_um3, a.head_volume_rel_sd,
                                          a.head_volume_source)
            r = neck_resistance_interval(Interval(tau, tau / spread, tau * spread, "ms"), assumptions, z)
            out.append(Estimate(sweep_index, step, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                                "R = rho_i tau_Na D_Na / V; " + assumptions.describe()))
        p = release_probability(self._successes, self._stimuli, level)
        out.append(Estimate(sweep_index, step, "success_probability", p.value, p.low, p.high, "1",
                            f"{p.successes}/{p.trials} sweeps whose head Na+ amplitude exceeds 2.5 SD"))
        return out
