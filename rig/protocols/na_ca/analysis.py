"""Online Na/Ca analysis: split by the LED record, normalise, bleach-correct, register, ROI dF/F, kinetics, R_neck."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from rig.analysis.calibration import concentration_change_from_dff
from rig.analysis.imaging import (correct_bleaching, darkest_corner, line_profile, normalise_by_corner, register,
                                  roi_delta_f_over_f, split_by_led)
from rig.analysis.kinetics import half_decay_time, half_width, rise_time_10_90
from rig.analysis.responses import release_probability, response_detected
from rig.engine.records import Estimate, Feature, Notice
from rig.engine.sweep_plan import SweepPlan, rising_edges
from rig.model.combine import combine_log_normal
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


def exponential_decay_tau(t_ms: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit y = a exp(-t/tau) + c after the peak; (tau, sd)."""
    k = int(np.argmax(y))
    t, v = t_ms[k:] - t_ms[k], y[k:]
    if t.size < 4:
        raise ValueError("too few points after the peak to fit a decay")
    popt, pcov = optimize.curve_fit(lambda tt, a, tau, c: a * np.exp(-tt / tau) + c, t, v,
                                    p0=(max(v[0], 1e-6), max(t[-1] / 4, 1.0), 0.0), maxfev=5000)
    return float(popt[1]), float(np.sqrt(pcov[1, 1]))


class NaCaAnalysis:
    """Per sweep: the sodium and calcium head signals; across sweeps: decay, peak [Na+], R_neck, successes."""

    def __init__(self, step: NaCaStep):
        self.step = step
        self.spec = step.analysis
        self._reference: dict[str, dict[int, np.ndarray]] = {}
        self._reference_image: dict[str, np.ndarray] = {}
        self._taus: list[tuple[float, float, float]] = []
        self._half_decays: list[float] = []
        self._peaks: list[float] = []
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
            for led, ch in channels.items():
                self._reference[led] = dict(zip(numbers[ch.indices].tolist(), ch.frames))
                self._reference_image[led] = ch.frames.mean(axis=0)
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
        rois = self.step.rois
        frames = ch.frames
        corner = darkest_corner(frames.mean(axis=0), self.spec.corner_px)
        frames = normalise_by_corner(frames, corner)
        ref = self._reference.get(led)
        if ref is not None:
            matched = [k for k in numbers if k in ref]
            if len(matched) == len(numbers):
                reference = np.stack([ref[k] for k in numbers])
                reference = normalise_by_corner(reference, corner)
                frames = correct_bleaching(frames, reference, slice(0, max(2, int(np.sum(ch.times_ms < first_stim_ms)))))
            image = self._reference_image[led]
            frames, shift = register(frames, image)
            update.features.append(Feature(sweep_index, plan.step_name, f"registration_shift_px_{led}",
                                           float(np.hypot(*shift)), math.nan, math.nan, "px"))
        baseline = slice(0, max(2, int(np.sum(ch.times_ms < first_stim_ms))))
        head = disc_mask(plan, rois.head_um, rois.radius_um)
        bg = disc_mask(plan, rois.background_um, 2 * rois.radius_um)
        dff = roi_delta_f_over_f(frames, head, bg, baseline)
        self._last_frames, self._last_baseline = frames, baseline
        return dff, ch.times_ms

    def _sodium(self, plan, indicator, dff, t, stim_ms, ch, update, sweep_index) -> None:
        step = plan.step_name
        props = SODIUM_INDICATORS[indicator]
        na = np.array([concentration_change_from_dff(v, self.spec.resting_sodium_mM, props["kd_mM"],
                                                     props["dynamic_range"]) for v in dff])
        after = t >= stim_ms[0]
        peak = float(np.max(na[after]))
        try:
            half = half_decay_time(t[after], na[after])
            rise = rise_time_10_90(t[after], na[after])
            tau, tau_sd = exponential_decay_tau(t[after], na[after])
        except (ValueError, RuntimeError) as exc:
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: sodium kinetics not "
                                         f"measurable ({exc})", sweep_index))
            return
        baseline = self._last_baseline
        frame_ms = float(np.median(np.diff(t)))
        for onset in stim_ms:
            k = int(np.searchsorted(t, onset))
            window = slice(k, min(len(dff), k + max(2, int(8 / frame_ms))))
            self._stimuli += 1
            self._successes += response_detected(dff, baseline, window)
        # spatial extent: dF image at the sodium peak along the line through the spine
        k_peak = int(np.argmax(na))
        delta = self._last_frames[max(0, k_peak - 1):k_peak + 2].mean(axis=0) - self._last_frames[baseline].mean(axis=0)
        cam = plan.camera
        p0 = cam.um_to_pixel(self.step.rois.profile_start_um)
        p1 = cam.um_to_pixel(self.step.rois.profile_end_um)
        values, dist_px = line_profile(delta, p0, p1, 200)
        extent_um = half_width(dist_px, values) * cam.pixel_size_um * cam.binning
        update.features += [
            Feature(sweep_index, step, "na_peak_mM", peak, math.nan, math.nan, "mM"),
            Feature(sweep_index, step, "na_half_decay_ms", half, math.nan, math.nan, "ms"),
            Feature(sweep_index, step, "na_rise_10_90_ms", rise, math.nan, math.nan, "ms"),
            Feature(sweep_index, step, "na_decay_tau_ms", tau, tau - 1.96 * tau_sd, tau + 1.96 * tau_sd, "ms"),
            Feature(sweep_index, step, "na_spatial_extent_um", extent_um, math.nan, math.nan, "um"),
        ]
        if not (np.isfinite(tau) and tau > 0 and np.isfinite(tau_sd) and tau_sd < tau):
            update.notices.append(Notice("warning", "na_ca", f"sweep {sweep_index + 1}: decay time constant not "
                                         "determined; excluded from the spine estimate", sweep_index))
            return
        self._taus.append((tau, max(tau - 1.96 * tau_sd, tau * 0.05), tau + 1.96 * tau_sd))
        self._half_decays.append(half)
        self._peaks.append(peak)
        update.estimates += self._estimates(sweep_index, step)

    def _estimates(self, sweep_index: int, step: str) -> list[Estimate]:
        z = float(stats.norm.ppf(0.5 + self.spec.confidence_level / 2))
        values, lows, highs = (list(v) for v in zip(*self._taus))
        tau = combine_log_normal(values, lows, highs, z)
        out = [Estimate(sweep_index, step, "na_decay_tau_ms", tau.value, tau.low, tau.high, "ms",
                        f"{tau.n} sweep(s), exponential fits of head [Na+]")]
        for name, vals, unit in (("na_half_decay_ms", self._half_decays, "ms"), ("na_peak_mM", self._peaks, "mM")):
            m = float(np.mean(vals))
            half = float(stats.t.ppf(0.5 + self.spec.confidence_level / 2, max(1, len(vals) - 1)) *
                         np.std(vals, ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else abs(m)
            out.append(Estimate(sweep_index, step, name, m, m - half, m + half, unit, f"mean of {len(vals)} sweep(s)"))
        a = self.spec
        assumptions = NeckAssumptions(a.cytoplasm_resistivity_ohm_cm, a.resistivity_rel_sd,
                                      a.sodium_diffusion_um2_per_ms, 0.0, a.head_volume_um3, a.head_volume_rel_sd,
                                      a.head_volume_source)
        r = neck_resistance_interval(Interval(tau.value, tau.low, tau.high, "ms"), assumptions, z)
        out.append(Estimate(sweep_index, step, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                            "R = rho_i tau_Na D_Na / V; " + assumptions.describe()))
        if self._stimuli:
            p = release_probability(self._successes, self._stimuli, self.spec.confidence_level)
            out.append(Estimate(sweep_index, step, "success_probability", p.value, p.low, p.high, "1",
                                f"{p.successes}/{p.trials} stimuli with a head response > 2.5 SD"))
        return out
