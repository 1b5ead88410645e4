"""Detecting responses and summarising trials: successes, ratios of means, release probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from rig.analysis.confidence import two_sided_t


def response_detected(trace: np.ndarray, baseline: slice, window: slice, threshold_sd: float = 2.5,
                      sign: int = 1) -> bool:
    """True when the peak in the window exceeds threshold_sd x the SD of the baseline noise."""
    base = np.asarray(trace[baseline], float)
    peak = float(np.max(sign * (np.asarray(trace[window], float) - base.mean())))
    return peak > threshold_sd * float(base.std(ddof=1))


@dataclass(frozen=True)
class Proportion:
    """A proportion with its Clopper-Pearson (exact binomial) interval."""

    value: float
    low: float
    high: float
    successes: int
    trials: int


def release_probability(successes: int, trials: int, level: float = 0.95) -> Proportion:
    """Success probability with an exact binomial interval."""
    if trials <= 0:
        raise ValueError("no trials")
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return Proportion(successes / trials, float(ci.low), float(ci.high), successes, trials)


@dataclass(frozen=True)
class Ratio:
    """A ratio of two means with its interval (Fieller's theorem)."""

    value: float
    low: float
    high: float


def ratio_of_means(numerator: np.ndarray, denominator: np.ndarray, level: float = 0.95) -> Ratio:
    """mean(numerator)/mean(denominator) with Fieller's interval for independent samples."""
    a = np.asarray(numerator, float)
    b = np.asarray(denominator, float)
    ma, mb = a.mean(), b.mean()
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    dof = max(1, min(a.size, b.size) - 1)
    t = two_sided_t(level, dof)
    r = ma / mb
    g = t**2 * vb / mb**2
    if g >= 1:  # denominator not significantly non-zero: the interval is unbounded
        return Ratio(float(r), -np.inf, np.inf)
    half = t / abs(mb) * np.sqrt(va + r**2 * vb - g * va)
    centre = r
    return Ratio(float(r), float((centre - half) / (1 - g)), float((centre + half) / (1 - g)))
