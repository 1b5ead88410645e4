"""Calcium signals of a line scan: dark-subtracted dG/R in the head ROI, and detection by a matched template."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.analysis.calibration import bound_fraction
from rig.analysis.line_scan import LineScanGeometry, along_line_um, fold_lines, line_times_ms, roi_mask_near


@dataclass(frozen=True)
class RatioTrace:
    """dG/R per line in the head ROI (G and R dark-subtracted; R averaged over the sweep)."""

    times_ms: np.ndarray
    dg_over_r: np.ndarray
    g_over_r_baseline: float
    red_counts_per_line: float


def head_roi_counts(samples: np.ndarray, first_sample: int, samples_per_line: int, pixels_per_line: int,
                    n_slots: int, pixel_positions_um: np.ndarray, centre_um: float, radius_um: float
                    ) -> tuple[np.ndarray, float]:
    """Counts in the ROI per line, and the dark counts per line from the flyback samples (beam blanked)."""
    lines = fold_lines(samples, first_sample, samples_per_line, pixels_per_line, n_slots)
    mask = roi_mask_near(pixel_positions_um, centre_um, radius_um)
    if not mask.any():
        raise ValueError(f"no pixel lies within {radius_um:g} um of the head on the scan line")
    stop = first_sample + n_slots * samples_per_line
    slots = samples[first_sample:stop].reshape(n_slots, samples_per_line)
    dark = float(np.mean(slots[:, pixels_per_line:])) if samples_per_line > pixels_per_line else 0.0
    return lines[:, mask].sum(axis=1).astype(float), dark * int(mask.sum())


def dg_over_r(green: np.ndarray, red: np.ndarray, times_ms: np.ndarray, dark_green: float, dark_red: float,
              baseline_end_ms: float) -> RatioTrace:
    """(G - G0)/R per line: dark subtracted, G0 the mean before baseline_end_ms, R the sweep's mean.

    R (the Ca-insensitive marker) is averaged over the sweep: per-line red counts are few, and
    dividing by a noisy denominator would bias and widen the ratio.
    """
    g = np.asarray(green, float) - dark_green
    r = float(np.mean(np.asarray(red, float) - dark_red))
    if r <= 0:
        raise ValueError("no red (marker) signal above the dark level in the head ROI: is the line on the spine?")
    base = times_ms < baseline_end_ms
    if base.sum() < 3:
        raise ValueError("fewer than 3 baseline lines before the stimulus")
    g0 = float(np.mean(g[base]))
    return RatioTrace(np.asarray(times_ms, float), (g - g0) / r, g0 / r, r)


def line_ratio_trace(samples_green: np.ndarray, samples_red: np.ndarray, layout: LineScanGeometry, target_um: tuple[float, float],
                     radius_um: float, sample_rate_hz: float, baseline_end_ms: float) -> RatioTrace:
    """dG/R per line of a sweep, from its LineScanLayout and the head position."""
    along = along_line_um(layout.start_um, layout.end_um, layout.line_length_um, target_um)
    args = (layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots,
            layout.pixel_positions_um(), along, radius_um)
    g, dark_g = head_roi_counts(np.asarray(samples_green, float), *args)
    r, dark_r = head_roi_counts(np.asarray(samples_red, float), *args)
    times = line_times_ms(layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots,
                          sample_rate_hz)
    return dg_over_r(g, r, times, dark_g, dark_r, baseline_end_ms)


def calcium_change_uM(delta_g_over_r: np.ndarray | float, g_over_r_rest: np.ndarray | float, kd_uM: float,
                      dynamic_range: float, rest_uM: float) -> np.ndarray:
    """Free [Ca] change (uM) for a G/R change from rest, through the indicator's binding (single wavelength).

    G/R = f_min (1 + (R_f - 1) b), b = [Ca]/([Ca] + Kd) the bound fraction, R_f = F_max/F_min; f_min follows
    from the resting G/R with the head at rest_uM. Near saturation a dG/R ratio understates the larger of
    two Ca changes (at the reversal in fCaT); the Ca change does not. Meant for fitted amplitudes, not
    single noisy lines (the inverse binding curve amplifies noise near F_max).
    """
    if kd_uM <= 0 or dynamic_range <= 1 or rest_uM < 0:
        raise ValueError("calibration needs Kd > 0, F_max/F_min > 1 and a resting [Ca] >= 0")
    f0 = np.asarray(g_over_r_rest, float)
    if np.any(f0 <= 0):
        raise ValueError("no green (indicator) signal above the dark level at rest: cannot calibrate")
    b_rest = float(bound_fraction(rest_uM, kd_uM))
    f_min = f0 / (1.0 + (dynamic_range - 1.0) * b_rest)
    bound = np.clip(((f0 + np.asarray(delta_g_over_r, float)) / f_min - 1.0) / (dynamic_range - 1.0), 0.0, 0.995)
    return kd_uM * bound / (1.0 - bound) - rest_uM


def matched_amplitude_sd(shape: np.ndarray, baseline_sd: float) -> float:
    """SD of a template-scaled amplitude when the trace is white noise of baseline_sd (offset fitted too)."""
    centred = np.asarray(shape, float) - float(np.mean(shape))
    energy = float(np.sum(centred**2))
    if energy <= 0:
        raise ValueError("the template is flat on this time axis")
    return baseline_sd / np.sqrt(energy)
