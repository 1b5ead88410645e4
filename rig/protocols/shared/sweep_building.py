"""Building blocks of sweep plans shared by protocol kinds: line scans, stimulus pulses, clamp commands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.datatypes.layouts import LineScanLayout
from rig.engine.galvo_waveforms import ScanLineSpec, line_waveform_um

Point = tuple[float, float]


@dataclass(frozen=True)
class LineScanWaveforms:
    """Galvo x/y and Pockels power of a line-scan sweep, and how its samples fold into lines."""

    x_um: np.ndarray
    y_um: np.ndarray
    power: np.ndarray
    layout: LineScanLayout
    sample_rate_hz: float


def _point(p: Point) -> Point:
    return float(p[0]), float(p[1])


def line_scan(start_um: Point, end_um: Point, pixels_per_line: int, fill_fraction: float, line_rate_hz: float,
              imaging_power: float, lead_samples_ms: float, n_slots: int, park_slots: tuple[int, ...] = (),
              park_um: Point | None = None, tail_samples: int = 2) -> LineScanWaveforms:
    """Line scan with smooth turnarounds, the beam blanked outside the pixels, optional parked slots.

    Parked slots hold the beam at `park_um` with the Pockels off (the caller adds any pulse).
    The last `tail_samples` are dark with the beam at the line start.
    """
    spec = ScanLineSpec(_point(start_um), _point(end_um), pixels_per_line, 1, fill_fraction)
    spl = spec.samples_per_line
    rate = spl * line_rate_hz
    lead = int(round(lead_samples_ms * rate / 1000.0))
    n = lead + n_slots * spl + tail_samples
    x = np.full(n, float(start_um[0]))
    y = np.full(n, float(start_um[1]))
    power = np.zeros(n)
    line_x, line_y = line_waveform_um(spec, 1)
    for k in range(n_slots):
        a = lead + k * spl
        if k in park_slots:
            assert park_um is not None
            x[a:a + spl], y[a:a + spl] = park_um
        else:
            x[a:a + spl], y[a:a + spl] = line_x, line_y
            power[a:a + pixels_per_line] = imaging_power
    layout = LineScanLayout(lead, spl, pixels_per_line, n_slots, tuple(park_slots), _point(start_um), _point(end_um),
                            line_rate_hz)
    return LineScanWaveforms(x, y, power, layout, rate)


def pulse_train(n_samples: int, sample_rate_hz: float, onsets_ms: list[float], width_ms: float,
                amplitude: float) -> np.ndarray:
    """A waveform of rectangular pulses (stimulus isolator, TTL) at the given onsets."""
    wave = np.zeros(n_samples)
    width = max(1, int(round(width_ms * sample_rate_hz / 1000.0)))
    for onset in onsets_ms:
        a = int(round(onset * sample_rate_hz / 1000.0))
        if a < 0 or a + width > n_samples:
            raise ValueError(f"pulse at {onset:g} ms does not fit in a sweep of {n_samples / sample_rate_hz * 1e3:g} ms")
        wave[a:a + width] = amplitude
    return wave


def gate(n_samples: int, tail_samples: int = 2) -> np.ndarray:
    """A TTL high for the whole sweep but its last samples (shutter open while imaging)."""
    wave = np.ones(n_samples)
    wave[n_samples - tail_samples:] = 0.0
    return wave
