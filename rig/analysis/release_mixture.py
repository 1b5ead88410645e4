"""Mean response per release in two conditions of one synapse: a failure/success mixture with a shared release
probability, fitted to every trial (failures included), and a bootstrap interval for the ratio of the means.

Each trial's amplitude a_i (template-scaled, noise SD s_i from its own baseline) is a failure, N(0, s_i^2),
with probability 1 - p, or a release, N(mu_c, s_i^2 + v_c), with probability p; p is the same in both
conditions (the same synapse, stimulated the same way). Fitted by EM (Dempster, Laird & Rubin 1977). When
releases stand far out of the noise this is the mean of the successes; when they do not (a small CC response)
mu_c tends to mean(a)/p, the all-trial mean over the release probability the other condition measures, so
neither a detection threshold nor a template fitted to successes biases it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.analysis.confidence import two_sided_t, two_sided_z

DETECTION_SD = 2.5  # SCIENCE.md: a response is detected when it exceeds 2.5 x the baseline-noise SD
BOOTSTRAP_ITERATIONS = 150  # EM steps per resample


@dataclass(frozen=True)
class ReleaseMixture:
    """Fitted mixture (arrays over a leading axis of resamples, or 0-d for one fit)."""

    p: np.ndarray
    mean_a: np.ndarray  # mean amplitude per release, condition a
    mean_b: np.ndarray
    var_a: np.ndarray  # spread of the release amplitudes beyond the noise
    var_b: np.ndarray


def _log_normal(x: np.ndarray, mean: np.ndarray | float, var: np.ndarray) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def _responsibility(a: np.ndarray, s2: np.ndarray, p: np.ndarray, mean: np.ndarray, var: np.ndarray,
                    failure_density: np.ndarray) -> np.ndarray:
    """P(release | a_i); `failure_density` is _log_normal(a, 0, s2), fixed over the EM steps (computed once)."""
    log_hit = np.log(p)[..., None] + _log_normal(a, mean[..., None], s2 + var[..., None])
    log_miss = np.log1p(-p)[..., None] + failure_density
    return 1.0 / (1.0 + np.exp(np.clip(log_miss - log_hit, -700, 700)))


def _means(a: np.ndarray, s2: np.ndarray, r: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = r / (s2 + var[..., None])
    mean = np.sum(w * a, axis=-1) / np.maximum(np.sum(w, axis=-1), 1e-300)
    spread = np.sum(r * ((a - mean[..., None]) ** 2 - s2), axis=-1) / np.maximum(np.sum(r, axis=-1), 1e-12)
    return mean, np.maximum(spread, 0.0)


def _detection_start(a: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM's start from the 2.5 SD rule in one condition: p from its detections, their mean, a 30 % spread."""
    n = a.shape[-1]
    hits = a > DETECTION_SD * np.sqrt(s2)
    p = np.clip(hits.mean(axis=-1), 0.5 / n, 1 - 0.5 / n)
    mean = np.where(hits.any(axis=-1), np.sum(a * hits, axis=-1) / np.maximum(hits.sum(axis=-1), 1), a.max(axis=-1))
    return p, mean, (0.3 * mean) ** 2


def fit_release_mixture(a: np.ndarray, sd_a: np.ndarray, b: np.ndarray, sd_b: np.ndarray,
                        iterations: int = 300, start: ReleaseMixture | None = None) -> ReleaseMixture:
    """EM fit of the shared-p mixture to trials of condition a (where releases are detected) and b.

    Arrays have trials on the last axis and may carry leading axes (resamples). Starts from `start` (e.g. the
    fit to the data a bootstrap resamples: fewer iterations), else from the 2.5 SD rule in condition a: p
    from its detections, mu_a their mean, mu_b the all-trial mean of b over p.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    s2a, s2b = np.asarray(sd_a, float) ** 2, np.asarray(sd_b, float) ** 2
    n_a, n_b = a.shape[-1], b.shape[-1]
    lead = a.shape[:-1]
    if start is not None:
        p, mean_a, mean_b, var_a, var_b = (np.broadcast_to(np.asarray(x, float), lead).copy() for x in
                                           (start.p, start.mean_a, start.mean_b, start.var_a, start.var_b))
        var_b = np.maximum(var_b, 1e-6 * s2b.mean(axis=-1))  # a zero spread would be a fixed point of EM
        var_a = np.maximum(var_a, 1e-6 * s2a.mean(axis=-1))
    else:
        p, mean_a, var_a = _detection_start(a, s2a)
        mean_b = b.mean(axis=-1) / p
        var_b = (0.5 * mean_b) ** 2 + s2b.mean(axis=-1)
    scale = np.maximum(np.abs(mean_a), 1e-12)
    failure_a, failure_b = _log_normal(a, 0.0, s2a), _log_normal(b, 0.0, s2b)
    for _ in range(iterations):
        ra = _responsibility(a, s2a, p, mean_a, var_a, failure_a)
        rb = _responsibility(b, s2b, p, mean_b, var_b, failure_b)
        previous = (p, mean_a, mean_b)
        p = np.clip((ra.sum(axis=-1) + rb.sum(axis=-1)) / (n_a + n_b), 1e-6, 1 - 1e-6)
        mean_a, var_a = _means(a, s2a, ra, var_a)
        mean_b, var_b = _means(b, s2b, rb, var_b)
        change = max(float(np.max(np.abs(p - previous[0]))), float(np.max(np.abs(mean_a - previous[1]) / scale)),
                     float(np.max(np.abs(mean_b - previous[2]) / scale)))
        if change < 1e-7:
            break
    return ReleaseMixture(p, mean_a, mean_b, var_a, var_b)


def fit_single_release_mixture(a: np.ndarray, sd_a: np.ndarray, iterations: int = 300) -> ReleaseMixture:
    """The same mixture fitted to one condition alone (mean_b, var_b = mean_a, var_a): p where its releases stand
    out of the noise (the reversal's), without a second condition whose release amplitudes are not Gaussian.

    Arrays have trials on the last axis and may carry leading axes (resamples); started from the 2.5 SD rule."""
    a = np.asarray(a, float)
    s2 = np.asarray(sd_a, float) ** 2
    p, mean, var = _detection_start(a, s2)
    scale = np.maximum(np.abs(mean), 1e-12)
    failure = _log_normal(a, 0.0, s2)
    for _ in range(iterations):
        r = _responsibility(a, s2, p, mean, var, failure)
        previous = (p, mean)
        p = np.clip(r.mean(axis=-1), 1e-6, 1 - 1e-6)
        mean, var = _means(a, s2, r, var)
        if max(float(np.max(np.abs(p - previous[0]))), float(np.max(np.abs(mean - previous[1]) / scale))) < 1e-7:
            break
    return ReleaseMixture(p, mean, mean, var, var)


@dataclass(frozen=True)
class RatioEstimate:
    """mean_b / mean_a per release, its interval (inf: unbounded), one-sided upper bound, and the fit."""

    value: float
    low: float
    high: float
    upper_bound: float  # one-sided at the same level
    release_probability: float
    expected_releases: float  # p x the smaller condition's trials
    resamples: int


def expanded(estimate: float, quantiles: np.ndarray, factor: float) -> np.ndarray:
    """Bootstrap quantiles moved away from the estimate by `factor` (the expanded percentile interval)."""
    return estimate + factor * (quantiles - estimate)


def expansion_factor(level: float, releases: float) -> float:
    """t_{k-1}/z sqrt(k/(k-1)) for k expected releases (Hesterberg 2015); inf at k <= 2: no honest interval."""
    if not releases > 2:  # NaN included
        return math.inf
    return two_sided_t(level, releases - 1) / two_sided_z(level) * math.sqrt(releases / (releases - 1))


def release_ratio(a: np.ndarray, sd_a: np.ndarray, b: np.ndarray, sd_b: np.ndarray, level: float = 0.95,
                  resamples: int = 1000, seed: int = 0) -> RatioEstimate:
    """mean_b/mean_a of the shared-p mixture, with an expanded-percentile bootstrap interval over trials.

    Trials are resampled within each condition. The percentile interval is widened about the estimate by
    t_{k-1}/z sqrt(k/(k-1)), k the expected releases in the smaller condition (Hesterberg 2015, "expanded
    percentile"): with few releases a plain percentile interval is too narrow. Resamples whose condition a
    has no release (mean_a <= 0) count as an unbounded ratio.
    """
    a, sd_a, b, sd_b = (np.asarray(x, float) for x in (a, sd_a, b, sd_b))
    fit = fit_release_mixture(a, sd_a, b, sd_b)
    mean_a, mean_b, p = float(fit.mean_a), float(fit.mean_b), float(fit.p)
    value = mean_b / mean_a if mean_a > 0 else math.nan
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.size, (resamples, a.size))
    ib = rng.integers(0, b.size, (resamples, b.size))
    # Each resample from the detection start, not from the full fit: a warm start keeps resamples near the full
    # fit's optimum and narrowed the interval (tests/test_fcat_truth.py: [0.527, 0.664] against a truth 0.503).
    boot = fit_release_mixture(a[ia], sd_a[ia], b[ib], sd_b[ib], iterations=BOOTSTRAP_ITERATIONS)
    ratio = np.where(boot.mean_a > 0, boot.mean_b / np.where(boot.mean_a > 0, boot.mean_a, 1.0), np.inf)
    k = p * min(a.size, b.size)
    factor = expansion_factor(level, k)  # inf with at most two releases expected: no honest interval yet
    tail = (1 - level) / 2
    if not math.isfinite(value) or not math.isfinite(factor):
        return RatioEstimate(value, -math.inf, math.inf, math.inf, p, k, resamples)
    q = np.quantile(ratio, [tail, 1 - tail, level], method="inverted_cdf")  # inf resamples push the upper quantiles to inf
    low, high, upper = expanded(value, q, factor)
    return RatioEstimate(value, float(min(low, value)), float(max(high, value)), float(max(upper, value)), p, k,
                         resamples)
