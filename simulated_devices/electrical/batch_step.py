"""The implicit step of many independent copies of the cell, state by columns (truth probes: many quanta at once).

`step_columns` advances xt (state size, B copies): each state variable is a row of B contiguous values, so
every elementwise operation runs over contiguous memory (on (B, size) rows a head's column slice is strided,
2-4x slower per numpy call at B ~ 50). The arithmetic is `TreeSolver.step`'s numpy path element by element; the
B tree systems are solved as one block-diagonal tridiagonal system in copy-major order (zero couplings
between blocks: each block solves exactly as alone), so a copy's numbers do not depend on the others
(tests/test_sim_speed_step.py checks it against the row-by-row code it replaced).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg import lapack

from rig.model.biophysics import MG_BLOCK_PER_MV

from .channels import hh_conductances_uS, hh_rates_rows, k_inactivation_array

if TYPE_CHECKING:
    from .solver import Blockers, TreeSolver


def step_columns(sv: "TreeSolver", xt: np.ndarray, dt_ms: float, vc: np.ndarray, command: np.ndarray,
                 blk: "Blockers") -> None:
    """Advance xt (size, B) in place by one step, copy b under its own clamp (vc[b]: True for VC) and command."""
    L, t = sv.layout, sv.tree
    c_dt, diag0, rhs0, hc_dt, a0, h_rhs0, car_decay, _, syn_decay = sv._static(dt_ms)
    n_b = xt.shape[1]
    ch = sv.spec.soma_channels
    v0 = xt[0]
    m, h, n, l = xt[L.soma_gates]
    g_na, g_k = hh_conductances_uS(m, h, n, t.soma_area_um2, ch, l)
    g_na = np.zeros(n_b) if blk.soma_na else g_na
    g_k = np.zeros(n_b) if blk.soma_k else g_k
    i_s, s_s = g_na * (v0 - ch.ena_mV) + g_k * (v0 - ch.ek_mV), g_na + g_k
    d = np.repeat(diag0[None, :], n_b, axis=0)  # (B, tree nodes): copy-major for the solve
    b = np.empty_like(d)
    np.multiply(c_dt, xt[L.v_tree].T, out=b)
    b += rhs0
    d[:, 0] += s_s
    b[:, 0] += s_s * v0 - i_s
    d[:, 0] += np.where(vc, sv.g_series_uS, 0.0)
    b[:, 0] += np.where(vc, sv.g_series_uS * command, command * 1e-3)
    s = t.n_spines
    if s:
        vh = xt[L.v_head]
        g_max, mg_over_357 = sv._synapse_constants(blk)
        if blk.r_type_ca:
            g_car = np.zeros_like(vh)
        else:
            hm = xt[L.head_m]
            g_car = sv._g_car_max_uS[:, None] * (hm * hm * xt[L.head_h])
        syn_x = xt[L.ampa_r.start : L.nmda_d.stop].reshape(4, s, n_b)
        g = g_max[:, :, None] * (syn_x[1::2] - syn_x[0::2])  # AMPA, NMDA conductances (head_current)
        bl = 1.0 / (1.0 + mg_over_357 * np.exp(-MG_BLOCK_PER_MV * vh))
        drive = vh - sv.spec.synapse.e_syn_mV
        g_nmda_b = g[1] * bl
        i_h = g_car * (vh - sv.spec.head_channels.e_ca_mV) + (g[0] + g_nmda_b) * drive
        s_h = g_car + g[0] + np.maximum(g_nmda_b * (1.0 + MG_BLOCK_PER_MV * (1.0 - bl) * drive), 0.0)
        a = a0[:, None] + s_h
        r_h = hc_dt[:, None] * vh + h_rhs0[:, None] + s_h * vh - i_h
        gn = t.g_neck_uS[:, None]
        denom = a + gn
        if sv._unique_parents:
            d[:, t.spine_parent] += (gn * a / denom).T
            b[:, t.spine_parent] += (gn * r_h / denom).T
        else:  # np.bincount's sums per copy (from 0, in head order), added to the shared parents only
            nodes, first, later = sv._parent_groups()
            for arr, w in ((d, gn * a / denom), (b, gn * r_h / denom)):
                sums = w[first]
                for slots, heads in later:
                    sums[slots] += w[heads]
                arr[:, nodes] += sums.T
    off = sv._block_offdiag(n_b)
    _, _, _, v_new, info = lapack.dgtsv(off, d.ravel(), off, b.ravel())
    if info != 0:
        raise FloatingPointError(f"tridiagonal solve failed (info={info})")
    v_new = v_new.reshape(n_b, 1 + t.n_dend).T
    xt[L.v_tree] = v_new
    if s:
        xt[L.v_head] = (r_h + gn * v_new[t.spine_parent]) / denom
    inf, tau = hh_rates_rows(v0, ch)  # v0 is xt[0]: the new somatic voltage
    i = L.soma_gates.start
    xt[i : i + 3] = inf + (xt[i : i + 3] - inf) * np.exp(-dt_ms / tau)
    l_inf, tau_l = k_inactivation_array(v0, ch)
    xt[i + 3] = l_inf + (xt[i + 3] - l_inf) * math.exp(-dt_ms / tau_l)
    if s:
        inf = 1.0 / (1.0 + np.exp((xt[None, L.v_head] - sv._car_half[:, :, None]) / sv._car_slope[:, :, None]))
        gates = xt[L.head_m.start : L.head_h.stop].reshape(2, s, n_b)
        gates[:] = inf + (gates - inf) * car_decay[:, :, None]
        xt[L.ampa_r.start : L.nmda_d.stop] *= syn_decay[:, None]  # decay_synapses
