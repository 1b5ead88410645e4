"""Unit tests of the electrical core: bAP, Mg block, clamp, pharmacology, chunking, fast path."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from simulated_devices.electrical import (
    Blockers,
    CellModel,
    CellSpec,
    ElectricalTrace,
    SpineSpec,
    ampa_ion_weights,
    axial_resistance_MOhm,
    mg_block,
    nmda_ion_weights,
)

DT_MS = 0.025


def half_width_ms(v: np.ndarray, v_rest: float, dt_ms: float) -> float:
    """Time spent above half the peak depolarisation."""
    half = v_rest + (v.max() - v_rest) / 2
    return float(np.count_nonzero(v > half) * dt_ms)


def somatic_pulse(n_steps: int, start: int, width: int, amp_pA: float) -> np.ndarray:
    """Current-clamp command with one rectangular pulse."""
    cmd = np.zeros(n_steps)
    cmd[start : start + width] = amp_pA
    return cmd


@pytest.fixture(scope="module")
def bap_trace() -> ElectricalTrace:
    """Default cell, 2 ms / 1.5 nA somatic pulse."""
    model = CellModel(CellSpec())
    n = 1200
    return model.advance(DT_MS, n, "CC", somatic_pulse(n, 40, 80, 1500.0))


def test_bap_reaches_spine_with_expected_amplitude(bap_trace: ElectricalTrace) -> None:
    """The backpropagating AP in the head is ~60-75 mV (SCIENCE.md: ~66 mV)."""
    trace = bap_trace
    head = trace.v_head_mV[:, 0]
    amp = head.max() - head[0]  # the head rests slightly above the soma
    assert trace.v_soma_mV.max() > 20.0
    assert 60.0 <= amp <= 75.0


def test_bap_half_width_at_spine(bap_trace: ElectricalTrace) -> None:
    """bAP half-width in the head is ~3 ms."""
    trace = bap_trace
    head = trace.v_head_mV[:, 0]
    assert 2.5 <= half_width_ms(head, head[0], DT_MS) <= 3.5


def test_bap_invades_spine_without_loss(bap_trace: ElectricalTrace) -> None:
    """Head and spine base peak within 1 mV of each other (small head, no head load)."""
    trace = bap_trace
    assert abs(trace.v_head_mV[:, 0].max() - trace.v_dend_at_spine_mV[:, 0].max()) < 1.0


def test_subthreshold_pulse_gives_no_spike() -> None:
    """A small pulse does not fire the soma."""
    model = CellModel(CellSpec())
    trace = model.advance(DT_MS, 800, "CC", somatic_pulse(800, 40, 80, 200.0))
    assert trace.v_soma_mV.max() < -50.0


@pytest.mark.parametrize(("v_mV", "expected"), [(-70.0, 0.044467), (0.0, 0.781182)])
def test_mg_block_values(v_mV: float, expected: float) -> None:
    """B(V) = 1/(1 + [Mg]/3.57 exp(-0.062 V)) at 1 mM Mg."""
    assert float(mg_block(np.array(v_mV), 1.0)) == pytest.approx(expected, rel=1e-4)


def test_nmda_current_follows_mg_block_in_voltage_clamp() -> None:
    """NMDA Ca current ratio between -70 and -30 mV follows B(V) times the driving force."""
    spec = replace(CellSpec.passive_only(), series_resistance_MOhm=0.01)
    spec = replace(spec, synapse=replace(spec.synapse, ampa_g_nS=0.0, nmda_g_nS=1.0))
    peaks = {}
    for v_cmd in (-70.0, -30.0):
        model = CellModel(spec)
        model.advance(DT_MS, 2000, "VC", np.full(2000, v_cmd))
        trace = model.advance(DT_MS, 4000, "VC", np.full(4000, v_cmd), [(0, 0, 1.0)])
        idx = int(np.argmin(trace.i_ca_nmda_pA[:, 0]))
        peaks[v_cmd] = (trace.i_ca_nmda_pA[idx, 0], trace.v_head_mV[idx, 0])
    (i70, v70), (i30, v30) = peaks[-70.0], peaks[-30.0]
    eca = spec.synapse.eca_mV
    expected = (mg_block(np.array(v30), 1.0) * (v30 - eca)) / (mg_block(np.array(v70), 1.0) * (v70 - eca))
    assert i30 / i70 == pytest.approx(float(expected), rel=0.01)
    assert i30 / i70 > 3.0


def test_voltage_clamp_steady_state_current() -> None:
    """I_clamp = (V_cmd - V_rest) / (Rs + R_in) at steady state, and pA units."""
    spec = replace(CellSpec.passive_only(), series_resistance_MOhm=15.0)
    model = CellModel(spec)
    v_rest, r_in = model.v_rest_mV, model.input_resistance_MOhm(0)
    v_cmd = v_rest - 10.0
    trace = model.advance(DT_MS, 8000, "VC", np.full(8000, v_cmd))
    expected_pA = (v_cmd - v_rest) / (15.0 + r_in) * 1e3
    assert trace.clamp_current_pA[-1] == pytest.approx(expected_pA, rel=0.005)
    assert trace.v_soma_mV[-1] == pytest.approx(v_cmd - expected_pA * 1e-3 * 15.0, abs=1e-3)


def test_current_clamp_reports_injected_current() -> None:
    """In CC the clamp-current channel is the command."""
    model = CellModel(CellSpec())
    cmd = somatic_pulse(100, 10, 20, -300.0)
    trace = model.advance(DT_MS, 100, "CC", cmd)
    np.testing.assert_array_equal(trace.clamp_current_pA, cmd)
    assert trace.v_soma_mV[29] < trace.v_soma_mV[9] - 0.5


def _epsp(blockers: Blockers) -> float:
    model = CellModel(CellSpec(), blockers=blockers)
    trace = model.advance(DT_MS, 2000, "CC", np.zeros(2000), [(40, 0, 1.0)])
    return float(trace.v_head_mV[:, 0].max() - trace.v_head_mV[0, 0])


def test_blocking_ampa_removes_fast_epsp() -> None:
    """NBQX removes most of the head EPSP at rest; NBQX + CPP removes all of it."""
    control = _epsp(Blockers())
    nbqx = _epsp(Blockers(ampa=True))
    both = _epsp(Blockers(ampa=True, nmda=True))
    assert control > 2.0
    assert nbqx < 0.2 * control
    assert abs(both) < 1e-6


def test_r_type_blocker_removes_vgcc_current(bap_trace: ElectricalTrace) -> None:
    """The bAP opens R-type channels; SNX-482 abolishes their current."""
    trace = bap_trace
    assert trace.i_ca_vgcc_pA.min() < -0.05
    model = CellModel(CellSpec(), blockers=Blockers(r_type_ca=True))
    blocked = model.advance(DT_MS, 1200, "CC", somatic_pulse(1200, 40, 80, 1500.0))
    assert np.all(blocked.i_ca_vgcc_pA == 0.0)


def test_qx314_blocks_spikes() -> None:
    """Without somatic Na the 1.5 nA pulse gives no AP."""
    model = CellModel(CellSpec(), blockers=Blockers(soma_na=True))
    trace = model.advance(DT_MS, 1200, "CC", somatic_pulse(1200, 40, 80, 1500.0))
    assert trace.v_soma_mV.max() < -40.0


def _protocol() -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    n = 12000
    cmd = somatic_pulse(n, 6000, 80, 1500.0)
    events = [(100, 0, 1.0), (2990, 1, 0.7), (3010, 0, 1.0), (9000, 1, 1.0)]
    return cmd, events


@pytest.mark.parametrize("split", [3000, 3001, 6040, 9500])
def test_chunked_advance_equals_single_call(split: int) -> None:
    """Two consecutive chunks reproduce one long call (fast path active)."""
    spec = CellSpec(spines=(SpineSpec(position_um=150.0), SpineSpec(position_um=60.0, r_neck_MOhm=500.0)))
    cmd, events = _protocol()
    one = CellModel(spec).advance(DT_MS, cmd.size, "CC", cmd, events)
    model = CellModel(spec)
    first = model.advance(DT_MS, split, "CC", cmd[:split], [e for e in events if e[0] < split])
    second = model.advance(DT_MS, cmd.size - split, "CC", cmd[split:], [(k - split, s, w) for k, s, w in events if k >= split])
    assert second.t_start_ms == pytest.approx(split * DT_MS)
    assert model.n_fast_steps > 0 and model.n_solved_steps > 0  # both paths were exercised
    for name in ("v_soma_mV", "v_head_mV", "v_dend_at_spine_mV", "i_ca_nmda_pA", "i_na_pA", "i_ca_vgcc_pA"):
        joined = np.concatenate([getattr(first, name), getattr(second, name)])
        np.testing.assert_allclose(joined, getattr(one, name), atol=1e-7, err_msg=name)


def test_fast_path_matches_time_stepping() -> None:
    """The linearised fast path stays within 0.1 mV / 1 % (NMDA Ca) of pure stepping."""
    cmd, events = _protocol()
    fast = CellModel(CellSpec())
    slow = CellModel(CellSpec())
    slow.fast_path.enabled = False
    a = fast.advance(DT_MS, cmd.size, "CC", cmd, events[:1] + events[2:3])
    b = slow.advance(DT_MS, cmd.size, "CC", cmd, events[:1] + events[2:3])
    assert np.max(np.abs(a.v_head_mV - b.v_head_mV)) < 0.1
    assert np.max(np.abs(a.v_soma_mV - b.v_soma_mV)) < 0.1
    assert np.max(np.abs(a.i_ca_nmda_pA - b.i_ca_nmda_pA)) < 0.01 * np.max(np.abs(b.i_ca_nmda_pA))


def test_quiescent_cell_stays_at_rest() -> None:
    """With no drive the cell sits at its resting potential for a whole second."""
    model = CellModel(CellSpec())
    trace = model.advance(DT_MS, 40000, "CC", np.zeros(40000))
    np.testing.assert_allclose(trace.v_soma_mV, model.v_rest_mV, atol=1e-9)
    assert -75.0 < model.v_rest_mV < -68.0


def test_neck_resistance_from_geometry() -> None:
    """R_neck = Ri L / (pi a^2): 150 ohm cm, 1 um, 0.05 um radius -> 191 MOhm."""
    spine = SpineSpec.from_neck_geometry(100.0, neck_length_um=1.0, neck_radius_um=0.05, ri_ohm_cm=150.0)
    expected = 150.0 * 1e-4 / (math.pi * (0.05e-4) ** 2) * 1e-6
    assert spine.r_neck_MOhm == pytest.approx(expected)
    assert axial_resistance_MOhm(150.0, 1.0, 0.05) == pytest.approx(190.99, rel=1e-3)


def test_ion_weights_reverse_at_e_syn() -> None:
    """Ion splits sum to 1, reverse at E_syn; NMDA Ca fraction at -70 mV is 10 %."""
    spec = CellSpec().synapse
    for w in (ampa_ion_weights(spec), nmda_ion_weights(spec)):
        assert w.ca + w.na + w.k == pytest.approx(1.0)
        assert w.ca * spec.eca_mV + w.na * spec.ena_mV + w.k * spec.ek_mV == pytest.approx(spec.e_syn_mV, abs=1e-9)
    wn = nmda_ion_weights(spec)
    assert wn.ca * (-70.0 - spec.eca_mV) / (-70.0 - spec.e_syn_mV) == pytest.approx(0.10)


def test_head_currents_are_inward_during_epsp() -> None:
    """Na influx and NMDA Ca influx are negative (inward) during a synaptic response."""
    model = CellModel(CellSpec())
    trace = model.advance(DT_MS, 2000, "CC", np.zeros(2000), [(40, 0, 1.0)])
    assert trace.i_na_pA.min() < -1.0
    assert trace.i_ca_nmda_pA.min() < 0.0
    assert trace.i_na_pA.max() <= 1e-9


# ----- fast paths against their reference paths (issue 13: same physics, faster) -------------------------------
_TWO_SPINES = CellSpec(spines=(SpineSpec(position_um=150.0), SpineSpec(position_um=60.0, r_neck_MOhm=500.0),
                               SpineSpec(position_um=150.0, r_neck_MOhm=100.0)))  # two heads on one node


@pytest.mark.parametrize("mode,command", [("CC", 0.0), ("VC", -70.0), ("VC", 0.0), ("CC", -200.0)])
def test_modal_propagator_equals_expm_powers(mode: str, command: float) -> None:
    """The eigenmode fast path gives the samples and end state of the expm(J dt) powers to round-off,
    and stops at the same step (VC 0 mV: the deviation grows out of the linear range), from a state 0.5 mV
    off the equilibrium with live synapses."""
    from simulated_devices.electrical.linear import LinearPropagator, ModalPropagator, linearise

    model = CellModel(_TWO_SPINES)
    solver, rows = model.solver, model._rows
    x_ss, jac = linearise(solver, mode, command, model.blockers)  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    x0 = x_ss + rng.normal(0.0, 1.0, x_ss.size) * np.concatenate(
        [np.full(solver.layout.n_nodes, 0.5), np.full(x_ss.size - solver.layout.n_nodes, 1e-3)])
    for dt in (0.1, 0.5):
        ref = LinearPropagator.from_jacobian(x_ss, jac, dt, rows, solver.layout.v)
        fast = ModalPropagator.from_jacobian(x_ss, jac, dt, rows, solver.layout.v)
        a, end_a, n_a = ref.propagate(x0, 1000, limit_mV=2.0)
        b, end_b, n_b = fast.propagate(x0, 1000, limit_mV=2.0)
        assert n_a == n_b >= 64
        scale = max(1.0, float(np.max(np.abs(a - x_ss[rows]))))  # an unstable start grows within a block
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(end_b, end_a, rtol=0, atol=1e-9 * scale)
        # an unstable start (beyond the linear range) stops both at the first check
        assert fast.propagate(x_ss + 3.0, 100, limit_mV=2.0)[2] == ref.propagate(x_ss + 3.0, 100, limit_mV=2.0)[2] == 0


@pytest.mark.parametrize("mode,command", [("CC", 0.0), ("VC", -30.0), ("VC", 20.0)])
def test_grouped_jacobian_is_the_column_by_column_one(mode: str, command: float) -> None:
    """Differencing columns that share no row together gives exactly the column-by-column numbers."""
    from simulated_devices.electrical.linear import dense_numerical_jacobian, numerical_jacobian

    model = CellModel(_TWO_SPINES)
    rng = np.random.default_rng(1)
    x = model.steady_state(mode, command) + rng.normal(0.0, 1e-2, model.solver.layout.size)  # type: ignore[arg-type]
    for blk in (Blockers(), Blockers(nmda=True, soma_k=True, mg_mM=0.0)):
        grouped = numerical_jacobian(model.solver, x, mode, command, blk)  # type: ignore[arg-type]
        dense = dense_numerical_jacobian(model.solver, x, mode, command, blk)  # type: ignore[arg-type]
        np.testing.assert_array_equal(grouped, dense)
    assert len(model.solver.fd_column_groups()) < x.size // 10


def test_steady_state_jacobian_is_the_residuals() -> None:
    """The Jacobian handed to the steady-state root finder is the derivative of its residual (net currents)."""
    model = CellModel(_TWO_SPINES)
    s, L = model.solver, model.solver.layout
    cap = np.concatenate([s.tree.cap_nF, s.tree.head_cap_nF])
    for mode, command in (("CC", 0.0), ("VC", -10.0)):
        x = model.steady_state(mode, command)  # type: ignore[arg-type]

        def residual(v: np.ndarray) -> np.ndarray:
            y = x.copy()
            y[L.v] = v
            return s.rhs(s.with_gates_at_steady_state(y), mode, command, model.blockers)[L.v] * cap  # type: ignore[arg-type]

        v = x[L.v]
        fd = np.empty((v.size, v.size))
        for i in range(v.size):
            h = 1e-6 * max(1.0, abs(v[i]))
            e = np.zeros(v.size)
            e[i] = h
            fd[:, i] = (residual(v + e) - residual(v - e)) / (2 * h)
        analytic = -s.passive_conductance_uS(mode) - np.diag(s.local_slope_uS(x, model.blockers))  # type: ignore[arg-type]
        np.testing.assert_allclose(analytic, fd, rtol=0, atol=1e-8 * np.max(np.abs(fd)))
