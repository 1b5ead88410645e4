"""Fast path: exact propagation of the model linearised about its steady state.

When no event or command change is pending and the state is within a small distance
of the steady state for the present (constant) drive, the dynamics are linear to
good accuracy, so x(t) - x_ss = expm(J t) (x0 - x_ss) gives every sample of a long
quiet stretch with a few matrix products (and a constant once the cell is at rest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from .solver import Blockers, ClampMode, TreeSolver

def steady_state(solver: TreeSolver, mode: ClampMode, command: float, blk: Blockers,
                 guess: np.ndarray | None = None) -> np.ndarray:
    """Full state vector at equilibrium under a constant drive (synapses silent).

    Tries the standard start (every compartment at the command or the leak reversal) and the
    caller's guess (usually the present state), with Powell's hybrid method and then
    Levenberg-Marquardt: near spike threshold in VC one start or method alone can stall.
    """
    L = solver.layout
    cap = np.concatenate([solver.tree.cap_nF, solver.tree.head_cap_nF])
    x0 = np.zeros(L.size)
    x0[L.v] = solver.tree.e_leak_mV
    if mode == "VC":
        x0[L.v] = command

    def residual(v: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[L.v] = v
        x = solver.with_gates_at_steady_state(x)
        return solver.rhs(x, mode, command, blk)[L.v] * cap  # net currents, nA

    starts = [x0[L.v]] + ([np.asarray(guess)[L.v]] if guess is not None else [])
    message = ""
    for start in starts:
        for method in ("hybr", "lm"):
            sol = optimize.root(residual, start, method=method, options={"xtol": 1e-11})
            if sol.success and float(np.max(np.abs(residual(sol.x)))) < 1e-6:
                x = x0.copy()
                x[L.v] = sol.x
                return solver.with_gates_at_steady_state(x)
            message = str(sol.message)
    raise RuntimeError(f"no steady state for {mode} {command}: {message}")


def numerical_jacobian(solver: TreeSolver, x: np.ndarray, mode: ClampMode, command: float, blk: Blockers) -> np.ndarray:
    """Central-difference Jacobian of the RHS at x."""
    n = x.size
    jac = np.empty((n, n))
    for i in range(n):
        h = 1e-6 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        jac[:, i] = (solver.rhs(xp, mode, command, blk) - solver.rhs(xm, mode, command, blk)) / (2 * h)
    return jac


@dataclass
class LinearPropagator:
    """Exact one-step map of the model linearised about x_ss, for one drive and dt.

    e_{k+1} = Phi e_k with e = x - x_ss and Phi = expm(J dt). Samples are produced
    a block of B steps at a time from precomputed R Phi^k (k = 1..B) for the
    recorded rows R, so a long stretch costs one small matrix product per block.
    """

    x_ss: np.ndarray
    phi_pow2: list[np.ndarray]  # Phi^(2^i), i = 0..log2(B)
    row_maps: np.ndarray  # (B, n_rows, n): R Phi^k for k = 1..B
    rows: np.ndarray
    block: int
    v_slice: slice

    @classmethod
    def build(
        cls, solver: TreeSolver, mode: ClampMode, command: float, blk: Blockers, dt_ms: float, rows: np.ndarray, block: int = 64
    ) -> "LinearPropagator":
        """Linearise about the steady state for this drive and precompute the block maps."""
        x_ss = steady_state(solver, mode, command, blk)
        jac = numerical_jacobian(solver, x_ss, mode, command, blk)
        phi = linalg.expm(jac * dt_ms)
        pow2 = [phi]
        while 2 ** len(pow2) <= block:
            pow2.append(pow2[-1] @ pow2[-1])
        maps = np.empty((block, rows.size, x_ss.size))
        acc = phi[rows]
        for k in range(block):
            maps[k] = acc
            acc = acc @ phi
        return cls(x_ss=x_ss, phi_pow2=pow2, row_maps=maps, rows=rows, block=block, v_slice=solver.layout.v)

    def _power_apply(self, e: np.ndarray, n: int) -> np.ndarray:
        """Phi^n e for 0 <= n <= B via the binary powers."""
        i = 0
        while n:
            if n & 1:
                e = self.phi_pow2[i] @ e
            n >>= 1
            i += 1
        return e

    def propagate(
        self, x0: np.ndarray, n_steps: int, limit_mV: float, tiny: float = 1e-10
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Samples of x[rows] after steps 1..m and the state after step m.

        m = n_steps unless the voltage deviation grows past limit_mV (linearisation no
        longer trusted, e.g. an unstable equilibrium), in which case it stops early.
        """
        out = np.broadcast_to(self.x_ss[self.rows], (n_steps, self.rows.size)).copy()
        e = x0 - self.x_ss
        flat = self.row_maps.reshape(self.block * self.rows.size, -1)
        done = 0
        while done < n_steps:
            if np.max(np.abs(e)) < tiny:
                e = np.zeros_like(e)  # at rest: the remaining samples are x_ss
                done = n_steps
                break
            if np.max(np.abs(e[self.v_slice])) > limit_mV:
                break
            m = min(self.block, n_steps - done)
            out[done : done + m] += (flat @ e).reshape(self.block, -1)[:m]
            e = self.phi_pow2[-1] @ e if m == self.block else self._power_apply(e, m)
            done += m
        return out[:done], self.x_ss + e, done

    def is_near(self, x: np.ndarray, gate_slice: slice, tol_mV: float, tol_gate: float) -> bool:
        """True when voltages and channel gates are close enough to x_ss for linearity.

        Synaptic states are not checked: they enter linearly except through g*(V - V_ss),
        which is small whenever V is near V_ss.
        """
        dv = np.max(np.abs(x[self.v_slice] - self.x_ss[self.v_slice]))
        dg = np.max(np.abs(x[gate_slice] - self.x_ss[gate_slice]), initial=0.0)
        return bool(dv < tol_mV and dg < tol_gate)
