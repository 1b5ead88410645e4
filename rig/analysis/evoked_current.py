"""Evoked synaptic current of a voltage-clamp sweep: mean in a window after the stimulus minus baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EvokedCurrent:
    """Mean evoked current (pA, inward negative) and its SD from the baseline noise."""

    mean_pA: float
    sd_pA: float


def evoked_current(current_pA: np.ndarray, sample_rate_hz: float, stimulus_ms: float, window_ms: tuple[float, float],
                   baseline_ms: float) -> EvokedCurrent:
    """Mean current in [stimulus + window[0], stimulus + window[1]] minus the baseline's linear trend there.

    The trend is fitted over baseline_ms before the stimulus and extrapolated: after a holding change,
    slow channel currents relax through the sweep and a flat baseline would read them as a response.
    The SD treats the baseline as white noise (an underestimate when the noise is correlated).
    """
    i = np.asarray(current_pA, float)
    per_ms = sample_rate_hz / 1000.0
    s = int(round(stimulus_ms * per_ms))
    b0 = max(0, s - int(round(baseline_ms * per_ms)))
    w0, w1 = s + int(round(window_ms[0] * per_ms)), s + int(round(window_ms[1] * per_ms))
    if s - b0 < 3 or w1 > i.size or w1 - w0 < 3:
        raise ValueError("the sweep is too short for the baseline and response windows")
    base, resp = i[b0:s - 1], i[w0:w1]
    slope, intercept = np.polyfit(np.arange(b0, s - 1), base, 1)
    trend = slope * np.arange(w0, w1) + intercept
    residual_sd = float(np.std(base - (slope * np.arange(b0, s - 1) + intercept), ddof=2))
    sd = residual_sd * np.sqrt(1.0 / resp.size + 1.0 / base.size)
    return EvokedCurrent(float(np.mean(resp - trend)), sd)
