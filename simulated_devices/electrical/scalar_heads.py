"""The spine heads' part of one implicit `TreeSolver.step` on Python floats.

For a cell with a few heads (the specimen has 3 imaged + 8-12 background ones) a numpy call on a
head-sized array costs ~1 us, twenty times its arithmetic; the ~50 elementwise operations of a step's
head terms and gate update cost less as Python float arithmetic. The operations are the numpy path's,
in the same order (IEEE doubles either way); the exponentials stay numpy's (one call each for the Mg
block and the R-type gates), so the results are bit-identical to the array path
(tests/test_sim_speed_step.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.model.biophysics import MG_BLOCK_PER_MV

#: Above this many heads the numpy path is the cheaper one.
MAX_SCALAR_HEADS = 32


@dataclass(frozen=True)
class HeadConstants:
    """What the scalar head arithmetic reads that is fixed for a tree, dt and bath (Python floats)."""

    n: int
    parents: np.ndarray  # dendrite node of each head
    sum_nodes: np.ndarray | None  # distinct parents when some are shared (their terms are summed), else None
    sum_slots: list[int]  # for shared parents: each head's index into sum_nodes
    per_head: list[tuple[float, ...]]  # (AMPA, NMDA peak g, R-type g_max, a0, C/dt, leak rhs, neck g) per head
    mg_over_357: float
    e_syn_mV: float
    e_ca_mV: float
    m_half_mV: float
    m_neg_slope_mV: float
    h_half_mV: float
    h_slope_mV: float
    m_decay: float
    h_decay: float


def head_constants(parents: np.ndarray, g_max: np.ndarray, g_car_max: np.ndarray | None, a0: np.ndarray,
                   hc_dt: np.ndarray, h_rhs0: np.ndarray, g_neck: np.ndarray, mg_over_357: float, e_syn_mV: float,
                   e_ca_mV: float, car_half: np.ndarray, car_slope: np.ndarray,
                   car_decay: np.ndarray) -> HeadConstants:
    """Constants of `head_terms` / `head_update` (g_car_max None: R-type blocked, its conductance 0)."""
    n = int(parents.size)
    car = np.zeros(n) if g_car_max is None else np.broadcast_to(g_car_max, (n,))
    per_head = list(zip(g_max[0].tolist(), g_max[1].tolist(), car.tolist(), np.broadcast_to(a0, (n,)).tolist(),
                        np.broadcast_to(hc_dt, (n,)).tolist(), np.broadcast_to(h_rhs0, (n,)).tolist(),
                        np.broadcast_to(g_neck, (n,)).tolist()))
    distinct = list(dict.fromkeys(parents.tolist()))
    shared = len(distinct) < n
    return HeadConstants(
        n=n, parents=np.asarray(parents, dtype=np.intp),
        sum_nodes=np.array(distinct, dtype=np.intp) if shared else None,
        sum_slots=[distinct.index(p) for p in parents.tolist()] if shared else [],
        per_head=per_head, mg_over_357=float(mg_over_357), e_syn_mV=float(e_syn_mV), e_ca_mV=float(e_ca_mV),
        m_half_mV=float(car_half[0, 0]), m_neg_slope_mV=float(car_slope[0, 0]), h_half_mV=float(car_half[1, 0]),
        h_slope_mV=float(car_slope[1, 0]), m_decay=float(car_decay[0, 0]), h_decay=float(car_decay[1, 0]))


def head_terms(k: HeadConstants, heads: np.ndarray, state: list[float], d: np.ndarray, b: np.ndarray,
               mg_exp: tuple[list[float], list[float]] | None) -> tuple[list[float], list[float]]:
    """Add the eliminated heads' terms to the tree's diagonal d and right-hand side b (in place).

    heads: the head voltages (array view); state: x from the first head voltage to the last synaptic state as
    floats (head voltages, 4 soma gates, R-type m, h, AMPA rise, decay, NMDA rise, decay); mg_exp: head voltages
    and their Mg-block exponentials from the last `head_update` (used when the voltages are these). Returns each
    head's right-hand side and denominator for `head_update`."""
    s = k.n
    vh = state[:s]
    m = state[s + 4 : 2 * s + 4]
    h = state[2 * s + 4 : 3 * s + 4]
    ar = state[3 * s + 4 : 4 * s + 4]
    ad = state[4 * s + 4 : 5 * s + 4]
    nr = state[5 * s + 4 : 6 * s + 4]
    nd = state[6 * s + 4 : 7 * s + 4]
    ex = mg_exp[1] if mg_exp is not None and mg_exp[0] == vh else np.exp(-MG_BLOCK_PER_MV * heads).tolist()
    mg, e_syn, e_ca = k.mg_over_357, k.e_syn_mV, k.e_ca_mV
    d_add, b_add, r_out, den_out = [], [], [], []
    for v, e, m_, h_, ar_, ad_, nr_, nd_, (g_a, g_n, g_c, a0, hc_dt, h_rhs0, gn) in zip(
            vh, ex, m, h, ar, ad, nr, nd, k.per_head):
        ga = g_a * (ad_ - ar_)
        gnm = g_n * (nd_ - nr_)
        g_car = g_c * (m_ * m_ * h_)
        bl = 1.0 / (1.0 + mg * e)
        drive = v - e_syn
        g_nmda_b = gnm * bl
        i_h = g_car * (v - e_ca) + (ga + g_nmda_b) * drive
        slope = g_nmda_b * (1.0 + MG_BLOCK_PER_MV * (1.0 - bl) * drive)
        s_h = g_car + ga + (slope if slope > 0.0 or slope != slope else 0.0)  # np.maximum(., 0): NaN propagates
        a = a0 + s_h
        r_h = hc_dt * v + h_rhs0 + s_h * v - i_h
        denom = a + gn
        d_add.append(gn * a / denom)
        b_add.append(gn * r_h / denom)
        r_out.append(r_h)
        den_out.append(denom)
    if k.sum_nodes is None:
        d[k.parents] += d_add
        b[k.parents] += b_add
    else:  # np.bincount's sums: from 0, in head order
        ds = [0.0] * k.sum_nodes.size
        bs = [0.0] * k.sum_nodes.size
        for j, dv, bv in zip(k.sum_slots, d_add, b_add):
            ds[j] += dv
            bs[j] += bv
        d[k.sum_nodes] += ds
        b[k.sum_nodes] += bs
    return r_out, den_out


def head_update(k: HeadConstants, v_tree: np.ndarray, r_h: list[float], denom: list[float],
                m: list[float], h: list[float]) -> tuple[list[float], list[float], list[float]]:
    """Back-substituted head voltages and the R-type gates' exponential-Euler update at them
    (m, h: the gates before the step). Returns (head voltages, m then h, the next step's Mg-block exponentials
    exp(-0.062 V), in the same numpy call as the gates' exponentials)."""
    vp = v_tree[k.parents].tolist()
    vh = [(r + p[6] * v) / dn for r, p, v, dn in zip(r_h, k.per_head, vp, denom)]
    mh, ms, hh, hs = k.m_half_mV, k.m_neg_slope_mV, k.h_half_mV, k.h_slope_mV
    neg = -MG_BLOCK_PER_MV
    ex = np.exp([(v - mh) / ms for v in vh] + [(v - hh) / hs for v in vh] + [neg * v for v in vh]).tolist()
    s = k.n
    md, hd = k.m_decay, k.h_decay
    gates = []
    for g, e in zip(m, ex[:s]):
        inf = 1.0 / (1.0 + e)
        gates.append(inf + (g - inf) * md)
    for g, e in zip(h, ex[s:]):
        inf = 1.0 / (1.0 + e)
        gates.append(inf + (g - inf) * hd)
    return vh, gates, ex[2 * s :]
