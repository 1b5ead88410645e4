"""Pure views of a line-scan sweep in progress: the kymograph and the head-ROI fluorescence per line."""

from __future__ import annotations

import numpy as np

from rig.analysis.line_scan import along_line_um, line_times_ms, roi_mask_near
from rig.datatypes.sweep_plan import SweepPlan


def kymograph(samples: np.ndarray, plan: SweepPlan) -> np.ndarray:
    """(line slots, pixels) counts; slots not yet acquired (NaN samples) stay NaN."""
    layout = plan.line_scan
    assert layout is not None
    stop = layout.first_sample + layout.n_slots * layout.samples_per_line
    block = samples[layout.first_sample:stop]
    if block.shape[0] < stop - layout.first_sample:
        block = np.concatenate((block, np.full(stop - layout.first_sample - block.shape[0], np.nan, np.float32)))
    return block.reshape(layout.n_slots, layout.samples_per_line)[:, :layout.pixels_per_line]


def head_trace(samples: np.ndarray, plan: SweepPlan, roi_radius_um: float) -> tuple[np.ndarray, np.ndarray]:
    """(time ms, head counts per line) of the lines so far; parked (bleach) slots are NaN."""
    layout = plan.line_scan
    assert layout is not None
    lines = kymograph(samples, plan)
    times = line_times_ms(layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots,
                          plan.sample_rate_hz)
    if plan.target_um is None:
        along = layout.line_length_um / 2
    else:
        along = along_line_um(layout.start_um, layout.end_um, layout.line_length_um, plan.target_um)
    mask = roi_mask_near(layout.pixel_positions_um(), along, roi_radius_um)
    counts = lines[:, mask].sum(axis=1).astype(np.float64)
    counts[list(layout.park_slots)] = np.nan
    return times, counts


def roi_dff(samples: np.ndarray, plan: SweepPlan, point_um: tuple[float, float], radius_um: float,
            baseline_end_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """(time ms, dF/F) per line of a ROI on the scan line so far: dark (flyback) subtracted, F0 the lines before
    `baseline_end_ms`; empty until three baseline lines are in. A display of the live sweep (the VSD analysis,
    rig.analysis.voltage_imaging, computes the numbers that count the same way on the whole sweep)."""
    layout = plan.line_scan
    assert layout is not None
    empty = np.zeros(0), np.zeros(0)
    lines = kymograph(samples, plan)
    stop = layout.first_sample + layout.n_slots * layout.samples_per_line
    block = samples[layout.first_sample:stop]
    if block.shape[0] < stop - layout.first_sample or layout.samples_per_line <= layout.pixels_per_line:
        flyback = np.zeros(1)
    else:
        flyback = block.reshape(layout.n_slots, layout.samples_per_line)[:, layout.pixels_per_line:]
    finite = flyback[np.isfinite(flyback)]
    if finite.size == 0:
        return empty
    start = np.asarray(layout.start_um, float)
    direction = (np.asarray(layout.end_um, float) - start) / layout.line_length_um
    along = float(np.dot(np.asarray(point_um, float) - start, direction))
    mask = roi_mask_near(layout.pixel_positions_um(), along, radius_um)
    if not mask.any():
        return empty
    counts = lines[:, mask].sum(axis=1).astype(np.float64) - float(finite.mean()) * int(mask.sum())
    counts[list(layout.park_slots)] = np.nan
    times = line_times_ms(layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots,
                          plan.sample_rate_hz)
    base = (times < baseline_end_ms) & np.isfinite(counts)
    if int(base.sum()) < 3:
        return empty
    f0 = float(counts[base].mean())
    if f0 <= 0:
        return empty
    ok = np.isfinite(counts)
    return times[ok], counts[ok] / f0 - 1.0
