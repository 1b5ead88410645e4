"""The mean of a function of one condition's per-release response, over its releases: the distribution of release
amplitudes deconvolved from the trial noise, with a bootstrap interval (pure).

Why not the function of the mean response: where the function is curved and the releases differ (quantal sizes,
what the same stimulus releases elsewhere, an NMDA plateau on some trials and not on others), f(mean) is not
mean(f). Inverting fCaT into head depolarization is such a case: the inverse of the convex fCaT(dV) is concave, and
inverting the trial-mean fCaT read +31 % against the trial-mean depolarization over 45 simulated spines
(docs/calibration_fcat.md); the mean of the per-release inversions reads within a few % on the same spines'
noiseless responses, and -1.0 % in the median over 30 spines' noisy runs against the truth of the sweeps the
analysis keeps (docs/calibration.md; docs/architecture.md, "Decisions of 2026-12-04, evening").

Model (of `rig.analysis.release_mixture`; its one-condition fit to the reference condition a, whose releases
stand out of the noise, gives p and a's mean per release: the two-condition fit, which takes condition b's
releases as Gaussian, read p 0.21 for a true 0.30 on bimodal synthetic releases): each trial of condition b is a
failure, N(0, s_i^2), with probability 1 - p, or a release of a true
amplitude x drawn from a distribution G, observed as N(x, s_i^2). G is the nonparametric maximum-likelihood
estimate on a fixed grid of amplitudes (Kiefer & Wolfowitz 1956; fitted by EM, Laird 1978) with the failure mass
held at 1 - p: with p fixed the log-likelihood is concave in G's weights, so EM from any start reaches the same
optimum. The estimate is sum_k G_k f(x_k / mean_a). Written here rather than taken from a library: no package on
the machine fits a grid NPMLE with a fixed point mass and per-trial noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rig.analysis.release_mixture import BOOTSTRAP_ITERATIONS, expanded, expansion_factor, fit_single_release_mixture

GRID_POINTS = 40  # support points of G, from 0 to the largest trial + 3 SD
FIT_ITERATIONS = 400  # EM steps on G for the data (from uniform weights: with p fixed the optimum is unique)
BOOTSTRAP_FIT_ITERATIONS = 100  # per resample, started from the data's fit (tests/test_release_distribution.py)


@dataclass(frozen=True)
class ReleaseFunctionMean:
    """mean over releases of f(x / mean_a) with its expanded-percentile interval (inf/nan: not bounded)."""

    value: float
    low: float
    high: float
    release_probability: float
    expected_releases: float  # p x the smaller condition's trials
    resamples: int


def amplitude_grid(b: np.ndarray, sd_b: np.ndarray, points: int = GRID_POINTS) -> np.ndarray:
    """G's support: 0 to the largest trial plus 3 of the largest noise SD (a release is never negative)."""
    top = max(float(np.max(b)), 0.0) + 3.0 * float(np.max(sd_b))
    return np.linspace(0.0, top, points)


def _scaled_likelihoods(b: np.ndarray, sd_b: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per trial: the release likelihood at each grid point (n, K) and the failure likelihood (n,), both divided
    by the trial's largest (the common factor cancels in every responsibility)."""
    s2 = sd_b[:, None] ** 2
    log_release = -0.5 * (b[:, None] - grid[None, :]) ** 2 / s2
    log_failure = -0.5 * b**2 / sd_b**2
    top = np.maximum(log_release.max(axis=1), log_failure)
    return _flushed(np.exp(log_release - top[:, None])), _flushed(np.exp(log_failure - top))


NEGLIGIBLE = 1e-100  # likelihoods and weights below this are set to 0: subnormal floats made EM ~50x slower


def _flushed(x: np.ndarray) -> np.ndarray:
    return np.where(x < NEGLIGIBLE, 0.0, x)


def fit_release_distribution(counts: np.ndarray, release: np.ndarray, failure: np.ndarray, p: np.ndarray,
                             iterations: int = FIT_ITERATIONS, start: np.ndarray | None = None) -> np.ndarray:
    """EM for G's weights (B, K) given each fit's trial counts (B, n: a bootstrap resample's multiplicities, or
    ones), the trials' scaled likelihoods and the fixed release probabilities p (B,), from `start` (K,) or uniform."""
    n_fits, k = counts.shape[0], release.shape[1]
    first = np.full(k, 1.0 / k) if start is None else 0.5 * start + 0.5 / k  # every point kept alive in a resample
    weights = np.tile(first, (n_fits, 1))
    p = p[:, None]
    for _ in range(iterations):
        # einsum, not @: BLAS threads on these small products cost 20x their work beside a running simulator
        mixed = np.einsum("bk,nk->bn", weights, release)  # (B, n): the release part's likelihood of each trial
        likelihood = (1.0 - p) * failure[None, :] + p * mixed  # (B, n); 0 only where a trial is left out and
        posterior = np.where(counts > 0, counts * p / np.where(likelihood > 0, likelihood, 1.0), 0.0)  # G has none
        updated = weights * np.einsum("bn,nk->bk", posterior, release)  # (B, K): each grid point's share
        released = updated.sum(axis=1, keepdims=True)
        weights = _flushed(np.where(released > 0, updated / np.where(released > 0, released, 1.0), 1.0 / k))
    return weights


def release_function_mean(a: np.ndarray, sd_a: np.ndarray, b: np.ndarray, sd_b: np.ndarray,
                          function: Callable[[np.ndarray], np.ndarray], level: float = 0.95,
                          resamples: int = 400, seed: int = 0) -> ReleaseFunctionMean:
    """mean over condition b's releases of function(x / mean_a), x a release's true amplitude and mean_a the
    reference condition a's mean amplitude per release (a's own mixture fit, whose p b shares), with an expanded-percentile
    bootstrap interval over trials resampled within each condition (as `release_mixture.release_ratio`).

    `function` maps arrays of ratios to values and takes inf (a resample whose reference has no release)."""
    a, sd_a, b, sd_b = (np.asarray(x, float) for x in (a, sd_a, b, sd_b))
    fit = fit_single_release_mixture(a, sd_a)
    p, mean_a = float(fit.p), float(fit.mean_a)
    grid = amplitude_grid(b, sd_b)
    release, failure = _scaled_likelihoods(b, sd_b, grid)
    k_expected = p * min(a.size, b.size)
    if mean_a <= 0 or k_expected <= 2:
        return ReleaseFunctionMean(math.nan, -math.inf, math.inf, p, k_expected, resamples)
    weights = fit_release_distribution(np.ones((1, b.size)), release, failure, np.array([p]))[0]
    value = float(weights @ function(grid / mean_a))
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, a.size, (resamples, a.size))
    ib = rng.integers(0, b.size, (resamples, b.size))
    boot = fit_single_release_mixture(a[ia], sd_a[ia], iterations=BOOTSTRAP_ITERATIONS)
    counts = np.zeros((resamples, b.size))
    np.add.at(counts, (np.repeat(np.arange(resamples), b.size), ib.ravel()), 1.0)
    boot_weights = fit_release_distribution(counts, release, failure, np.asarray(boot.p, float),
                                            BOOTSTRAP_FIT_ITERATIONS, start=weights)
    boot_mean_a = np.asarray(boot.mean_a, float)
    usable = boot_mean_a > 0
    scaled = grid[None, :] / np.where(usable, boot_mean_a, 1.0)[:, None]
    values = np.where(usable, np.sum(boot_weights * function(scaled), axis=1),
                      float(function(np.array([math.inf]))[0]))
    tail = (1 - level) / 2
    q = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    low, high = expanded(value, q, expansion_factor(level, k_expected))
    return ReleaseFunctionMean(value, float(min(low, value)), float(max(high, value)), p, k_expected, resamples)
