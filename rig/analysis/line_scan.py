"""Fold PMT samples of a line-scan sweep into lines, place points on the line, and sum regions of interest."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class LineScanGeometry(Protocol):
    """What the analysis reads of a sweep's line-scan layout (rig.datatypes.layouts.LineScanLayout provides it)."""

    @property
    def first_sample(self) -> int:
        """Sample index where the first line slot starts."""

    @property
    def samples_per_line(self) -> int:
        """Samples per line slot: the pixels, then the flyback."""

    @property
    def pixels_per_line(self) -> int:
        """Pixels of one line."""

    @property
    def n_slots(self) -> int:
        """Line slots in the sweep."""

    @property
    def start_um(self) -> tuple[float, float]:
        """Where the line starts in the sample plane."""

    @property
    def end_um(self) -> tuple[float, float]:
        """Where the line ends in the sample plane."""

    @property
    def line_length_um(self) -> float:
        """Length of the scan line."""

    def pixel_positions_um(self) -> np.ndarray:
        """Distance along the line of each pixel centre."""


def fold_lines(samples: np.ndarray, first_sample: int, samples_per_line: int, pixels_per_line: int,
               n_slots: int) -> np.ndarray:
    """Return the (n_slots, pixels_per_line) pixel array of a line scan (flyback dropped)."""
    stop = first_sample + n_slots * samples_per_line
    if samples.shape[0] < stop:
        raise ValueError(f"sweep has {samples.shape[0]} samples, the layout needs {stop}")
    return samples[first_sample:stop].reshape(n_slots, samples_per_line)[:, :pixels_per_line]


def line_times_ms(first_sample: int, samples_per_line: int, pixels_per_line: int, n_slots: int,
                  sample_rate_hz: float) -> np.ndarray:
    """Time of the middle of each line's pixels, from sweep start."""
    starts = first_sample + np.arange(n_slots) * samples_per_line
    return (starts + pixels_per_line / 2.0) / sample_rate_hz * 1000.0


def roi_mask_near(pixel_positions_um: np.ndarray, centre_um: float, radius_um: float) -> np.ndarray:
    """Boolean mask of pixels within radius of a position along the line."""
    return np.abs(pixel_positions_um - centre_um) <= radius_um


def along_line_um(start_um: tuple[float, float], end_um: tuple[float, float], line_length_um: float,
                  point_um: tuple[float, float]) -> float:
    """Distance (um) from the line's start to a point's orthogonal projection onto the scan line."""
    start = np.asarray(start_um, float)
    direction = (np.asarray(end_um, float) - start) / line_length_um
    return float(np.dot(np.asarray(point_um, float) - start, direction))
