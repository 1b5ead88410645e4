"""Galvo waveforms in the sample plane (um): scan lines and frames with fill fraction, smooth turnaround, binning."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScanLineSpec:
    """One scan line in the sample plane and how it is sampled.

    Each line slot has `active_samples` (pixels x samples_per_pixel) on the line, then
    `turnaround_samples` in which the mirror turns (unidirectional: flies back to the start;
    bidirectional: reverses and the next line is scanned backwards).
    """

    start_um: tuple[float, float]
    end_um: tuple[float, float]
    pixels_per_line: int
    samples_per_pixel: int = 1
    fill_fraction: float = 0.8
    bidirectional: bool = False

    def __post_init__(self) -> None:
        if self.pixels_per_line < 1 or self.samples_per_pixel < 1:
            raise ValueError("pixels_per_line and samples_per_pixel must be >= 1")
        if not 0.0 < self.fill_fraction <= 1.0:
            raise ValueError(f"fill_fraction must be in (0, 1] (got {self.fill_fraction:g})")
        if self.turnaround_samples < 2:
            raise ValueError(f"fill fraction {self.fill_fraction:g} leaves {self.turnaround_samples} turnaround "
                             "samples; the mirror needs at least 2")

    @property
    def active_samples(self) -> int:
        """Samples on the line (the pixels, binned)."""
        return self.pixels_per_line * self.samples_per_pixel

    @property
    def samples_per_line(self) -> int:
        """Samples of one line slot: active samples over the fill fraction."""
        return int(round(self.active_samples / self.fill_fraction))

    @property
    def turnaround_samples(self) -> int:
        """Samples of the turnaround (flyback) after each line."""
        return self.samples_per_line - self.active_samples

    def line_rate_hz(self, sample_rate_hz: float) -> float:
        """Lines per second at a sample rate."""
        return sample_rate_hz / self.samples_per_line


def hermite(p0: float, m0: float, p1: float, m1: float, n_between: int) -> np.ndarray:
    """`n_between` samples of the cubic joining p0 (slope m0 per sample) to p1 (slope m1), ends excluded."""
    span = n_between + 1
    s = np.arange(1, n_between + 1) / span
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    return h00 * p0 + h10 * m0 * span + h01 * p1 + h11 * m1 * span


def line_fraction(spec: ScanLineSpec, n_lines: int) -> np.ndarray:
    """Position along the line (0 = start, 1 = end) of every sample of n_lines consecutive lines.

    Active samples sit at pixel-sample centres, (k + 0.5) / active; turnarounds are cubics that
    match position and velocity at both ends, so the mirror never sees a velocity step.
    """
    a, t = spec.active_samples, spec.turnaround_samples
    v = 1.0 / a
    forward = (np.arange(a) + 0.5) / a
    first, last = forward[0], forward[-1]
    if not spec.bidirectional:
        period = np.concatenate((forward, hermite(last, v, first, v, t)))
        return np.tile(period, n_lines)
    backward = forward[::-1]
    period = np.concatenate((forward, hermite(last, v, last, -v, t), backward, hermite(first, -v, first, v, t)))
    return np.tile(period, (n_lines + 1) // 2)[: n_lines * spec.samples_per_line]


def line_waveform_um(spec: ScanLineSpec, n_lines: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y positions (um) of n_lines scan lines along the spec's line."""
    f = line_fraction(spec, n_lines)
    (sx, sy), (ex, ey) = spec.start_um, spec.end_um
    return sx + f * (ex - sx), sy + f * (ey - sy)


@dataclass(frozen=True)
class FrameScanSpec:
    """A raster frame: fast axis x along each line, y stepped line by line, then a frame flyback."""

    centre_um: tuple[float, float]
    width_um: float
    height_um: float
    pixels_per_line: int
    lines: int
    samples_per_pixel: int = 1
    fill_fraction: float = 0.8
    bidirectional: bool = False
    flyback_lines: int = 2

    def line_spec(self) -> ScanLineSpec:
        """The fast-axis line of the frame."""
        cx, cy = self.centre_um
        half = self.width_um / 2.0
        return ScanLineSpec((cx - half, cy), (cx + half, cy), self.pixels_per_line, self.samples_per_pixel,
                            self.fill_fraction, self.bidirectional)

    @property
    def samples_per_frame(self) -> int:
        """Samples of one frame including its flyback lines."""
        return (self.lines + self.flyback_lines) * self.line_spec().samples_per_line

    def row_positions_um(self) -> np.ndarray:
        """y of each line's centre."""
        pitch = self.height_um / self.lines
        return self.centre_um[1] - self.height_um / 2.0 + (np.arange(self.lines) + 0.5) * pitch


def frame_waveform_um(spec: FrameScanSpec, n_frames: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x and y (um) of n_frames frames: y holds still on each line and moves only in turnarounds."""
    line = spec.line_spec()
    spl, a, t = line.samples_per_line, line.active_samples, line.turnaround_samples
    n_slots = spec.lines + spec.flyback_lines
    x, _ = line_waveform_um(line, n_slots)
    rows = spec.row_positions_um()
    y = np.empty(n_slots * spl)
    for k in range(spec.lines):
        y[k * spl: k * spl + a] = rows[k]
        if k + 1 < spec.lines:
            y[k * spl + a: (k + 1) * spl] = hermite(rows[k], 0.0, rows[k + 1], 0.0, t)
    fly_start = (spec.lines - 1) * spl + a
    y[fly_start:] = hermite(rows[-1], 0.0, rows[0], 0.0, n_slots * spl - fly_start)  # back to the first line
    return np.tile(x, n_frames), np.tile(y, n_frames)
