"""Maximum-likelihood fit of a fluorescence recovery to Poisson photon counts.

Model of the counts per line after a bleach at t0:  mu(t) = F_inf - dF * exp(-(t - t0) / tau).
Counts are Poisson, so the fit minimises the Poisson negative log-likelihood; the interval
of tau is the profile-likelihood interval (where 2 * delta NLL = chi2_1(level)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class RecoveryFit:
    """Result of a recovery fit: tau with its interval, amplitudes and fit quality."""

    tau_ms: float
    tau_low_ms: float
    tau_high_ms: float
    f_inf: float
    depth: float
    fraction_bleached: float
    deviance_per_dof: float
    converged: bool
    message: str


def _nll(counts: np.ndarray, mu: np.ndarray) -> float:
    mu = np.maximum(mu, 1e-9)
    return float(np.sum(mu - counts * np.log(mu)))


def _amplitudes_given_tau(t: np.ndarray, counts: np.ndarray, tau: float) -> tuple[float, float, float]:
    """Profile out F_inf and dF for a fixed tau (Poisson GLM with identity link), return (nll, F_inf, dF)."""
    basis = np.exp(-t / tau)
    # Start from least squares, then Newton on the Poisson likelihood in the two linear parameters.
    design = np.column_stack((np.ones_like(t), -basis))
    beta, *_ = np.linalg.lstsq(design, counts, rcond=None)
    if np.any(design @ beta <= 0):
        beta = np.array([max(float(np.mean(counts)), 1e-3), 0.0])
    for _ in range(30):
        mu = np.maximum(design @ beta, 1e-6)
        grad = design.T @ (1.0 - counts / mu)
        hess = (design * (counts / mu**2)[:, None]).T @ design + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        new = beta - step
        # keep the mean positive everywhere
        for _ in range(60):
            if np.all(design @ new > 0):
                break
            step *= 0.5
            new = beta - step
        else:
            break
        beta = new
        if np.max(np.abs(step)) < 1e-8 * (1 + np.max(np.abs(beta))):
            break
    return _nll(counts, design @ beta), float(beta[0]), float(beta[1])


def fit_recovery(t_ms: np.ndarray, counts: np.ndarray, baseline_counts: np.ndarray | None = None,
                 level: float = 0.95, tau_bounds_ms: tuple[float, float] | None = None) -> RecoveryFit:
    """Fit tau of a recovery (t_ms from the bleach) to Poisson counts by maximum likelihood."""
    t = np.asarray(t_ms, dtype=float)
    y = np.asarray(counts, dtype=float)
    if t.size < 5:
        raise ValueError("need at least 5 post-bleach lines to fit a recovery")
    span = float(t[-1] - t[0])
    dt = float(np.median(np.diff(t)))
    lo_b, hi_b = tau_bounds_ms or (dt / 4, 20 * max(span, dt))
    log_lo, log_hi = np.log(lo_b), np.log(hi_b)

    def profile(log_tau: float) -> float:
        return _amplitudes_given_tau(t, y, float(np.exp(log_tau)))[0]

    grid = np.linspace(log_lo, log_hi, 40)
    values = np.array([profile(g) for g in grid])
    k = int(np.argmin(values))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = optimize.minimize_scalar(profile, bounds=(a, b), method="bounded", options={"xatol": 1e-6})
    log_tau = float(res.x)
    nll_min, f_inf, depth = _amplitudes_given_tau(t, y, float(np.exp(log_tau)))
    at_edge = log_tau <= log_lo + 1e-3 or log_tau >= log_hi - 1e-3
    crit = stats.chi2.ppf(level, 1) / 2.0

    def excess(lt: float) -> float:
        return profile(lt) - nll_min - crit

    low = _bracket_root(excess, log_tau, log_lo)
    high = _bracket_root(excess, log_tau, log_hi)
    mu = np.maximum(f_inf - depth * np.exp(-t / np.exp(log_tau)), 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_terms = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    deviance = 2.0 * float(np.sum(dev_terms))
    f0 = float(np.mean(baseline_counts)) if baseline_counts is not None and len(baseline_counts) else f_inf
    converged = bool(res.success) and not at_edge and depth > 0
    message = "ok" if converged else ("tau at the edge of the search range" if at_edge else
                                      ("no bleach visible (depth <= 0)" if depth <= 0 else str(res.message)))
    return RecoveryFit(
        tau_ms=float(np.exp(log_tau)),
        tau_low_ms=float(np.exp(low)),
        tau_high_ms=float(np.exp(high)),
        f_inf=f_inf,
        depth=depth,
        fraction_bleached=depth / f0 if f0 > 0 else float("nan"),
        deviance_per_dof=deviance / max(1, t.size - 3),
        converged=converged,
        message=message,
    )


def _bracket_root(func, start: float, limit: float) -> float:
    """Root of func between start (negative) and limit; the limit itself if func never crosses."""
    if func(limit) < 0:
        return limit
    return float(optimize.brentq(func, start, limit, xtol=1e-6)) if start != limit else limit
