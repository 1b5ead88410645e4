"""Exact sample-by-sample integration of dx/dt = rate(t) * (target(t) - x), vectorised."""

from __future__ import annotations

import numpy as np

_MAX_EXPONENT = 40.0


def relax(x0: np.ndarray | float, rate_per_ms: np.ndarray, target: np.ndarray, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Integrate a first-order linear relaxation with piecewise-constant rate and target.

    `rate_per_ms` and `target` have shape (n,) or (n, k) for k independent variables.
    Returns (x at the start of each sample, shape like target; x after the last sample).
    Exact for piecewise-constant inputs; uses cumulative sums in blocks so exponentials
    stay bounded.
    """
    rate = np.asarray(rate_per_ms, dtype=float)
    target = np.asarray(target, dtype=float)
    rate, target = np.broadcast_arrays(rate, target)
    n = rate.shape[0]
    x_start = np.empty_like(target)
    x = np.array(x0, dtype=float) * np.ones(target.shape[1:])
    i = 0
    while i < n:
        j = _block_end(rate, i, dt_ms)
        decay = rate[i:j] * dt_ms
        cum = np.cumsum(decay, axis=0)  # C_{k+1}
        cum_prev = cum - decay  # C_k
        gain_in = -np.expm1(-decay) * target[i:j]  # (1 - E_k) T_k
        # x_k = exp(-C_k) * (x0 + sum_{m<k} gain_m * exp(C_{m+1}))
        weighted = np.cumsum(gain_in * np.exp(cum), axis=0)
        before = np.concatenate((np.zeros_like(weighted[:1]), weighted[:-1]), axis=0)
        x_start[i:j] = np.exp(-cum_prev) * (x + before)
        x = np.exp(-cum[-1]) * (x + weighted[-1])
        i = j
    return x_start, x


def _block_end(rate: np.ndarray, start: int, dt_ms: float) -> int:
    """End index of a block whose total exponent stays below the bound."""
    total = np.cumsum(rate[start:].reshape(rate.shape[0] - start, -1).max(axis=1) * dt_ms)
    over = np.searchsorted(total, _MAX_EXPONENT)
    return start + max(1, int(over))
