"""Voltage-sensitive-dye line scans: dF/F in ROIs, AP alignment, calibration to mV, isolated spine response.

Calibration (SCIENCE.md section 3, voltage imaging): each ROI's dF/F is first normalized by that ROI's own
dF/F during the steady state of a long hyperpolarizing step (at steady state no current flows through the neck,
so head and dendrite see the same step: this removes per-ROI differences in dye sensitivity and resting
fluorescence); one normalized unit is then converted to mV by one of two scales (`MvScale`):
- "step": the step's steady state at the imaged site, i.e. the recorded somatic steady state times the
  soma-to-site steady-state attenuation (a passive sealed-end cable of length L and space constant lambda at
  distance x: cosh((L - x)/lambda)/cosh(L/lambda), Rall; Stuart & Spruston 1998 J Neurosci 18:3501 measured it);
- "bap": the bAP in the parent-dendrite ROI has a known amplitude (Palmer & Stuart 2009 J Neurosci 29:6897).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats

from rig.analysis.calcium_signal import head_roi_counts
from rig.analysis.kinetics import half_width, rise_time_10_90
from rig.analysis.line_scan import LineScanGeometry, along_line_um, roi_mask_near


def delta_f_over_f(counts: np.ndarray, dark: float, baseline: np.ndarray) -> np.ndarray:
    """(F - F0)/F0 per line: dark subtracted, F0 the mean over the baseline lines (a boolean mask)."""
    f = np.asarray(counts, float) - dark
    if int(np.count_nonzero(baseline)) < 3:
        raise ValueError("fewer than 3 baseline lines before the event")
    f0 = float(np.mean(f[baseline]))
    if f0 <= 0:
        raise ValueError("no dye fluorescence above the dark level in the ROI: is the scan line on it?")
    return (f - f0) / f0


def parabolic_peak(t_ms: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(time, value) of the maximum of y, refined by a parabola through it and its neighbours."""
    t, v = np.asarray(t_ms, float), np.asarray(y, float)
    if v.size == 0:
        raise ValueError("empty window")
    k = int(np.argmax(v))
    if 0 < k < v.size - 1:
        a, b, c = v[k - 1], v[k], v[k + 1]
        denom = a - 2 * b + c
        if denom < 0:
            shift = 0.5 * (a - c) / denom
            dt = 0.5 * (t[k + 1] - t[k - 1])
            return float(t[k] + shift * dt), float(b - 0.25 * (a - c) * shift)
    return float(t[k]), float(v[k])


@dataclass(frozen=True)
class SomaticAp:
    """An AP in the somatic CC record: time of its peak and its amplitude above the baseline."""

    peak_ms: float
    amplitude_mV: float
    baseline_mV: float


def detect_ap(v_mV: np.ndarray, sample_rate_hz: float, pulse_ms: float, search_ms: float = 10.0,
              min_amplitude_mV: float = 30.0) -> SomaticAp:
    """The somatic AP evoked by a current pulse at pulse_ms: peak within search_ms; ValueError if none."""
    v = np.asarray(v_mV, float)
    k = sample_rate_hz / 1000.0
    a, b = int(round(pulse_ms * k)), int(round((pulse_ms + search_ms) * k))
    if a < 10 or b > v.size:
        raise ValueError("the AP search window lies outside the sweep")
    base = float(np.median(v[max(0, a - int(round(5 * k))):a]))
    t = np.arange(a, b) / k
    peak_ms, peak = parabolic_peak(t, v[a:b])
    if peak - base < min_amplitude_mV:
        raise ValueError(f"no AP: the somatic record rises only {peak - base:.1f} mV after the current pulse")
    return SomaticAp(peak_ms, peak - base, base)


def align(times_ms: np.ndarray, values: np.ndarray, event_ms: float, grid_ms: np.ndarray) -> np.ndarray:
    """Values resampled (linear interpolation) at grid_ms after the event; NaN outside the recorded lines."""
    rel = np.asarray(times_ms, float) - event_ms
    return np.interp(grid_ms, rel, np.asarray(values, float), left=np.nan, right=np.nan)


Trace = tuple[np.ndarray, np.ndarray]  # (times from the aligning event in ms, values)


@dataclass(frozen=True)
class MvScale:
    """What one normalized unit is in mV: kind "step" (value: the site's steady-state step in mV, negative) or
    "bap" (value: the bAP amplitude in the parent dendrite in mV)."""

    kind: str
    value_mV: float


@dataclass(frozen=True)
class Calibration:
    """How each ROI's dF/F becomes mV: divided by its hyperpolarization dF/F, times one mV scale."""

    hyp_dff: Mapping[str, float]  # steady-state dF/F of each ROI during the hyperpolarizing step (signed)
    bap_normalized: Mapping[str, float]  # bAP peak of each ROI in units of its hyperpolarization response
    mV_per_normalized: float  # mV of one normalized unit (the site's step, or the bAP scale)

    def to_mV(self, roi: str, dff: np.ndarray) -> np.ndarray:
        """A dF/F trace of an ROI in mV (depolarization positive)."""
        return self.mV_per_normalized * normalize(dff, self.hyp_dff[roi])


def normalize(dff: np.ndarray, hyp_dff: float) -> np.ndarray:
    """dF/F in units of the ROI's steady-state hyperpolarization response, depolarization positive."""
    if hyp_dff == 0 or not math.isfinite(hyp_dff):
        raise ValueError("the hyperpolarizing step gives no optical response to normalize by")
    return np.asarray(dff, float) / -hyp_dff


def calibrate(hyp_dff: Mapping[str, float], ap: Mapping[str, Trace], ap_window_ms: tuple[float, float],
              scale: MvScale, reference_roi: str = "dendrite") -> Calibration:
    """Normalize each ROI by its hyperpolarization response; one normalized unit is the site's step (scale "step")
    or the unit that makes the reference ROI's bAP scale.value_mV (scale "bap")."""
    peaks = {}
    for roi, (t, y) in ap.items():
        sel = (t >= ap_window_ms[0]) & (t <= ap_window_ms[1]) & np.isfinite(y)
        if sel.sum() < 1:
            raise ValueError("no line inside the AP window")
        peaks[roi] = parabolic_peak(t[sel], normalize(y, hyp_dff[roi])[sel])[1]
    ref = peaks[reference_roi]
    if ref <= 0:
        raise ValueError(f"the bAP gives no depolarizing optical signal in the {reference_roi} ROI (or the "
                         "hyperpolarizing step and the AP have the same sign)")
    if scale.kind == "step":
        if not scale.value_mV < 0:
            raise ValueError(f"the hyperpolarizing step does not hyperpolarize the soma ({scale.value_mV:.2f} mV)")
        return Calibration(dict(hyp_dff), peaks, -scale.value_mV)
    return Calibration(dict(hyp_dff), peaks, scale.value_mV / ref)


@dataclass(frozen=True)
class Response:
    """A calibrated averaged response: peak, baseline noise, detection, 10-90 % rise time (and the bound the lines
    give it) and half-width."""

    amplitude_mV: float
    peak_ms: float
    noise_sd_mV: float
    clear: bool
    rise_10_90_ms: float
    half_width_ms: float
    rise_10_90_bound_ms: float = math.nan


def rise_upper_bound_ms(t_ms: np.ndarray, y: np.ndarray, peak: float) -> float:
    """An upper bound of the 10-90 % rise of a sampled monotonic rise: from the last line at or below 10 % of the
    peak to the first later line at or above 90 % (the true crossings lie between them); NaN without such lines."""
    t, v = np.asarray(t_ms, float), np.asarray(y, float)
    k = int(np.argmax(v))
    low = np.flatnonzero(v[:k + 1] <= 0.1 * peak)
    if peak <= 0 or low.size == 0:
        return math.nan
    high = low[-1] + np.flatnonzero(v[low[-1]:] >= 0.9 * peak)
    return float(t[high[0]] - t[low[-1]]) if high.size else math.nan


BROAD_LINES = 3.0  # a response at least this many lines wide at half maximum is picked on a 3-line smoothed half
PICK_SMOOTHING = np.array([0.25, 0.5, 0.25])


def cross_validated_peak(t_ms: np.ndarray, halves: tuple[np.ndarray, np.ndarray], smooth: bool = False) -> float:
    """Peak of a response from two independent halves of its sweeps: the peak line is chosen on one half and read
    (with the parabolic refinement of its neighbours) on the other, both ways, averaged. Taking the maximum of a
    noisy average reads high by the largest noise excursion near the peak; a line chosen on independent sweeps has
    no such bias (it can only pick a line off the true peak, i.e. read low when the response is buried in noise).
    `smooth`: pick on the half smoothed over 3 lines (for a broad response: fewer picks of a noise spike)."""
    t = np.asarray(t_ms, float)
    out = []
    for pick, read in (halves, halves[::-1]):
        k = int(np.argmax(np.convolve(pick, PICK_SMOOTHING, mode="same") if smooth else pick))
        value = float(read[k])
        if 0 < k < t.size - 1:
            a, b, c = float(read[k - 1]), float(read[k]), float(read[k + 1])
            denom = a - 2 * b + c
            if denom < 0 and abs(0.5 * (a - c) / denom) <= 0.5:
                value = b - 0.125 * (a - c) ** 2 / denom
        out.append(value)
    return float(np.mean(out))


def measure_response(t_ms: np.ndarray, trace_mV: np.ndarray, window_ms: tuple[float, float],
                     threshold_sd: float, halves_mV: tuple[np.ndarray, np.ndarray] | None = None) -> Response:
    """Peak in the window above the pre-event baseline (t < 0); clear when above threshold_sd x baseline SD.

    With `halves_mV` (the averages of two independent halves of the sweeps, on t_ms) the peak is the
    cross-validated one (`cross_validated_peak`), else the parabolic maximum of the average. Rise time and
    half-width are computed either way (NaN when a crossing is missing); report them only for a clear response."""
    t, y = np.asarray(t_ms, float), np.asarray(trace_mV, float)
    base = t < 0
    win = (t >= window_ms[0]) & (t <= window_ms[1])
    if base.sum() < 3 or win.sum() < 3:
        raise ValueError("too few lines in the baseline or the response window")
    b = float(np.mean(y[base]))
    noise = float(np.std(y[base], ddof=1))
    peak_ms, peak = parabolic_peak(t[win], y[win] - b)
    span = (t >= -2.0) & (t <= 2 * window_ms[1] - window_ms[0])  # kinetics: the response and as long again
    rise = rise_time_10_90(t[span], y[span] - b)
    half = half_width(t[span], y[span] - b)
    if halves_mV is not None:
        parts = tuple(np.asarray(h, float) for h in halves_mV)
        line_ms = float(np.median(np.diff(t)))
        peak = cross_validated_peak(t[win], (parts[0][win] - np.mean(parts[0][base]),
                                             parts[1][win] - np.mean(parts[1][base])),
                                    smooth=bool(half >= BROAD_LINES * line_ms))
    bound = rise_upper_bound_ms(t[span], y[span] - b, peak)
    return Response(peak, peak_ms, noise, peak > threshold_sd * noise, rise, half, bound)


def bootstrap(groups: Sequence[np.ndarray], statistic: Callable[..., Mapping[str, float]], n_boot: int,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Replicates of statistic(*groups) with each group's rows (sweeps) resampled independently."""
    out: dict[str, list[float]] = {}
    for _ in range(n_boot):
        resampled = [g[rng.integers(0, g.shape[0], g.shape[0])] for g in groups]
        try:
            values = statistic(*resampled)
        except ValueError:
            continue
        for key, value in values.items():
            out.setdefault(key, []).append(value)
    return {k: np.asarray(v, float) for k, v in out.items()}


def percentile_interval(replicates: np.ndarray, level: float, min_fraction: float = 0.8) -> tuple[float, float]:
    """Percentile bootstrap interval; NaNs when fewer than min_fraction of the replicates are finite."""
    finite = replicates[np.isfinite(replicates)]
    if replicates.size == 0 or finite.size < min_fraction * replicates.size:
        return math.nan, math.nan
    lo, hi = np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


@dataclass(frozen=True)
class RoiTrace:
    """Counts per line in one ROI, the time each line crossed the ROI, and the dark counts per line."""

    times_ms: np.ndarray
    counts: np.ndarray
    dark: float


def roi_trace(samples: np.ndarray, layout: LineScanGeometry, sample_rate_hz: float, point_um: tuple[float, float],
              radius_um: float) -> RoiTrace:
    """ROI counts per line of a line-scan sweep (LineScanLayout), timed at the ROI's own pixels."""
    along = along_line_um(layout.start_um, layout.end_um, layout.line_length_um, point_um)
    positions = layout.pixel_positions_um()
    counts, dark = head_roi_counts(np.asarray(samples, float), layout.first_sample, layout.samples_per_line,
                                   layout.pixels_per_line, layout.n_slots, positions, along, radius_um)
    pixel = float(np.mean(np.flatnonzero(roi_mask_near(positions, along, radius_um)))) + 0.5
    starts = layout.first_sample + np.arange(layout.n_slots) * layout.samples_per_line
    return RoiTrace((starts + pixel) / sample_rate_hz * 1000.0, counts, dark)


@dataclass(frozen=True)
class VoltageResult:
    """Calibrated averaged responses of head, dendrite and the isolated spine response (head - dendrite)."""

    calibration: Calibration
    responses: Mapping[str, Response]
    traces_mV: Mapping[str, Trace]

    @property
    def bap_amplitude_mV(self) -> float:
        """The bAP peak in the parent-dendrite ROI in mV (the operator's value itself on the "bap" scale)."""
        return self.calibration.bap_normalized["dendrite"] * self.calibration.mV_per_normalized

    def values(self) -> dict[str, float]:
        """Every number as a flat name -> value mapping (what the bootstrap resamples)."""
        out = {"bap_amplitude_mV": self.bap_amplitude_mV,
               "bap_head_to_dendrite_ratio": self.calibration.bap_normalized["head"]
               / self.calibration.bap_normalized["dendrite"]}
        for name, r in self.responses.items():
            out[f"{name}_mV"] = r.amplitude_mV
            out[f"{name}_rise_10_90_ms"] = r.rise_10_90_ms
            out[f"{name}_rise_10_90_upper_bound_ms"] = r.rise_10_90_bound_ms
            out[f"{name}_half_width_ms"] = r.half_width_ms
        dend = self.responses["dendrite"].amplitude_mV
        out["head_to_dendrite_ratio"] = self.responses["head"].amplitude_mV / dend if dend > 0 else math.nan
        return out


MV_VALUES = ("head_mV", "dendrite_mV", "spine_minus_dendrite_mV", "bap_amplitude_mV")  # scale with the mV scale


def voltage_responses(synaptic: Mapping[str, Trace], ap: Mapping[str, Trace], hyp_dff: Mapping[str, float],
                      scale: MvScale, ap_window_ms: tuple[float, float], response_window_ms: tuple[float, float],
                      threshold_sd: float,
                      synaptic_halves: tuple[Mapping[str, Trace], Mapping[str, Trace]] | None = None) -> VoltageResult:
    """Averaged 'head' and 'dendrite' dF/F traces -> mV (hyperpolarization-normalized, one mV scale) -> peaks,
    detection and kinetics of head, dendrite and spine_minus_dendrite. With `synaptic_halves` (the averages of two
    independent halves of the synaptic sweeps, on the same grids) the peaks are cross-validated."""
    cal = calibrate(hyp_dff, ap, ap_window_ms, scale)

    def in_mV(traces_dff: Mapping[str, Trace]) -> dict[str, Trace]:
        out: dict[str, Trace] = {}
        for roi in ("head", "dendrite"):
            t, y = traces_dff[roi]
            ok = np.isfinite(y)
            out[roi] = (t[ok], cal.to_mV(roi, y[ok]))
        t_head, v_head = out["head"]
        v_dend = np.interp(t_head, *out["dendrite"], left=np.nan, right=np.nan)
        ok = np.isfinite(v_dend)
        out["spine_minus_dendrite"] = (t_head[ok], v_head[ok] - v_dend[ok])
        return out

    traces = in_mV(synaptic)
    halves = None if synaptic_halves is None else (in_mV(synaptic_halves[0]), in_mV(synaptic_halves[1]))
    responses = {}
    for name, (t, v) in traces.items():
        pair: tuple[np.ndarray, np.ndarray] | None = None
        if halves is not None:
            first, second = (np.interp(t, *h[name], left=np.nan, right=np.nan) for h in halves)
            pair = (first, second)
        responses[name] = measure_response(t, v, response_window_ms, threshold_sd, pair)
    return VoltageResult(cal, responses, traces)


@dataclass(frozen=True)
class AmplitudeTrend:
    """A straight line of per-sweep response size on sweep number: its two-sided p, the fold change it makes over
    the sweeps, and the present (last sweep's) size relative to the average over the sweeps, with that ratio's SE."""

    p_value: float
    fold: float
    present_factor: float
    present_rel_se: float
    first_sweep: int
    last_sweep: int


def amplitude_trend(t_ms: np.ndarray, rows_mV: np.ndarray, sweeps: Sequence[int],
                    window_ms: tuple[float, float]) -> AmplitudeTrend | None:
    """Per-sweep size of a response as its projection on the average response (the baseline of each subtracted)
    over the response window, and an ordinary least-squares line of it on sweep number (slope t test);
    None with fewer than 4 sweeps or no average response to project on."""
    t, y = np.asarray(t_ms, float), np.asarray(rows_mV, float)
    x = np.asarray(sweeps, float)
    if y.shape[0] < 4 or np.ptp(x) == 0:
        return None
    y = y - np.nanmean(y[:, t < 0], axis=1, keepdims=True)
    win = (t >= window_ms[0]) & (t <= window_ms[1]) & np.all(np.isfinite(y), axis=0)
    mean = y[:, win].mean(axis=0)
    norm = float(np.dot(mean, mean))
    if norm <= 0:
        return None
    size = y[:, win] @ mean / norm  # 1 on average
    fit = stats.linregress(x, size)
    centre = float(np.mean(size))
    if not centre > 0 or not math.isfinite(fit.pvalue):
        return None
    resid_sd = float(np.std(size - (fit.intercept + fit.slope * x), ddof=2))
    sxx = float(np.sum((x - x.mean()) ** 2))
    at_last = fit.intercept + fit.slope * x[-1]
    at_first = fit.intercept + fit.slope * x[0]
    se_last = resid_sd * math.sqrt(1.0 / x.size + (x[-1] - x.mean()) ** 2 / sxx)
    fold = at_last / at_first if at_first > 0 and at_last > 0 else math.nan
    return AmplitudeTrend(float(fit.pvalue), float(fold), float(at_last / centre), float(se_last / centre),
                          int(x[0]), int(x[-1]))
