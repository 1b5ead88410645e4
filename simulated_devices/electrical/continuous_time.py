"""The electrical model's continuous-time description: dx/dt of the full state vector, its sparsity, the passive
conductance matrix and the ionic slopes, for the steady-state solves and the linear fast path (linear.py).

`ContinuousTime` is a base of `solver.TreeSolver`, which owns the layout, tree and membrane currents these read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from .channels import car_steady_state, hh_rates, k_inactivation
from .morphology import CellSpec, CompartmentTree

if TYPE_CHECKING:
    from .solver import Blockers, ClampMode, StateLayout


class _SolverParts(Protocol):
    """What of the solver the continuous-time description reads."""

    spec: CellSpec
    tree: CompartmentTree
    layout: StateLayout
    g_series_uS: float
    _axial_sum: np.ndarray
    _unique_parents: bool
    _fd_pattern: np.ndarray  # set by fd_column_groups, with its cache _fd_groups
    _fd_groups: list[np.ndarray]

    def soma_current(self, x: np.ndarray, blk: Blockers) -> tuple[float, float]: ...

    def head_current(self, x: np.ndarray, blk: Blockers) -> tuple[np.ndarray, np.ndarray]: ...

    def rhs_sparsity(self) -> np.ndarray: ...

    def with_gates_at_steady_state(self, x: np.ndarray) -> np.ndarray: ...


class ContinuousTime:
    """dx/dt and the pieces of its Jacobian (steady states, linearisation)."""

    def rhs(self: _SolverParts, x: np.ndarray, mode: ClampMode, command: float, blk: Blockers) -> np.ndarray:
        """dx/dt of the full model (used for steady states and the linear fast path)."""
        L, t, syn, hc = self.layout, self.tree, self.spec.synapse, self.spec.head_channels
        out = np.zeros_like(x)
        v, vh = x[L.v_tree], x[L.v_head]
        i_tree = t.g_leak_uS * (v - t.e_leak_mV)
        ax = t.g_axial_uS * np.diff(v)
        i_tree[:-1] -= ax
        i_tree[1:] += ax
        i_tree[0] += self.soma_current(x, blk)[0]
        i_tree[0] -= self.g_series_uS * (command - v[0]) if mode == "VC" else command * 1e-3
        neck = t.g_neck_uS * (vh - v[t.spine_parent])
        if self._unique_parents:
            i_tree[t.spine_parent] -= neck
        else:
            i_tree -= np.bincount(t.spine_parent, weights=neck, minlength=i_tree.size)
        i_head = t.head_g_leak_uS * (vh - t.e_leak_mV) + self.head_current(x, blk)[0] + neck
        out[L.v_tree] = -i_tree / t.cap_nF
        out[L.v_head] = -i_head / t.head_cap_nF
        m_inf, tau_m, h_inf, tau_h, n_inf, tau_n = hh_rates(v[0], self.spec.soma_channels)
        l_inf, tau_l = k_inactivation(v[0], self.spec.soma_channels)
        out[L.soma_gates] = (np.array([m_inf, h_inf, n_inf, l_inf]) - x[L.soma_gates]) / np.array(
            [tau_m, tau_h, tau_n, tau_l])
        mi, hi = car_steady_state(vh, hc)
        out[L.head_m] = (mi - x[L.head_m]) / hc.tau_m_ms
        out[L.head_h] = (hi - x[L.head_h]) / hc.tau_h_ms
        out[L.ampa_r] = -x[L.ampa_r] / syn.ampa_tau_rise_ms
        out[L.ampa_d] = -x[L.ampa_d] / syn.ampa_tau_decay_ms
        out[L.nmda_r] = -x[L.nmda_r] / syn.nmda_tau_rise_ms
        out[L.nmda_d] = -x[L.nmda_d] / syn.nmda_tau_decay_ms
        return out

    def rhs_sparsity(self: _SolverParts) -> np.ndarray:
        """(n, n) bool: True where dx_r/dt (row r of `rhs`) may depend on x_c (column c)."""
        L, t = self.layout, self.tree
        n_tree, s = 1 + t.n_dend, t.n_spines
        dep = np.eye(L.size, dtype=bool)
        tree = np.arange(n_tree)
        dep[tree[1:], tree[:-1]] = dep[tree[:-1], tree[1:]] = True  # axial neighbours
        dep[0, L.soma_gates] = dep[L.soma_gates, 0] = True  # soma current and gates
        heads = np.arange(L.v_head.start, L.v_head.stop)
        dep[heads, t.spine_parent] = dep[t.spine_parent, heads] = True  # necks
        for sl in (L.head_m, L.head_h):
            gates = np.arange(sl.start, sl.stop)
            dep[heads, gates] = dep[gates, heads] = True
        for sl in (L.ampa_r, L.ampa_d, L.nmda_r, L.nmda_d):
            dep[heads, np.arange(sl.start, sl.stop)] = True  # synaptic states drive the head only
        assert dep.shape == (L.size, L.size) and s == heads.size
        return dep

    def fd_column_groups(self: _SolverParts) -> list[np.ndarray]:
        """Columns of the RHS Jacobian that share no row (Curtis, Powell & Reid 1974), greedily grouped:
        one pair of RHS evaluations differences a whole group."""
        if not hasattr(self, "_fd_groups"):
            dep = self.rhs_sparsity()
            groups: list[list[int]] = []
            used: list[np.ndarray] = []
            for c in range(dep.shape[1]):
                rows = dep[:, c]
                for g, u in zip(groups, used):
                    if not np.any(u & rows):
                        g.append(c)
                        u |= rows
                        break
                else:
                    groups.append([c])
                    used.append(rows.copy())
            self._fd_pattern = dep
            self._fd_groups = [np.array(g) for g in groups]
        return self._fd_groups

    def passive_conductance_uS(self: _SolverParts, mode: ClampMode) -> np.ndarray:
        """d(net membrane + axial + neck + clamp current)/dV of every node, ion channels left out (uS)."""
        t, L = self.tree, self.layout
        n_tree, n = 1 + t.n_dend, L.n_nodes
        g = np.zeros((n, n))
        g[:n_tree, :n_tree] = np.diag(t.g_leak_uS + self._axial_sum)
        idx = np.arange(n_tree - 1)
        g[idx, idx + 1] = g[idx + 1, idx] = -t.g_axial_uS
        heads = np.arange(n_tree, n)
        np.add.at(g, (t.spine_parent, t.spine_parent), t.g_neck_uS)
        g[heads, heads] = t.head_g_leak_uS + t.g_neck_uS
        g[heads, t.spine_parent] = g[t.spine_parent, heads] = -t.g_neck_uS
        if mode == "VC":
            g[0, 0] += self.g_series_uS
        return g

    def local_slope_uS(self: _SolverParts, x: np.ndarray, blk: Blockers) -> np.ndarray:
        """dI/dV of each node's own ionic current with its gates at their steady state (uS, leak excluded).

        Every node's current depends only on its own voltage, so one central difference of all nodes at
        once gives every slope."""
        L = self.layout
        v = x[L.v]
        h = 1e-6 * np.maximum(1.0, np.abs(v))
        out = np.zeros(L.n_nodes)
        for sign in (1.0, -1.0):
            y = x.copy()
            y[L.v] = v + sign * h
            y = self.with_gates_at_steady_state(y)
            out[0] += sign * self.soma_current(y, blk)[0]
            out[L.v_head] += sign * self.head_current(y, blk)[0]
        return out / (2.0 * h)

    def with_gates_at_steady_state(self: _SolverParts, x: np.ndarray) -> np.ndarray:
        """Copy of x with every gate at its steady-state value for the present voltages."""
        L = self.layout
        y = x.copy()
        m_inf, _, h_inf, _, n_inf, _ = hh_rates(y[0], self.spec.soma_channels)
        y[L.soma_gates] = [m_inf, h_inf, n_inf, k_inactivation(y[0], self.spec.soma_channels)[0]]
        y[L.head_m], y[L.head_h] = car_steady_state(y[L.v_head], self.spec.head_channels)
        return y
