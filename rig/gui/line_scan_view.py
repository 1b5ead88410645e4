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
