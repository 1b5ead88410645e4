"""FRAP with acquisition bleaching: a joint Poisson maximum-likelihood fit of baseline and recovery.

Head fluorophore f (unbleached fraction) exchanges with the dendrite (time constant tau) and
is bleached by the imaging beam (rate k_i):  df/dt = (1 - f)/tau - k_i f.
So under imaging f relaxes with rate lambda = 1/tau + k_i towards f_inf = (1/tau)/lambda.
Baseline lines start from f = 1 (full recovery in the dark before the sweep); the bleach
drops f to f_b; counts per line are Poisson with mean B + H f (B: dark offset, measured).
Fitting only the recovery would give 1/lambda, which underestimates tau when k_i > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from rig.analysis.recovery_fit import fit_recovery


MAX_INTERVAL_RATIO = 10.0  # a sweep whose tau interval spans more than this factor carries no estimate


@dataclass(frozen=True)
class FrapKineticFit:
    """tau with its interval, the imaging bleach rate, and fit diagnostics."""

    tau_ms: float
    tau_low_ms: float
    tau_high_ms: float
    imaging_bleach_per_ms: float
    fraction_bleached: float
    head_counts_per_line: float
    deviance_per_dof: float
    converged: bool
    message: str


def _head_fraction(theta: np.ndarray, t_base: np.ndarray, t_post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unbleached fraction at baseline and post-bleach line times for parameters theta."""
    _, f_b, log_tau, f_inf = theta
    lam = 1.0 / (np.exp(log_tau) * f_inf)
    base = f_inf + (1.0 - f_inf) * np.exp(-lam * t_base)
    post = f_inf + (f_b - f_inf) * np.exp(-lam * t_post)
    return base, post


def _mean_counts(theta: np.ndarray, t_base: np.ndarray, t_post: np.ndarray, dark: float) -> np.ndarray:
    base, post = _head_fraction(theta, t_base, t_post)
    return dark + np.exp(theta[0]) * np.concatenate((base, post))


def fit_frap_kinetics(t_base_ms: np.ndarray, base_counts: np.ndarray, t_post_ms: np.ndarray, post_counts: np.ndarray,
                      dark_counts_per_line: float, level: float = 0.95) -> FrapKineticFit:
    """Fit tau and the imaging bleach rate; t_base from light onset, t_post from the bleach."""
    t_base = np.asarray(t_base_ms, float)
    t_post = np.asarray(t_post_ms, float)
    y = np.concatenate((np.asarray(base_counts, float), np.asarray(post_counts, float)))
    dark = float(dark_counts_per_line)
    rec = fit_recovery(t_post, post_counts, base_counts)
    head = max(float(np.mean(base_counts)) - dark, 1e-3)
    f_inf0 = float(np.clip((rec.f_inf - dark) / head, 0.05, 1.0))
    f_b0 = float(np.clip((rec.f_inf - rec.depth - dark) / head, 0.0, 1.0))
    theta0 = np.array([np.log(head), f_b0, np.log(max(rec.tau_ms * f_inf0, 1e-3)), min(f_inf0, 0.999)])

    def nll(theta: np.ndarray) -> float:
        mu = np.maximum(_mean_counts(theta, t_base, t_post, dark), 1e-9)
        return float(np.sum(mu - y * np.log(mu)))

    bounds = [(None, None), (-0.5, 1.5), (np.log(1e-3), np.log(1e7)), (1e-3, 1.0)]
    res = optimize.minimize(nll, theta0, method="L-BFGS-B", bounds=bounds)
    theta = res.x
    mu = np.maximum(_mean_counts(theta, t_base, t_post, dark), 1e-9)
    jac = _jacobian(lambda th: _mean_counts(th, t_base, t_post, dark), theta)
    fisher = (jac / mu[:, None]).T @ jac
    at_bound = theta[3] >= 1.0 - 1e-6
    free = [0, 1, 2] if at_bound else [0, 1, 2, 3]  # with f_inf at its bound (no imaging bleach) it is fixed
    try:
        cov = np.linalg.inv(fisher[np.ix_(free, free)])
        sd_log_tau = float(np.sqrt(cov[2, 2]))
        ok_cov = np.isfinite(sd_log_tau)
    except np.linalg.LinAlgError:
        sd_log_tau, ok_cov = float("inf"), False
    z = float(stats.norm.ppf(0.5 + level / 2))
    tau = float(np.exp(theta[2]))
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2.0 * float(np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)))
    f_inf = float(theta[3])
    bleached = 1.0 - float(theta[1]) / f_inf if f_inf > 0 else float("nan")
    determined = ok_cov and np.exp(2 * z * sd_log_tau) < MAX_INTERVAL_RATIO
    converged = bool(res.success) and determined and rec.depth > 0 and bleached > 0.02
    if converged:
        message = "ok"
    elif rec.depth <= 0 or bleached <= 0.02:
        message = "no bleach visible"
    elif not determined:
        message = "tau not determined by the data (interval wider than a factor %g)" % MAX_INTERVAL_RATIO
    else:
        message = str(res.message)
    return FrapKineticFit(
        tau_ms=tau,
        tau_low_ms=tau * float(np.exp(-z * sd_log_tau)) if ok_cov else float("nan"),
        tau_high_ms=tau * float(np.exp(z * sd_log_tau)) if ok_cov else float("nan"),
        imaging_bleach_per_ms=1.0 / (tau * f_inf) - 1.0 / tau,
        fraction_bleached=bleached,
        head_counts_per_line=float(np.exp(theta[0])),
        deviance_per_dof=dev / max(1, y.size - 4),
        converged=converged,
        message=message,
    )


def _jacobian(func, theta: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of a vector function."""
    cols = []
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        cols.append((func(up) - func(down)) / (2 * h))
    return np.column_stack(cols)
