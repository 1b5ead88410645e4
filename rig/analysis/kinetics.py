"""Kinetics of a transient: 10-90 % rise time, half-decay time, half-width, FWHM of a profile."""

from __future__ import annotations

import numpy as np


def _crossing(t: np.ndarray, y: np.ndarray, level: float, start: int, step: int) -> float:
    """Time where y crosses level walking from index start in direction step (linear interpolation)."""
    i = start
    while 0 <= i + step < y.size:
        a, b = y[i], y[i + step]
        if (a - level) * (b - level) <= 0 and a != b:
            frac = (level - a) / (b - a)
            return float(t[i] + frac * (t[i + step] - t[i]))
        i += step
    return float("nan")


def rise_time_10_90(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Time from 10 % to 90 % of the peak on the rising phase."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    peak = y[k]
    return _crossing(t_ms, y, 0.9 * peak, k, -1) - _crossing(t_ms, y, 0.1 * peak, k, -1)


def half_decay_time(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Time from the peak to 50 % of the peak on the decay."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    return _crossing(t_ms, y, 0.5 * y[k], k, 1) - float(t_ms[k])


def half_width(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Full width at half maximum of a transient (or of a spatial profile, with t as position)."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    return _crossing(t_ms, y, 0.5 * y[k], k, 1) - _crossing(t_ms, y, 0.5 * y[k], k, -1)
