"""The implicit step's fast paths are bit-identical to its plain numpy arithmetic (issue 13 item 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import lapack

from simulated_devices.electrical import Blockers, CellModel, CellSpec, SomaChannelSpec, SpineSpec
from simulated_devices.electrical.channels import hh_conductances_uS, hh_rates_array, k_inactivation_array
from simulated_devices.electrical.solver import ClampMode

SPINES = (  # two pairs share a dendrite node (the summed path), one sits alone
    SpineSpec(position_um=150.0, r_neck_MOhm=300.0, ampa_scale=1.5, nmda_scale=2.0),
    SpineSpec(position_um=150.5, r_neck_MOhm=80.0, head_volume_um3=0.05),
    SpineSpec(position_um=60.0, r_neck_MOhm=500.0, nmda_scale=0.02),
    SpineSpec(position_um=120.0, r_neck_MOhm=150.0),
    SpineSpec(position_um=120.3, r_neck_MOhm=1e-4),
)


def _run(spines: tuple[SpineSpec, ...], blockers: Blockers, mode: ClampMode, fast: bool) -> np.ndarray:
    """States after every step: synaptic events, a command step (a spike in CC), two dt."""
    model = CellModel(CellSpec(spines=spines), blockers=blockers)
    model.solver.scalar_heads = fast
    x = model.state
    out = []
    hold = -70.0 if mode == "VC" else 0.0
    pulse = -10.0 if mode == "VC" else 1500.0
    for k in range(700):
        if k in (20, 25, 300):
            for s in range(len(spines)):
                model.solver.add_event(x, s, 1.0 + 0.3 * s)
        cmd = pulse if 100 <= k < 140 else hold
        model.solver.step(x, 0.025 if k < 400 else 0.25, mode, cmd, blockers)
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("blockers", [Blockers(), Blockers(r_type_ca=True), Blockers(ampa=True, mg_mM=0.0),
                                      Blockers(nmda=True, soma_na=True)], ids=["control", "snx", "nbqx0mg", "cpp"])
@pytest.mark.parametrize("mode", ["CC", "VC"])
@pytest.mark.parametrize("spines", [SPINES, SPINES[2:4]], ids=["shared", "unique"])
def test_scalar_heads_bit_identical(spines: tuple[SpineSpec, ...], blockers: Blockers, mode: ClampMode) -> None:
    """Python-float head arithmetic gives exactly the numpy path's states, step after step."""
    fast, plain = _run(spines, blockers, mode, True), _run(spines, blockers, mode, False)
    assert np.all(np.isfinite(plain))
    assert np.ptp(plain[:, 0]) > 5.0  # the command step moved the soma
    np.testing.assert_array_equal(fast, plain)


def _reference_step_batch(sv, x: np.ndarray, dt_ms: float, vc: np.ndarray, command: np.ndarray,  # type: ignore[no-untyped-def]
                          blk: Blockers) -> None:
    """`TreeSolver.step_batch` as of 09a41db (np.bincount for shared parents, `hh_rates_array`), the reference."""
    L, t = sv.layout, sv.tree
    c_dt, diag0, rhs0, hc_dt, a0, h_rhs0 = sv._static(dt_ms)[:6]
    n_b, n_tree = x.shape[0], 1 + t.n_dend
    v, vh = x[:, L.v_tree], x[:, L.v_head]
    ch = sv.spec.soma_channels
    gates = x[:, L.soma_gates]
    g_na, g_k = hh_conductances_uS(gates[:, 0], gates[:, 1], gates[:, 2], t.soma_area_um2, ch, gates[:, 3])
    g_na = np.zeros(n_b) if blk.soma_na else g_na
    g_k = np.zeros(n_b) if blk.soma_k else g_k
    i_s, s_s = g_na * (v[:, 0] - ch.ena_mV) + g_k * (v[:, 0] - ch.ek_mV), g_na + g_k
    d = np.repeat(diag0[None, :], n_b, axis=0)
    b = c_dt * v + rhs0
    d[:, 0] += s_s
    b[:, 0] += s_s * v[:, 0] - i_s
    d[:, 0] += np.where(vc, sv.g_series_uS, 0.0)
    b[:, 0] += np.where(vc, sv.g_series_uS * command, command * 1e-3)
    i_h, s_h = sv.head_current(x, blk)
    a = a0 + s_h
    r_h = hc_dt * vh + h_rhs0 + s_h * vh - i_h
    gn = t.g_neck_uS
    denom = a + gn
    rows = (t.spine_parent[None, :] + n_tree * np.arange(n_b)[:, None]).ravel()
    d += np.bincount(rows, weights=(gn * a / denom).ravel(), minlength=d.size).reshape(d.shape)
    b += np.bincount(rows, weights=(gn * r_h / denom).ravel(), minlength=b.size).reshape(b.shape)
    off = np.tile(np.append(sv._offdiag, 0.0), n_b)[:-1]
    v_new = lapack.dgtsv(off, d.ravel(), off, b.ravel())[3].reshape(n_b, n_tree)
    x[:, L.v_tree] = v_new
    x[:, L.v_head] = (r_h + gn * v_new[:, t.spine_parent]) / denom
    v0 = x[:, 0]
    m_inf, tau_m, h_inf, tau_h, n_inf, tau_n = hh_rates_array(v0, ch)
    i = L.soma_gates.start
    inf = np.stack((m_inf, h_inf, n_inf), axis=1)
    x[:, i : i + 3] = inf + (x[:, i : i + 3] - inf) * np.exp(-dt_ms / np.stack((tau_m, tau_h, tau_n), axis=1))
    l_inf, tau_l = k_inactivation_array(v0, ch)
    x[:, i + 3] = l_inf + (x[:, i + 3] - l_inf) * math.exp(-dt_ms / tau_l)
    inf = 1.0 / (1.0 + np.exp((x[:, None, L.v_head] - sv._car_half) / sv._car_slope))
    hg = x[:, L.head_m.start : L.head_h.stop].reshape(n_b, 2, -1)
    hg[:] = inf + (hg - inf) * sv._static(dt_ms)[6]
    x[:, L.ampa_r.start : L.nmda_d.stop] *= sv._static(dt_ms)[8]


@pytest.mark.parametrize("blockers", [Blockers(), Blockers(r_type_ca=True, mg_mM=0.0)], ids=["control", "snx0mg"])
@pytest.mark.parametrize("spines", [SPINES, SPINES[2:4]], ids=["shared", "unique"])
def test_step_batch_bit_identical(spines: tuple[SpineSpec, ...], blockers: Blockers) -> None:
    """The batched step (stacked HH rates, shared parents summed without bincount) gives the reference's states:
    11 copies, CC and VC, quanta at different spines, a spiking command, two dt."""
    model = CellModel(CellSpec(spines=spines, soma_channels=SomaChannelSpec(k_inactivation_tau_ms=500.0)),
                      blockers=blockers)
    n_b = 11
    vc = np.arange(n_b) % 2 == 1
    x = np.tile(model.state, (n_b, 1))
    for c in range(n_b):
        model.solver.add_event(x[c], c % len(spines), 0.5 + 0.4 * c)
    y = x.copy()
    v_soma = []
    for k in range(500):
        cmd = np.where(vc, -70.0 + 60.0 * (100 <= k < 140), 1500.0 * (100 <= k < 140) * (np.arange(n_b) % 3 == 0))
        dt = 0.025 if k < 300 else 0.25
        model.solver.step_batch(x, dt, vc, cmd, blockers)
        _reference_step_batch(model.solver, y, dt, vc, cmd, blockers)
        np.testing.assert_array_equal(x, y, err_msg=f"step {k}")
        v_soma.append(x[:, 0].copy())
    assert np.max(np.ptp(np.array(v_soma), axis=0)) > 50.0 and np.all(np.isfinite(x))  # a spike, a VC step
