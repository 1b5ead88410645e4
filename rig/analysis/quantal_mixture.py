"""Release probability from every trial's response amplitude: a failure/release mixture fitted by maximum
likelihood, with a profile-likelihood interval, so imperfect detection neither hides releases nor invents them.

Trial i's amplitude a_i (template-scaled, noise SD s_i) is a failure, N(0, s_i^2), with probability 1 - p, or a
release, A + N(0, s_i^2), with probability p, where the release size A is gamma distributed with mean mu and
coefficient of variation cv (quantal sizes are right-skewed: Bekkers, Richerson & Stevens 1990; a Gaussian
release component, symmetric, puts release density at the failures' amplitudes and counts noise as releases:
+0.02-0.06 in p at a release CV of 0.5, issue 11). The release density is the average of the noise density over
RELEASE_NODES midpoint quantiles of the gamma. The profile log-likelihood of p (mu and cv maximised at that p,
over a grid with a parabolic refinement in log mu) gives the estimate and the interval: the set of p within
chi2_1(level)/2 of the maximum (Wilks' theorem; Venzon & Moolgavkar 1988). When releases stand far out of the
noise this is the count of the successes with an interval close to the exact binomial one; when they do not,
mu and p trade against each other and the interval widens up to [0, 1]: a spine whose releases cannot be told
from its failures gets no tight wrong interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

PROFILE_POINTS = 99  # p grid of the profile likelihood (interior points of (0, 1); the bounds interpolate)
MIN_RESOLVED_SEPARATION = 2.0  # mean release / noise SD below which single trials cannot be called
MAX_FAILURE_OFFSET_SD = 2.0  # failures' mean amplitude beyond this many SEs above 0: releases hide among them
RELEASE_NODES = 12  # gamma quantiles averaged for the release density
RELEASE_CVS = (0.15, 0.3, 0.45, 0.65, 0.9)  # release-size CVs the profile maximises over
MEAN_GRID_POINTS = 40  # log-spaced release means from MIN_MEAN_SD noise SDs to the largest amplitude
MIN_MEAN_SD = 0.1


@dataclass(frozen=True)
class ReleaseProbabilityFit:
    """Maximum-likelihood release probability with its profile-likelihood interval, and the release size."""

    value: float
    low: float
    high: float
    mean_per_release: float  # mu, in the amplitudes' unit
    release_sd: float  # mu * cv: spread of the release sizes beyond the noise
    separation: float  # mu / median noise SD: how far a mean release stands out of one trial's noise
    trials: int
    failure_offset_sd: float  # mean amplitude of the trials called failures, in SEs of that mean (0 if none)

    @property
    def resolved(self) -> bool:
        """True when a mean release stands at least MIN_RESOLVED_SEPARATION noise SDs out of a failure."""
        return self.separation >= MIN_RESOLVED_SEPARATION

    @property
    def releases_hidden(self) -> bool:
        """True when the trials called failures are on average raised beyond their noise: smaller releases than
        the fitted ones hide among them, so the fitted p counts only the releases that stand out (a lower bound)."""
        return self.failure_offset_sd > MAX_FAILURE_OFFSET_SD


@lru_cache(maxsize=None)
def _gamma_nodes(cv: float) -> np.ndarray:
    """Midpoint quantiles of a unit-mean gamma of this CV (shape 1/cv^2)."""
    shape = 1.0 / cv**2
    u = (np.arange(RELEASE_NODES) + 0.5) / RELEASE_NODES
    return np.asarray(special.gammaincinv(shape, u) / shape, float)


def _log_normal(x: np.ndarray, var: np.ndarray, mean: np.ndarray | float = 0.0) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def _log_release_density(a: np.ndarray, s2: np.ndarray, means: np.ndarray) -> np.ndarray:
    """log density of every trial under a release, per (cv, mean): shape (cvs, means, trials)."""
    out = np.empty((len(RELEASE_CVS), means.size, a.size))
    for k, cv in enumerate(RELEASE_CVS):
        sizes = means[:, None, None] * _gamma_nodes(cv)[None, :, None]
        out[k] = special.logsumexp(_log_normal(a[None, None, :], s2[None, None, :], sizes), axis=1)
    return out - math.log(RELEASE_NODES)


def _parabola_peak(y_prev: np.ndarray, y_mid: np.ndarray, y_next: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex (offset in grid steps, clipped to +-1/2, and height) of the parabola through three equally spaced
    points whose middle one is the largest."""
    curv = y_prev - 2 * y_mid + y_next
    ok = curv < 0
    off = np.where(ok, 0.5 * (y_prev - y_next) / np.where(ok, curv, -1.0), 0.0)
    off = np.clip(off, -0.5, 0.5)
    return off, y_mid + np.where(ok, -0.25 * (y_prev - y_next) * off, 0.0)


def fit_release_probability(amplitudes: np.ndarray, noise_sd: np.ndarray | float, level: float = 0.95
                            ) -> ReleaseProbabilityFit:
    """Release probability of one synapse from every trial's amplitude and noise SD (see the module docstring)."""
    a = np.asarray(amplitudes, float)
    s = np.broadcast_to(np.asarray(noise_sd, float), a.shape)
    if a.size < 2 or not np.all(np.isfinite(a)) or not np.all(s > 0):
        raise ValueError("need at least two finite amplitudes with positive noise SDs")
    s2 = s**2
    noise = float(np.median(s))
    top_mean = max(float(a.max()), 2 * MIN_MEAN_SD * noise)
    means = np.geomspace(MIN_MEAN_SD * noise, top_mean, MEAN_GRID_POINTS)
    log_r = _log_release_density(a, s2, means).reshape(-1, a.size)  # (cv * mean, trials)
    log_f = _log_normal(a, s2)
    grid = np.linspace(0.0, 1.0, PROFILE_POINTS + 2)[1:-1]
    scale = np.maximum(log_r.max(axis=0), log_f)  # per trial, so the densities below do not underflow
    r, f = np.exp(log_r - scale), np.exp(log_f - scale)
    # floored at 1e-300 of the best: a trial no combination explains makes that combination ~690 units worse
    ll = np.array([np.log(np.maximum(p * r + (1 - p) * f, 1e-300)).sum(axis=1) for p in grid]) + float(scale.sum())
    ll = ll.reshape(grid.size, len(RELEASE_CVS), means.size)
    # Profile over the mean: the grid's best, refined by a parabola in log mean through its neighbours.
    j = np.clip(np.argmax(ll, axis=2), 1, means.size - 2)
    take = np.take_along_axis
    off, peak = _parabola_peak(take(ll, (j - 1)[..., None], 2)[..., 0], take(ll, j[..., None], 2)[..., 0],
                               take(ll, (j + 1)[..., None], 2)[..., 0])
    peak = np.maximum(peak, ll.max(axis=2))
    best_cv = np.argmax(peak, axis=1)
    prof = peak[np.arange(grid.size), best_cv]
    k = int(np.argmax(prof))
    step = 1.0 / (PROFILE_POINTS + 1)
    if 0 < k < grid.size - 1:
        dp, top = _parabola_peak(prof[k - 1:k], prof[k:k + 1], prof[k + 1:k + 2])
        value, top_ll = float(grid[k] + dp[0] * step), float(top[0])
    else:
        value, top_ll = float(grid[k]), float(prof[k])
    c = int(best_cv[k])
    log_step = math.log(means[1] / means[0])
    mean = float(means[j[k, c]] * math.exp(off[k, c] * log_step))
    cv = RELEASE_CVS[c]
    inside = 2 * (top_ll - prof) <= float(special.chdtri(1, 1 - level))
    low = 0.0 if inside[0] else float(grid[np.argmax(inside)] - 0.5 * step)
    high = 1.0 if inside[-1] else float(grid[grid.size - 1 - np.argmax(inside[::-1])] + 0.5 * step)
    low, high = min(max(low, 0.0), value), max(min(high, 1.0), value)
    separation = mean / noise if mean > 0 else 0.0
    log_hit = math.log(value) + _log_release_density(a, s2, np.array([mean]))[c, 0]
    failures = math.log1p(-value) + log_f >= log_hit
    offset = 0.0
    if failures.sum() >= 5:
        offset = float(np.sum(a[failures]) / np.sqrt(np.sum(s2[failures])))
    return ReleaseProbabilityFit(value, low, high, mean, mean * cv, separation, int(a.size), offset)
