"""Release probability from the CaTs detected at the reversal, or a lower bound when releases go undetected (pure).

A sweep counts as a release when its template amplitude exceeds threshold x its baseline-noise SD. The detected
fraction q is p (1 - m) + (1 - p) f: m the fraction of releases that stay below the threshold (small CaTs,
a Ca-silent spine), f the false-positive rate of the threshold (normal tail). With m small the detected
fraction is the release probability (exact binomial interval); with m not small it only bounds it from below:
p >= (q - f) / (1 - f), at q's one-sided exact binomial lower limit (issue 11: a quantity the data only bound is
published under a bound's name).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from rig.analysis.responses import release_probability

MAX_MISSED_FRACTION = 0.05  # releases expected below the threshold beyond which the detected fraction is a bound


@dataclass(frozen=True)
class ReleaseDetection:
    """The release probability's estimate: two-sided (bound None) or a one-sided lower bound (bound 'lower'),
    and the lower bound that holds in either case (`lower_value`, `lower_bound`)."""

    value: float
    low: float
    high: float  # nan for a lower bound
    bound: str | None
    detected: int
    trials: int
    missed_fraction: float  # expected fraction of releases below the threshold
    lower_value: float  # the detected fraction with the false positives taken out
    lower_bound: float  # its one-sided lower limit


def missed_fraction(amplitudes: np.ndarray, noise_sd: np.ndarray, detected: np.ndarray, threshold_sd: float) -> float:
    """Expected fraction of releases below the threshold: the detected releases' mean and spread (beyond the
    noise) taken as the release amplitudes', each sweep's own noise. The detected ones are the larger releases,
    so this errs low; with no detection it is 1."""
    a, s, hit = (np.asarray(x) for x in (amplitudes, noise_sd, detected))
    if not hit.any():
        return 1.0
    mean = float(a[hit].mean())
    spread = max(float(a[hit].var()) - float(np.mean(s[hit] ** 2)), 0.0) if hit.sum() > 1 else 0.0
    return float(np.mean(stats.norm.cdf((threshold_sd * s - mean) / np.sqrt(s**2 + spread))))


def detected_release_probability(amplitudes: np.ndarray, noise_sd: np.ndarray, detected: np.ndarray,
                                 threshold_sd: float, level: float) -> ReleaseDetection:
    """The release probability from the detected fraction, or its lower bound when releases are missed."""
    hit = np.asarray(detected, bool)
    k, n = int(hit.sum()), int(hit.size)
    missed = missed_fraction(amplitudes, noise_sd, hit, threshold_sd)
    false_rate = float(stats.norm.sf(threshold_sd))
    q_low = float(stats.beta.ppf(1.0 - level, k, n - k + 1)) if k > 0 else 0.0

    def corrected(q: float) -> float:
        return max((q - false_rate) / (1.0 - false_rate), 0.0)

    lower_value, lower_bound = corrected(k / n), corrected(q_low)
    if missed <= MAX_MISSED_FRACTION:
        p = release_probability(k, n, level)
        return ReleaseDetection(p.value, p.low, p.high, None, k, n, missed, lower_value, lower_bound)
    return ReleaseDetection(lower_value, lower_bound, float("nan"), "lower", k, n, missed, lower_value, lower_bound)
