"""PMT samples -> scan lines and images: line phase, pixel binning, bidirectional lines, dark offset."""

from __future__ import annotations

from typing import Literal

import numpy as np

from rig.analysis.line_scan import fold_lines as fold_active_samples
from rig.engine.galvo_waveforms import FrameScanSpec, ScanLineSpec


def pmt_signal(volts: np.ndarray, invert: bool = False, dark_offset_V: float = 0.0) -> np.ndarray:
    """Preamp volts -> signal that rises with light, zero in the dark."""
    signal = np.asarray(volts, dtype=np.float64) - dark_offset_V
    return -signal if invert else signal


def phase_samples(line_phase_us: float, sample_rate_hz: float) -> int:
    """The line phase (PMT lag behind the galvo command) as a whole number of samples."""
    return int(round(line_phase_us * 1e-6 * sample_rate_hz))


def fold_lines(samples: np.ndarray, spec: ScanLineSpec, n_lines: int, first_sample: int = 0, phase: int = 0,
               reduce: Literal["mean", "sum"] = "mean") -> np.ndarray:
    """(n_lines, pixels_per_line) image of consecutive scan lines.

    `phase` shifts the sample window later (positive: the PMT signal lags the command). The
    `samples_per_pixel` samples of each pixel are averaged (analog PMTs) or summed (photon
    counts). Bidirectional odd lines are reversed so every row runs from start to end.
    """
    spl, a, spp = spec.samples_per_line, spec.active_samples, spec.samples_per_pixel
    begin = first_sample + phase
    stop = begin + n_lines * spl
    if begin < 0 or stop > samples.shape[0]:
        raise ValueError(f"lines need samples [{begin}, {stop}) but the record has {samples.shape[0]}")
    slots = np.asarray(fold_active_samples(samples, begin, spl, a, n_lines), dtype=np.float64)
    binned = slots.reshape(n_lines, spec.pixels_per_line, spp)
    pixels = binned.sum(axis=2) if reduce == "sum" else binned.mean(axis=2)
    if spec.bidirectional:
        pixels[1::2] = pixels[1::2, ::-1]
    return pixels


def fold_frames(samples: np.ndarray, spec: FrameScanSpec, n_frames: int, first_sample: int = 0, phase: int = 0,
                reduce: Literal["mean", "sum"] = "mean") -> np.ndarray:
    """(n_frames, lines, pixels_per_line) images of a frame scan (flyback lines dropped)."""
    line = spec.line_spec()
    per_frame = spec.samples_per_frame
    frames = [fold_lines(samples, line, spec.lines, first_sample + k * per_frame, phase, reduce)
              for k in range(n_frames)]
    return np.stack(frames)
