"""Fast path: exact propagation of the model linearised about its steady state.

When no event or command change is pending and the state is within a small distance
of the steady state for the present (constant) drive, the dynamics are linear to
good accuracy, so x(t) - x_ss = expm(J t) (x0 - x_ss) gives every sample of a long
quiet stretch with a few matrix products (and a constant once the cell is at rest).

`ModalPropagator` (used) evaluates expm(J k dt) e through the eigendecomposition J = V diag(lambda) V^-1
(Moler & Van Loan 2003, "Nineteen dubious ways to compute the exponential of a matrix", method 14), which
is exact for a diagonalisable J and lets every mode that has died out be dropped; it is used only when
V diag(lambda) V^-1 reproduces J to round-off. `LinearPropagator` (powers of expm(J dt), the former path)
is the fallback and the reference the tests compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from .solver import Blockers, ClampMode, TreeSolver

#: Residual calls Levenberg-Marquardt may make (each iteration one residual and one Jacobian): where there is no
#: root it would otherwise crawl through thousands of iterations to a minimum that is not one.
LM_MAX_CALLS = 200


def steady_state(solver: TreeSolver, mode: ClampMode, command: float, blk: Blockers,
                 guess: np.ndarray | None = None) -> np.ndarray:
    """Full state vector at equilibrium under a constant drive (synapses silent).

    Tries the standard start (every compartment at the command or the leak reversal) and the
    caller's guess (usually the present state), with Powell's hybrid method and then
    Levenberg-Marquardt: near spike threshold in VC one start or method alone can stall.
    Both are given the residual's Jacobian (`steady_state_jacobian`), not left to difference it.
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

    passive = -solver.passive_conductance_uS(mode)

    def jacobian(v: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[L.v] = v
        return passive - np.diag(solver.local_slope_uS(x, blk))

    starts = [x0[L.v]] + ([np.asarray(guess)[L.v]] if guess is not None else [])
    message = ""
    for start in starts:
        for method in ("hybr", "lm"):
            options: dict[str, float] = {"xtol": 1e-11}
            if method == "lm":  # about the iterations it had differencing the Jacobian (200 (n + 1) calls)
                options["maxiter"] = LM_MAX_CALLS
            sol = optimize.root(residual, start, jac=jacobian, method=method, options=options)
            if sol.success and float(np.max(np.abs(residual(sol.x)))) < 1e-6:
                x = x0.copy()
                x[L.v] = sol.x
                return solver.with_gates_at_steady_state(x)
            message = str(sol.message)
    raise RuntimeError(f"no steady state for {mode} {command}: {message}")


def numerical_jacobian(solver: TreeSolver, x: np.ndarray, mode: ClampMode, command: float, blk: Blockers) -> np.ndarray:
    """Central-difference Jacobian of the RHS at x, the same numbers as `dense_numerical_jacobian`.

    Columns that share no row are differenced together (`TreeSolver.fd_column_groups`): each row then
    sees only its own column's step, so every entry is the one the column-by-column difference gives.
    """
    n = x.size
    groups = solver.fd_column_groups()
    pattern = solver._fd_pattern
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    jac = np.zeros((n, n))
    for cols in groups:
        xp, xm = x.copy(), x.copy()
        xp[cols] += h[cols]
        xm[cols] -= h[cols]
        df = solver.rhs(xp, mode, command, blk) - solver.rhs(xm, mode, command, blk)
        r, k = np.nonzero(pattern[:, cols])
        jac[r, cols[k]] = df[r] / (2 * h[cols[k]])
    return jac


def dense_numerical_jacobian(solver: TreeSolver, x: np.ndarray, mode: ClampMode, command: float,
                             blk: Blockers) -> np.ndarray:
    """Central-difference Jacobian of the RHS at x, column by column (the reference for the grouped one)."""
    n = x.size
    jac = np.empty((n, n))
    for i in range(n):
        h = 1e-6 * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        jac[:, i] = (solver.rhs(xp, mode, command, blk) - solver.rhs(xm, mode, command, blk)) / (2 * h)
    return jac


def linearise(solver: TreeSolver, mode: ClampMode, command: float, blk: Blockers) -> tuple[np.ndarray, np.ndarray]:
    """Steady state of a constant drive and the RHS Jacobian there."""
    x_ss = steady_state(solver, mode, command, blk)
    return x_ss, numerical_jacobian(solver, x_ss, mode, command, blk)


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
        x_ss, jac = linearise(solver, mode, command, blk)
        return cls.from_jacobian(x_ss, jac, dt_ms, rows, solver.layout.v, block)

    @classmethod
    def from_jacobian(cls, x_ss: np.ndarray, jac: np.ndarray, dt_ms: float, rows: np.ndarray, v_slice: slice,
                      block: int = 64) -> "LinearPropagator":
        """Block maps of expm(J dt) about x_ss."""
        phi = linalg.expm(jac * dt_ms)
        pow2 = [phi]
        while 2 ** len(pow2) <= block:
            pow2.append(pow2[-1] @ pow2[-1])
        maps = np.empty((block, rows.size, x_ss.size))
        maps[0] = phi[rows]
        done = 1
        for power in pow2:  # R Phi^(k+m) = (R Phi^k) Phi^m: the maps doubled by one product each (m = done)
            if done >= block:
                break
            m = min(done, block - done)
            maps[done : done + m] = maps[:m] @ power
            done += m
        return cls(x_ss=x_ss, phi_pow2=pow2, row_maps=maps, rows=rows, block=block, v_slice=v_slice)

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


#: V diag(lambda) V^-1 must give J to this relative accuracy (max norm) for the modal path to be used.
MODAL_RECONSTRUCTION_TOL = 1e-10
#: Modes whose contribution to every state variable is below this (absolute; mV, gates, synaptic states)
#: are dropped: far below any tolerance of the model, at the level of the round-off of expm itself.
MODE_FLOOR = 1e-13


class IllConditioned(RuntimeError):
    """The Jacobian's eigendecomposition is not accurate enough for exact modal propagation."""


@dataclass
class ModalPropagator:
    """Exact propagation of the linearised model through its eigenmodes, for one drive and dt.

    e_k = V diag(exp(lambda k dt)) V^-1 e_0 with e = x - x_ss: any number of steps costs one product with
    the modes still alive, so a long quiet stretch (e.g. the slow K inactivation creeping for seconds while
    everything else has settled) costs a few small products. Checks are made at the same block boundaries
    (every `block` steps) as `LinearPropagator`, so both stop at the same step.
    """

    x_ss: np.ndarray
    rates_per_ms: np.ndarray  # lambda (n,), complex unless every mode is real
    modes: np.ndarray  # V (n, n)
    inverse: np.ndarray  # V^-1 (n, n)
    row_modes: np.ndarray  # V[rows]
    mode_scale: np.ndarray  # max_i |V_ij| per mode j
    rows: np.ndarray
    dt_ms: float
    block: int
    v_slice: slice
    #: per-block factors by (steps, live modes), see `_block_factors` (not copied by `dataclasses.replace`)
    _cache: dict[object, tuple[np.ndarray, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(
        cls, solver: TreeSolver, mode: ClampMode, command: float, blk: Blockers, dt_ms: float, rows: np.ndarray, block: int = 64
    ) -> "ModalPropagator":
        """Linearise about the steady state for this drive and decompose the Jacobian (IllConditioned if inexact)."""
        x_ss, jac = linearise(solver, mode, command, blk)
        return cls.from_jacobian(x_ss, jac, dt_ms, rows, solver.layout.v, block)

    @classmethod
    def from_jacobian(cls, x_ss: np.ndarray, jac: np.ndarray, dt_ms: float, rows: np.ndarray, v_slice: slice,
                      block: int = 64) -> "ModalPropagator":
        """Eigendecomposition of J, checked by reconstruction."""
        lam, vec = linalg.eig(jac)
        try:
            inv = linalg.inv(vec)
        except linalg.LinAlgError as exc:
            raise IllConditioned(f"defective Jacobian: {exc}") from None
        err = float(np.max(np.abs((vec * lam) @ inv - jac)))
        if not np.isfinite(err) or err > MODAL_RECONSTRUCTION_TOL * float(np.max(np.abs(jac))):
            raise IllConditioned(f"eigendecomposition reproduces J only to {err:.2e}")
        if not np.any(lam.imag):  # the usual case: real modes, real arithmetic
            lam, vec, inv = lam.real, vec.real, inv.real
        return cls(x_ss=x_ss, rates_per_ms=lam, modes=vec, inverse=inv, row_modes=vec[rows],
                   mode_scale=np.max(np.abs(vec), axis=0), rows=rows, dt_ms=float(dt_ms), block=block,
                   v_slice=v_slice)

    def propagate(
        self, x0: np.ndarray, n_steps: int, limit_mV: float, tiny: float = 1e-10
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Samples of x[rows] after steps 1..m and the state after step m (as `LinearPropagator.propagate`)."""
        out = np.broadcast_to(self.x_ss[self.rows], (n_steps, self.rows.size)).copy()
        e = x0 - self.x_ss
        coef = self.inverse @ e  # modal amplitudes at the start of the stretch
        done = 0
        while done < n_steps:
            if np.max(np.abs(e)) < tiny:
                e = np.zeros_like(e)  # at rest: the remaining samples are x_ss
                done = n_steps
                break
            if np.max(np.abs(e[self.v_slice])) > limit_mV:
                break
            m = min(self.block, n_steps - done)
            live = np.flatnonzero(np.abs(coef) * self.mode_scale * self._step_decay() >= MODE_FLOOR)
            growth, row_modes_t, step_m = self._block_factors(m, live)
            out[done : done + m] += ((growth * coef[live]) @ row_modes_t).real
            coef = coef * step_m
            e = (self.modes[:, live] @ coef[live]).real
            done += m
        return out[:done], self.x_ss + e, done

    def _step_decay(self) -> np.ndarray:
        """|exp(lambda dt)| of every mode (cached)."""
        if "decay" not in self._cache:
            self._cache["decay"] = (np.exp(self.rates_per_ms.real * self.dt_ms),)
        return self._cache["decay"][0]

    def _block_factors(self, m: int, live: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For a block of m steps with these modes alive: exp(lambda k dt) (m, live) for k = 1..m, the recorded
        rows' modes (live, rows), exp(lambda m dt) of every mode; computed once per (m, live modes) and reused
        (the same numbers as computing them each block)."""
        cache = self._cache
        key = (m, live.tobytes())
        hit = cache.get(key)
        if hit is None:
            if len(cache) > 16:
                cache.clear()
            k = np.arange(1, m + 1) * self.dt_ms
            hit = (np.exp(np.outer(k, self.rates_per_ms[live])), self.row_modes[:, live].T,
                   np.exp(self.rates_per_ms * (m * self.dt_ms)))
            cache[key] = hit
        return hit[0], hit[1], hit[2]

    def is_near(self, x: np.ndarray, gate_slice: slice, tol_mV: float, tol_gate: float) -> bool:
        """True when voltages and channel gates are close enough to x_ss for linearity."""
        dv = np.max(np.abs(x[self.v_slice] - self.x_ss[self.v_slice]))
        dg = np.max(np.abs(x[gate_slice] - self.x_ss[gate_slice]), initial=0.0)
        return bool(dv < tol_mV and dg < tol_gate)
