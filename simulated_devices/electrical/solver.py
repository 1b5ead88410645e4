"""Implicit (backward-Euler) integration of the compartment tree (the continuous-time RHS: continuous_time.py).

State is one flat vector (see `StateLayout`). Units: mV, ms, nF, uS, nA.
Each step: membrane currents are linearised about the present voltage, spine heads
(leaves joined by a pure neck resistor) are eliminated onto their parent dendrite
node, the soma+dendrite tridiagonal system is solved in O(N) (LAPACK gtsv), heads are
back-substituted, then gates and synaptic states advance with the new voltage
(NEURON-like staggering).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import lapack

from rig.model.biophysics import MG_BLOCK_MM, MG_BLOCK_PER_MV

from .batch_step import step_columns
from .channels import (
    hh_conductances_uS,
    hh_rates,
    k_inactivation,
)
from .continuous_time import ContinuousTime
from .morphology import CellSpec, CompartmentTree
from .scalar_heads import MAX_SCALAR_HEADS, HeadConstants, head_constants, head_terms, head_update
from .synapses import exp2_peak_factor

ClampMode = Literal["VC", "CC"]


def as_clamp_mode(mode: str) -> ClampMode:
    """The clamp mode named by `mode`; ValueError for anything but 'VC' or 'CC'."""
    if mode == "VC":
        return "VC"
    if mode == "CC":
        return "CC"
    raise ValueError(f"clamp_mode must be 'VC' or 'CC', got {mode!r}")


@dataclass
class Blockers:
    """Pharmacology: True removes that conductance (NBQX, CPP/APV, SNX-482/Ni, QX-314, TEA); the bath's Mg."""

    ampa: bool = False
    nmda: bool = False
    r_type_ca: bool = False
    soma_na: bool = False
    soma_k: bool = False
    mg_mM: float | None = None  # the bath's Mg when it differs from the synapse's (e.g. 'Mg-free')

    def key(self) -> tuple[object, ...]:
        """Hashable snapshot, used to cache steady states."""
        return (self.ampa, self.nmda, self.r_type_ca, self.soma_na, self.soma_k, self.mg_mM)


class StateLayout:
    """Slices of the flat state vector."""

    def __init__(self, n_dend: int, n_spines: int) -> None:
        s = n_spines
        self.n_nodes = 1 + n_dend + s
        self.v = slice(0, self.n_nodes)
        self.v_tree = slice(0, 1 + n_dend)
        self.v_head = slice(1 + n_dend, self.n_nodes)
        o = self.n_nodes
        self.soma_gates = slice(o, o + 4)  # m, h, n, l (slow K inactivation)
        o += 4
        self.head_m, self.head_h = slice(o, o + s), slice(o + s, o + 2 * s)
        o += 2 * s
        self.ampa_r, self.ampa_d = slice(o, o + s), slice(o + s, o + 2 * s)
        o += 2 * s
        self.nmda_r, self.nmda_d = slice(o, o + s), slice(o + s, o + 2 * s)
        o += 2 * s
        self.size = o


@dataclass(frozen=True)
class _StepConstants:
    """What one implicit `TreeSolver.step` reads that is fixed for a tree, dt and bath."""

    tree: CompartmentTree
    static: tuple[np.ndarray, ...]
    slices: tuple[slice, slice, slice, slice]  # tree voltages, head voltages, synaptic states, head gates
    g_max: np.ndarray  # (2, spines) peak AMPA, NMDA conductances, 0 where blocked
    mg_over_357: float
    car_on: bool
    zeros: np.ndarray
    e_syn_mV: float
    e_ca_mV: float
    heads: HeadConstants | None  # the heads' arithmetic on Python floats (few heads), else None: numpy arrays
    diag0_soma: float  # the soma's entry of the static diagonal


class TreeSolver(ContinuousTime):
    """Backward-Euler stepper of the electrical model (its RHS and linearisation pieces: ContinuousTime)."""

    def __init__(self, spec: CellSpec, tree: CompartmentTree) -> None:
        self.spec, self.tree = spec, tree
        self.layout = StateLayout(tree.n_dend, tree.n_spines)
        syn = spec.synapse
        self.ampa_factor = exp2_peak_factor(syn.ampa_tau_rise_ms, syn.ampa_tau_decay_ms)
        self.nmda_factor = exp2_peak_factor(syn.nmda_tau_rise_ms, syn.nmda_tau_decay_ms)
        self.g_series_uS = 1.0 / spec.series_resistance_MOhm
        self.ampa_scale = np.array([sp.ampa_scale for sp in spec.spines], dtype=float)
        self.nmda_scale = np.array([sp.nmda_scale for sp in spec.spines], dtype=float)
        g_ax = tree.g_axial_uS
        self._axial_sum = np.zeros(1 + tree.n_dend)
        self._axial_sum[:-1] += g_ax
        self._axial_sum[1:] += g_ax
        self._offdiag = -g_ax
        self._unique_parents = len(set(tree.spine_parent.tolist())) == tree.n_spines
        self._dt_cache: dict[float, tuple[np.ndarray, ...]] = {}
        self._g_car_max_uS = spec.head_channels.g_car_mS_per_cm2 * tree.head_area_um2 * 1e-5
        self._mg_over_357 = syn.mg_mM / MG_BLOCK_MM
        hc = spec.head_channels
        # R-type m and h steady states in one expression: 1 / (1 + exp((V - half) / slope)), m's slope negated
        self._car_half = np.array([[hc.m_half_mV], [hc.h_half_mV]])
        self._car_slope = np.array([[-hc.m_slope_mV], [hc.h_slope_mV]])
        self._blk_cache: dict[tuple[object, ...], tuple[np.ndarray, float]] = {}
        self._block_offdiags: dict[int, np.ndarray] = {}
        self._step_cache: dict[tuple[object, ...], _StepConstants] = {}  # step_batch: n copies' off-diagonal, 0 between blocks
        #: `step` does the heads' arithmetic on Python floats when there are few (bit-identical; False: numpy arrays)
        self.scalar_heads = True
        self._mg_exp: tuple[list[float], list[float]] | None = None  # see scalar_heads.head_terms
        self._groups: tuple[CompartmentTree, tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]] | None = None

    # ----- membrane currents -------------------------------------------------------
    def synaptic_conductances_uS(self, x: np.ndarray, blk: Blockers) -> tuple[np.ndarray, np.ndarray]:
        """AMPA and NMDA (unblocked by Mg) conductances per head, in uS (broadcasts over time)."""
        L, syn = self.layout, self.spec.synapse
        g_a = 0.0 if blk.ampa else syn.ampa_g_nS * 1e-3 * self.ampa_scale
        g_n = 0.0 if blk.nmda else syn.nmda_g_nS * 1e-3 * self.nmda_scale
        ampa = g_a * (x[..., L.ampa_d] - x[..., L.ampa_r])
        nmda = g_n * (x[..., L.nmda_d] - x[..., L.nmda_r])
        return ampa, nmda

    def soma_current(self, x: np.ndarray, blk: Blockers) -> tuple[float, float]:
        """Somatic ionic current (nA, outward +) and its slope dI/dV (uS), leak excluded."""
        m, h, n, l = x[self.layout.soma_gates].tolist()  # Python floats: scalar arithmetic without numpy's overhead
        return self._soma_terms(float(x[0]), m, h, n, l, blk)

    def _soma_terms(self, v0: float, m: float, h: float, n: float, l: float, blk: Blockers) -> tuple[float, float]:
        """`soma_current` from the soma's voltage and gates as floats."""
        ch = self.spec.soma_channels
        g_na, g_k = hh_conductances_uS(m, h, n, self.tree.soma_area_um2, ch, l)
        g_na = 0.0 if blk.soma_na else float(g_na)
        g_k = 0.0 if blk.soma_k else float(g_k)
        return g_na * (v0 - ch.ena_mV) + g_k * (v0 - ch.ek_mV), g_na + g_k

    def _synapse_constants(self, blk: Blockers) -> tuple[np.ndarray, float]:
        """Peak AMPA and NMDA conductances per head (2, spines; 0 where blocked) and [Mg]/3.57 of the bath."""
        key = blk.key()
        if key not in self._blk_cache:
            syn = self.spec.synapse
            g = np.zeros((2, self.tree.n_spines))
            if not blk.ampa:
                g[0] = syn.ampa_g_nS * 1e-3 * self.ampa_scale
            if not blk.nmda:
                g[1] = syn.nmda_g_nS * 1e-3 * self.nmda_scale
            self._blk_cache[key] = (g, self._mg_over_357 if blk.mg_mM is None else blk.mg_mM / MG_BLOCK_MM)
        return self._blk_cache[key]

    def head_current(self, x: np.ndarray, blk: Blockers) -> tuple[np.ndarray, np.ndarray]:
        """Head ionic current (nA, outward +) and non-negative slope (uS), leak excluded (x: one state or rows)."""
        L, syn, hc = self.layout, self.spec.synapse, self.spec.head_channels
        v = x[..., L.v_head]
        if blk.r_type_ca:
            g_car = np.zeros_like(v)
        else:
            m = x[..., L.head_m]
            g_car = self._g_car_max_uS * (m * m * x[..., L.head_h])
        g_max, mg_over_357 = self._synapse_constants(blk)
        # ampa rise, decay, nmda rise, decay (x may hold a batch of states, one per row)
        states = x[..., L.ampa_r.start : L.nmda_d.stop].reshape(x.shape[:-1] + (4, -1))
        g = g_max * (states[..., 1::2, :] - states[..., 0::2, :])
        g_ampa, g_nmda = g[..., 0, :], g[..., 1, :]
        b = 1.0 / (1.0 + mg_over_357 * np.exp(-MG_BLOCK_PER_MV * v))  # Jahr & Stevens (rig.model.biophysics)
        drive = v - syn.e_syn_mV
        g_nmda_b = g_nmda * b
        i = g_car * (v - hc.e_ca_mV) + (g_ampa + g_nmda_b) * drive
        # The negative-slope part of the Mg block is left explicit so the matrix stays an M-matrix.
        slope_nmda = np.maximum(g_nmda_b * (1.0 + MG_BLOCK_PER_MV * (1.0 - b) * drive), 0.0)
        return i, g_car + g_ampa + slope_nmda

    # ----- time stepping -----------------------------------------------------------
    def _static(self, dt_ms: float) -> tuple[np.ndarray, ...]:
        if dt_ms not in self._dt_cache:
            t = self.tree
            c_dt = t.cap_nF / dt_ms
            diag = c_dt + t.g_leak_uS + self._axial_sum
            rhs = t.g_leak_uS * t.e_leak_mV
            hc_dt = t.head_cap_nF / dt_ms
            h_rhs = t.head_g_leak_uS * t.e_leak_mV
            hc, syn, s = self.spec.head_channels, self.spec.synapse, t.n_spines
            taus = np.repeat(
                [syn.ampa_tau_rise_ms, syn.ampa_tau_decay_ms, syn.nmda_tau_rise_ms, syn.nmda_tau_decay_ms], s
            )
            self._dt_cache[dt_ms] = (
                c_dt, diag, rhs, hc_dt, hc_dt + t.head_g_leak_uS, h_rhs,
                np.array([[math.exp(-dt_ms / hc.tau_m_ms)], [math.exp(-dt_ms / hc.tau_h_ms)]]), None,
                np.exp(-dt_ms / taus),
            )
        return self._dt_cache[dt_ms]

    def step(self, x: np.ndarray, dt_ms: float, mode: ClampMode, command: float, blk: Blockers) -> None:
        """Advance the state x in place by one time step (command in mV for VC, pA for CC).

        The same arithmetic as `head_current`, `update_gates` and `decay_synapses`, fused for one state: each
        numpy call on these few-element arrays costs more than its arithmetic, so the step makes as few as it can."""
        t = self.tree
        k = self._fused_constants(dt_ms, blk)
        if k.heads is not None:
            self._step_few_heads(x, k, k.heads, dt_ms, mode, command, blk)
            return
        (c_dt, diag0, rhs0, hc_dt, a0, h_rhs0, car_decay, _, syn_decay) = k.static
        tree_sl, head_sl, syn_sl, gate_sl = k.slices
        v = x[tree_sl]
        i_s, s_s = self.soma_current(x, blk)
        d = diag0.copy()
        b = c_dt * v + rhs0
        d[0] += s_s
        b0 = s_s * float(v[0]) - i_s
        if mode == "VC":
            d[0] += self.g_series_uS
            b0 += self.g_series_uS * command
        else:
            b0 += command * 1e-3
        b[0] += b0
        s = t.n_spines
        if s:
            vh = x[head_sl]
            syn_x = x[syn_sl].reshape(4, s)
            g = k.g_max * (syn_x[1::2] - syn_x[0::2])  # AMPA, NMDA conductances (head_current)
            if k.car_on:
                gates = x[gate_sl].reshape(2, s)
                g_car = self._g_car_max_uS * (gates[0] * gates[0] * gates[1])
            else:
                g_car = k.zeros
            bl = 1.0 / (1.0 + k.mg_over_357 * np.exp(-MG_BLOCK_PER_MV * vh))
            drive = vh - k.e_syn_mV
            g_nmda_b = g[1] * bl
            i_h = g_car * (vh - k.e_ca_mV) + (g[0] + g_nmda_b) * drive
            s_h = g_car + g[0] + np.maximum(g_nmda_b * (1.0 + MG_BLOCK_PER_MV * (1.0 - bl) * drive), 0.0)
            a = a0 + s_h
            r_h = hc_dt * vh + h_rhs0 + s_h * vh - i_h
            gn = t.g_neck_uS
            denom = a + gn
            if self._unique_parents:
                d[t.spine_parent] += gn * a / denom
                b[t.spine_parent] += gn * r_h / denom
            else:
                d += np.bincount(t.spine_parent, weights=gn * a / denom, minlength=d.size)
                b += np.bincount(t.spine_parent, weights=gn * r_h / denom, minlength=b.size)
        _, _, _, v_new, info = lapack.dgtsv(self._offdiag, d, self._offdiag, b, overwrite_d=1, overwrite_b=1)
        if info != 0:
            raise FloatingPointError(f"tridiagonal solve failed (info={info})")
        x[tree_sl] = v_new
        self._update_soma_gates(x, dt_ms)
        if s:
            vh_new = (r_h + gn * v_new[t.spine_parent]) / denom
            x[head_sl] = vh_new
            inf = 1.0 / (1.0 + np.exp((vh_new - self._car_half) / self._car_slope))  # car_steady_state
            gates = x[gate_sl].reshape(2, s)
            gates[:] = inf + (gates - inf) * car_decay
            x[syn_sl] *= syn_decay  # decay_synapses

    def _step_few_heads(self, x: np.ndarray, k: "_StepConstants", hk: HeadConstants, dt_ms: float, mode: ClampMode,
                        command: float, blk: Blockers) -> None:
        """`step` with the heads' arithmetic on Python floats (scalar_heads): the same operations in the same order,
        the soma's too, and the state written back in two slices."""
        c_dt, diag0, rhs0 = k.static[:3]
        tree_sl, head_sl, syn_sl, gate_sl = k.slices
        s = hk.n
        state = x[head_sl.start : syn_sl.stop].tolist()  # heads' voltages, soma gates, head gates, synapses
        m, h, n, l = state[s : s + 4]
        v0 = float(x[0])
        i_s, s_s = self._soma_terms(v0, m, h, n, l, blk)
        d = diag0.copy()
        b = c_dt * x[tree_sl] + rhs0
        b0 = s_s * v0 - i_s
        if mode == "VC":
            d[0] = k.diag0_soma + s_s + self.g_series_uS
            b0 += self.g_series_uS * command
        else:
            d[0] = k.diag0_soma + s_s
            b0 += command * 1e-3
        b[0] += b0
        r_h, denom = head_terms(hk, x[head_sl], state, d, b, self._mg_exp)
        _, _, _, v_new, info = lapack.dgtsv(self._offdiag, d, self._offdiag, b, overwrite_d=1, overwrite_b=1)
        if info != 0:
            raise FloatingPointError(f"tridiagonal solve failed (info={info})")
        x[tree_sl] = v_new
        vh, gates, mg_exp = head_update(hk, v_new, r_h, denom, state[s + 4 : 2 * s + 4], state[2 * s + 4 : 3 * s + 4])
        self._mg_exp = (vh, mg_exp)  # the next step's Mg block, if it starts from these head voltages
        x[head_sl.start : gate_sl.stop] = vh + self._soma_gates_after(float(v_new[0]), m, h, n, l, dt_ms) + gates
        x[syn_sl] *= k.static[8]  # decay_synapses

    def _fused_constants(self, dt_ms: float, blk: Blockers) -> "_StepConstants":
        """The per-step constants of `step` for this tree, dt and bath (cached; rebuilt when the tree changes)."""
        key = (dt_ms, blk.key())
        cached = self._step_cache.get(key)
        if cached is not None and cached.tree is self.tree:
            return cached
        L, syn, hc = self.layout, self.spec.synapse, self.spec.head_channels
        g_max, mg_over_357 = self._synapse_constants(blk)
        static, t = self._static(dt_ms), self.tree
        heads = None
        if 0 < t.n_spines <= MAX_SCALAR_HEADS and self.scalar_heads:
            heads = head_constants(t.spine_parent, g_max, None if blk.r_type_ca else self._g_car_max_uS, static[4],
                                   static[3], static[5], t.g_neck_uS, mg_over_357, syn.e_syn_mV, hc.e_ca_mV,
                                   self._car_half, self._car_slope, static[6])
        built = _StepConstants(
            tree=t, static=static,
            slices=(L.v_tree, L.v_head, slice(L.ampa_r.start, L.nmda_d.stop), slice(L.head_m.start, L.head_h.stop)),
            g_max=g_max, mg_over_357=mg_over_357, car_on=not blk.r_type_ca, zeros=np.zeros(t.n_spines),
            e_syn_mV=syn.e_syn_mV, e_ca_mV=hc.e_ca_mV, heads=heads, diag0_soma=float(static[1][0]))
        self._step_cache[key] = built
        return built

    def _update_soma_gates(self, x: np.ndarray, dt_ms: float) -> None:
        """Exponential-Euler update of the soma's four gates at the (new) somatic voltage."""
        sg = self.layout.soma_gates
        m, h, n, l = x[sg].tolist()
        x[sg] = self._soma_gates_after(float(x[0]), m, h, n, l, dt_ms)

    def _soma_gates_after(self, v0: float, m: float, h: float, n: float, l: float, dt_ms: float) -> list[float]:
        """The soma's gates (m, h, n, l) after one exponential-Euler step at the voltage v0."""
        m_inf, tau_m, h_inf, tau_h, n_inf, tau_n = hh_rates(v0, self.spec.soma_channels)
        l_inf, tau_l = k_inactivation(v0, self.spec.soma_channels)
        return [m_inf + (m - m_inf) * math.exp(-dt_ms / tau_m), h_inf + (h - h_inf) * math.exp(-dt_ms / tau_h),
                n_inf + (n - n_inf) * math.exp(-dt_ms / tau_n), l_inf + (l - l_inf) * math.exp(-dt_ms / tau_l)]

    def step_batch(self, x: np.ndarray, dt_ms: float, vc: np.ndarray, command: np.ndarray, blk: Blockers) -> None:
        """`step` for independent copies of the cell, one state per row of x (B, size), each under its own clamp
        (vc: True for VC) and command: `batch_step.step_columns` on the transposed state."""
        xt = np.ascontiguousarray(x.T)
        step_columns(self, xt, dt_ms, vc, command, blk)
        x[:] = xt.T

    def _block_offdiag(self, n_b: int) -> np.ndarray:
        """Off-diagonal of n_b copies' tree systems in one block-diagonal system (0 between blocks; cached)."""
        if n_b not in self._block_offdiags:
            self._block_offdiags[n_b] = np.tile(np.append(self._offdiag, 0.0), n_b)[:-1]
        return self._block_offdiags[n_b]

    def _parent_groups(self) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Shared spine parents: the distinct parent nodes, the first head on each, and for the second, third ...
        head on a node (slot in the distinct nodes, head index) pairs, rank by rank (cached per tree)."""
        t = self.tree
        cached = self._groups
        if cached is not None and cached[0] is t:
            return cached[1]
        parents = t.spine_parent.tolist()
        nodes = list(dict.fromkeys(parents))
        heads_of: list[list[int]] = [[i for i, p in enumerate(parents) if p == n] for n in nodes]
        later = []
        for rank in range(1, max(len(h) for h in heads_of)):
            pairs = [(slot, h[rank]) for slot, h in enumerate(heads_of) if len(h) > rank]
            later.append((np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])))
        groups = (np.array(nodes), np.array([h[0] for h in heads_of]), later)
        self._groups = (t, groups)
        return groups

    def update_gates(self, x: np.ndarray, dt_ms: float) -> None:
        """Exponential-Euler gate update at the (new) voltage."""
        L = self.layout
        self._update_soma_gates(x, dt_ms)
        if self.tree.n_spines:
            inf = 1.0 / (1.0 + np.exp((x[L.v_head] - self._car_half) / self._car_slope))  # car_steady_state
            gates = x[L.head_m.start : L.head_h.stop].reshape(2, -1)
            gates[:] = inf + (gates - inf) * self._static(dt_ms)[6]

    def decay_synapses(self, x: np.ndarray, dt_ms: float) -> None:
        """Exact exponential decay of the four synaptic state variables."""
        L = self.layout
        x[L.ampa_r.start : L.nmda_d.stop] *= self._static(dt_ms)[8]

    def add_event(self, x: np.ndarray, spine_index: int, weight: float) -> None:
        """Presynaptic release at one spine: both receptors jump by weight x peak factor."""
        L = self.layout
        for r, d, f in ((L.ampa_r, L.ampa_d, self.ampa_factor), (L.nmda_r, L.nmda_d, self.nmda_factor)):
            x[r.start + spine_index] += weight * f
            x[d.start + spine_index] += weight * f
