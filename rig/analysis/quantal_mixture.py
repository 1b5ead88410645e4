"""Release probability from every trial's response amplitude: a failure/release mixture fitted by maximum
likelihood, with a profile-likelihood interval, so imperfect detection neither hides releases nor invents them.

Trial i's amplitude a_i (template-scaled, noise SD s_i) is a failure, N(0, s_i^2), with probability 1 - p, or a
release, N(mu, s_i^2 + v), with probability p (mu >= 0: a release raises the signal). Fitted by EM (Dempster,
Laird & Rubin 1977). The interval is the set of p whose profile log-likelihood (mu and v maximised at that p)
lies within chi2_1(level)/2 of the maximum (Wilks' theorem; Venzon & Moolgavkar 1988). When releases stand far
out of the noise this is the count of the successes with an interval close to the exact binomial one; when
they do not, mu and p trade against each other and the interval widens up to [0, 1]: a spine whose releases
cannot be told from its failures gets no tight wrong interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

PROFILE_POINTS = 99  # p grid of the profile likelihood (interior points of (0, 1); the bounds interpolate)
MIN_RESOLVED_SEPARATION = 2.0  # mean release / noise SD below which single trials cannot be called
MAX_FAILURE_OFFSET_SD = 2.0  # failures' mean amplitude beyond this many SEs above 0: releases hide among them


@dataclass(frozen=True)
class ReleaseProbabilityFit:
    """Maximum-likelihood release probability with its profile-likelihood interval, and the release size."""

    value: float
    low: float
    high: float
    mean_per_release: float  # mu, in the amplitudes' unit
    release_sd: float  # sqrt(v): spread of the release amplitudes beyond the noise
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


def _log_normal(x: np.ndarray, var: np.ndarray, mean: np.ndarray | float = 0.0) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * var) + (x - mean) ** 2 / var)


def _em(a: np.ndarray, s2: np.ndarray, p: np.ndarray, mu: np.ndarray, v: np.ndarray, fixed_p: bool,
        iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """EM over a leading axis of fits (rows); returns (p, mu, v, log-likelihood) per row."""
    miss = _log_normal(a, s2)
    for _ in range(iterations):
        var = s2 + v[:, None]
        hit = _log_normal(a, var, mu[:, None])
        log_h, log_m = np.log(p)[:, None] + hit, np.log1p(-p)[:, None] + miss
        r = 1.0 / (1.0 + np.exp(np.clip(log_m - log_h, -700, 700)))
        if not fixed_p:
            p = np.clip(r.mean(axis=1), 1e-6, 1 - 1e-6)
        w = r / var
        mu_new = np.maximum(np.sum(w * a, axis=1) / np.maximum(np.sum(w, axis=1), 1e-300), 0.0)
        resid = (a - mu_new[:, None]) ** 2 - s2
        v_new = np.maximum(np.sum(r * resid, axis=1) / np.maximum(r.sum(axis=1), 1e-12), 0.0)
        change = np.max(np.abs(mu_new - mu) / np.maximum(np.sqrt(s2.mean()), 1e-300))
        mu, v = mu_new, v_new
        if change < 1e-6:
            break
    var = s2 + v[:, None]
    log_lik = np.logaddexp(np.log(p)[:, None] + _log_normal(a, var, mu[:, None]),
                           np.log1p(-p)[:, None] + miss).sum(axis=1)
    return p, mu, v, log_lik


def fit_release_probability(amplitudes: np.ndarray, noise_sd: np.ndarray | float, level: float = 0.95,
                            iterations: int = 400) -> ReleaseProbabilityFit:
    """Release probability of one synapse from every trial's amplitude and noise SD (see the module docstring)."""
    a = np.asarray(amplitudes, float)
    s = np.broadcast_to(np.asarray(noise_sd, float), a.shape)
    if a.size < 2 or not np.all(np.isfinite(a)) or not np.all(s > 0):
        raise ValueError("need at least two finite amplitudes with positive noise SDs")
    s2 = s**2
    grid = np.linspace(0.0, 1.0, PROFILE_POINTS + 2)[1:-1]
    # Starts for the free fit: the 2.5 SD rule, and a few release probabilities with mu from the trial mean.
    calls = a > 2.5 * s
    starts_p = np.clip(np.array([calls.mean(), 0.1, 0.3, 0.6, 0.9]), 0.5 / a.size, 1 - 0.5 / a.size)
    starts_mu = np.where(np.arange(starts_p.size) == 0, np.where(calls.any(), a[calls].mean() if calls.any() else 0.0,
                                                                  0.0), np.maximum(a.mean(), 0.0) / starts_p)
    starts_mu = np.maximum(starts_mu, float(np.sqrt(s2.mean())))
    p, mu, v, ll = _em(a[None, :], s2[None, :], starts_p, starts_mu, np.zeros(starts_p.size), False, iterations)
    best = int(np.argmax(ll))
    # Profile over the grid: mu from the trial mean at that p (the moment start), v from the free fit.
    mu0 = np.maximum(np.maximum(a.mean(), 0.0) / grid, float(np.sqrt(s2.mean())))
    # Two starts of the release spread (the free fit's, and the whole spread of the trials): a trial between the
    # failures and the releases can switch the fit between two local maxima, and the profile needs the higher.
    rows = (np.broadcast_to(a, (grid.size, a.size)), np.broadcast_to(s2, (grid.size, a.size)))
    _, mu_g, v_g, ll_g = _em(*rows, grid, mu0, np.full(grid.size, v[best]), True, iterations)
    _, mu_w, v_w, ll_w = _em(*rows, grid, mu0, np.full(grid.size, float(np.var(a))), True, iterations)
    wider = ll_w > ll_g
    mu_g, v_g, ll_g = np.where(wider, mu_w, mu_g), np.where(wider, v_w, v_g), np.where(wider, ll_w, ll_g)
    top = max(float(ll[best]), float(ll_g.max()))
    if ll_g.max() > ll[best]:
        k = int(np.argmax(ll_g))
        value, mean, spread = float(grid[k]), float(mu_g[k]), float(v_g[k])
    else:
        value, mean, spread = float(p[best]), float(mu[best]), float(v[best])
    inside = 2 * (top - ll_g) <= float(stats.chi2.ppf(level, 1))
    low = 0.0 if inside[0] else float(grid[np.argmax(inside)] - 0.5 / (PROFILE_POINTS + 1))
    high = 1.0 if inside[-1] else float(grid[grid.size - 1 - np.argmax(inside[::-1])] + 0.5 / (PROFILE_POINTS + 1))
    low, high = min(max(low, 0.0), value), max(min(high, 1.0), value)
    separation = mean / float(np.median(s)) if mean > 0 else 0.0
    var = s2 + spread
    log_hit = math.log(value) + _log_normal(a, var, mean)
    log_miss = math.log1p(-value) + _log_normal(a, s2)
    failures = log_miss >= log_hit
    offset = 0.0
    if failures.sum() >= 5:
        offset = float(np.sum(a[failures]) / np.sqrt(np.sum(s2[failures])))
    return ReleaseProbabilityFit(value, low, high, mean, math.sqrt(spread), separation, int(a.size), offset)
