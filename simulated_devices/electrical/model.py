"""Public electrical model of the virtual specimen: advance in chunks, read out a trace."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .batch_step import step_columns
from .channels import car_conductance_uS
from .linear import IllConditioned, LinearPropagator, ModalPropagator, linearise, numerical_jacobian, steady_state
from .morphology import CellSpec, build_tree
from .solver import Blockers, ClampMode, TreeSolver
from .synapses import ampa_ion_weights, mg_block, nmda_ion_weights

logger = logging.getLogger(__name__)

SynapticEvent = tuple[int, int, float]  # (step_index, spine_index, weight)


@dataclass
class ElectricalTrace:
    """Samples at the end of each step of one `advance` call; currents inward-negative, pA."""

    v_soma_mV: np.ndarray  # (n_steps,)
    clamp_current_pA: np.ndarray  # (n_steps,) headstage current; in CC the injected current
    v_dend_at_spine_mV: np.ndarray  # (n_steps, n_spines)
    v_head_mV: np.ndarray  # (n_steps, n_spines)
    i_ca_nmda_pA: np.ndarray  # (n_steps, n_spines) Ca component of the NMDA current
    i_ca_vgcc_pA: np.ndarray  # (n_steps, n_spines) R-type Ca current
    i_na_pA: np.ndarray  # (n_steps, n_spines) Na component of AMPA + NMDA currents
    t_start_ms: float
    dt_ms: float

    @property
    def time_ms(self) -> np.ndarray:
        """Sample times (end of each step)."""
        return self.t_start_ms + self.dt_ms * np.arange(1, self.v_soma_mV.size + 1)


@dataclass
class FastPathSettings:
    """When the linearised exact propagation may replace time stepping."""

    enabled: bool = True
    tol_mV: float = 1.0
    tol_gate: float = 0.01
    check_interval_steps: int = 40


class CellModel:
    """Soma + dendrite + spines with HH soma, R-type heads and AMPA/NMDA synapses."""

    def __init__(self, spec: CellSpec, blockers: Blockers | None = None) -> None:
        self.spec = spec
        self.tree = build_tree(spec)
        self.solver = TreeSolver(spec, self.tree)
        self.blockers = blockers if blockers is not None else Blockers()
        self.fast_path = FastPathSettings()
        L = self.solver.layout
        parents = self.tree.spine_parent
        self._rows = np.concatenate(
            [
                [0],
                parents,
                np.arange(L.v_head.start, L.v_head.stop),
                np.arange(L.head_m.start, L.nmda_d.stop),
            ]
        ).astype(int)
        self._gate_slice = slice(L.soma_gates.start, L.head_h.stop)
        self._propagators: dict[tuple[object, ...], ModalPropagator | LinearPropagator | None] = {}
        self._linearisations: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray, ModalPropagator | None] | None] = {}
        self._rest_cache: dict[tuple[bool, ...], np.ndarray] = {}
        self._settle_cache: dict[tuple[object, ...], np.ndarray] = {}
        self.n_solved_steps = 0  # steps taken by the implicit solver (diagnostics)
        self.n_fast_steps = 0  # steps produced by the linear fast path
        self.reset_to_rest()

    @property
    def n_spines(self) -> int:
        """Number of spines."""
        return self.tree.n_spines

    @property
    def time_ms(self) -> float:
        """Simulated time since the last reset."""
        return self._t_ms

    @property
    def state(self) -> np.ndarray:
        """Copy of the flat state vector (see solver.StateLayout)."""
        return self._x.copy()

    @property
    def v_rest_mV(self) -> float:
        """Somatic resting potential with no current injected."""
        return float(self._rest_state()[0])

    def _rest_state(self) -> np.ndarray:
        key = self.blockers.key()
        if key not in self._rest_cache:
            self._rest_cache[key] = self.steady_state("CC", 0.0)
        return self._rest_cache[key]

    def reset_to_rest(self) -> None:
        """Put the cell at its current-clamp resting state, synapses silent, t = 0."""
        self._x = self._rest_state().copy()
        self._t_ms = 0.0
        self._global_step = 0
        self._last_drive: tuple[object, ...] = ("CC", 0.0, self.blockers.key(), None)
        self._linear = False
        self._v_at_last_check = self._x[self.solver.layout.v].copy()

    @property
    def neck_resistance_MOhm(self) -> np.ndarray:
        """Present neck resistance of every spine."""
        return 1.0 / self.tree.g_neck_uS

    def set_neck_resistances(self, r_neck_MOhm: np.ndarray) -> None:
        """Change neck resistances (plasticity); drops every cached linearisation, keeps the state."""
        r = np.maximum(np.asarray(r_neck_MOhm, dtype=float), 1e-3)
        if r.shape != (self.n_spines,):
            raise ValueError(f"need {self.n_spines} neck resistances, got shape {r.shape}")
        self.tree = replace(self.tree, g_neck_uS=1.0 / r)
        self.solver.tree = self.tree
        self._propagators.clear()
        self._linearisations.clear()
        self._rest_cache.clear()
        self._settle_cache.clear()
        self._linear = False

    def set_passive(self, rm_ohm_cm2: float, e_leak_mV: float) -> None:
        """Change membrane resistivity and leak reversal everywhere (keeps necks); resets to rest."""
        passive = replace(self.spec.passive, rm_ohm_cm2=float(rm_ohm_cm2), e_leak_mV=float(e_leak_mV))
        self.spec = replace(self.spec, passive=passive)
        self.tree = replace(build_tree(self.spec), g_neck_uS=self.tree.g_neck_uS)
        self.solver.tree = self.tree
        self.solver.spec = self.spec
        self.solver._dt_cache.clear()
        self._propagators.clear()
        self._linearisations.clear()
        self._rest_cache.clear()
        self._settle_cache.clear()
        self.reset_to_rest()

    def settle(self, clamp_mode: ClampMode, command: float) -> None:
        """Jump to the steady state of a constant drive (long quiet intervals), synapses silent."""
        key = (clamp_mode, float(command), self.blockers.key())
        if key not in self._settle_cache:
            try:
                self._settle_cache[key] = self.steady_state(clamp_mode, command)
            except RuntimeError as exc:  # no solution found: integrate towards it instead of jumping
                logger.info("settling by integration (%s)", exc)
                steps = 4000
                self.advance(0.25, steps, clamp_mode, np.full(steps, float(command)))
                self._t_ms -= 0.25 * steps  # the caller accounts for the time (skip_time)
                self._settle_cache[key] = self._x.copy()
        self._x = self._settle_cache[key].copy()
        self._last_drive = (clamp_mode, float(command), self.blockers.key(), None)
        self._linear = False
        self._v_at_last_check = self._x[self.solver.layout.v].copy()

    def snapshot(self, clamp_mode: ClampMode, command: float) -> ElectricalTrace:
        """A one-sample trace of the present state (currents included) without advancing."""
        return self._trace_from_rows(self._x[self._rows][None, :], clamp_mode, np.array([command], float), 0.0)

    def is_steady(self, clamp_mode: ClampMode, command: float, tol: float = 1e-9) -> bool:
        """True when the state sits (within tol) at the steady state of this constant drive."""
        last = self._last_drive
        if last[0] != clamp_mode or last[1] != float(command) or last[2] != self.blockers.key():
            return False
        prop = self._propagators.get((clamp_mode, float(command), self.blockers.key(), last[3]))
        return prop is not None and float(np.max(np.abs(self._x - prop.x_ss))) < tol

    def skip_time(self, duration_ms: float) -> None:
        """Advance the model clock without integrating (after `settle`)."""
        self._t_ms += duration_ms

    def _propagator(self, mode: ClampMode, command: float, dt_ms: float) -> ModalPropagator | LinearPropagator | None:
        key = (mode, float(command), self.blockers.key(), float(dt_ms))
        if key not in self._propagators:
            prop: ModalPropagator | LinearPropagator | None = None
            lin = self._linearisation(mode, command)
            if lin is not None:
                x_ss, jac, modal = lin
                if modal is not None:  # the modes serve every dt
                    prop = replace(modal, dt_ms=float(dt_ms))
                else:
                    prop = LinearPropagator.from_jacobian(x_ss, jac, dt_ms, self._rows, self.solver.layout.v)
            self._propagators[key] = prop
        return self._propagators[key]

    def _linearisation(self, mode: ClampMode,
                       command: float) -> tuple[np.ndarray, np.ndarray, ModalPropagator | None] | None:
        """Steady state, Jacobian and (if well conditioned) eigenmodes of a drive; None without a steady state."""
        key = (mode, float(command), self.blockers.key())
        if key not in self._linearisations:
            try:
                x_ss, jac = linearise(self.solver, mode, command, self.blockers)
            except RuntimeError as exc:
                logger.info("no linear fast path for %s: %s", key, exc)
                self._linearisations[key] = None
                return None
            modal: ModalPropagator | None = None
            try:
                modal = ModalPropagator.from_jacobian(x_ss, jac, 1.0, self._rows, self.solver.layout.v)
            except IllConditioned as exc:
                logger.info("powers of expm(J dt) for %s: %s", key, exc)
            self._linearisations[key] = (x_ss, jac, modal)
        return self._linearisations[key]

    def _settled(self, clamp_mode: ClampMode, command: float, dt_ms: float) -> bool:
        """Cheap test first (voltages barely moved since the last check), then the real one."""
        v = self._x[self.solver.layout.v]
        moved = float(np.max(np.abs(v - self._v_at_last_check)))
        self._v_at_last_check = v.copy()
        if moved > self.fast_path.tol_mV:
            return False
        # The steady state alone decides; the propagator (expm and its block maps) is built only when used.
        lin = self._linearisation(clamp_mode, command)
        if lin is None:
            return False
        fp, x_ss, v = self.fast_path, lin[0], self.solver.layout.v
        dv = float(np.max(np.abs(self._x[v] - x_ss[v])))
        dg = float(np.max(np.abs(self._x[self._gate_slice] - x_ss[self._gate_slice]), initial=0.0))
        return dv < fp.tol_mV and dg < fp.tol_gate

    def steady_state(self, mode: ClampMode, command: float) -> np.ndarray:
        """Equilibrium state under a constant command (mV in VC, pA in CC)."""
        return steady_state(self.solver, mode, command, self.blockers, guess=getattr(self, "_x", None))

    def input_resistance_MOhm(self, node: int = 0, delta_pA: float = 10.0) -> float:
        """Steady-state input resistance (MOhm) at a node (0 = soma, 1..N dendrite), gates frozen off-soma."""
        if node == 0:
            v1 = self.steady_state("CC", delta_pA)[0]
            return (v1 - self.v_rest_mV) / delta_pA * 1e3
        x0 = self.steady_state("CC", 0.0)
        jac = _voltage_conductance_matrix(self, x0)
        inj = np.zeros(jac.shape[0])
        inj[node] = 1.0
        return float(np.linalg.solve(jac, inj)[node])

    def advance(
        self,
        dt_ms: float,
        n_steps: int,
        clamp_mode: ClampMode,
        command: np.ndarray,
        synaptic_events: Sequence[SynapticEvent] = (),
    ) -> ElectricalTrace:
        """Integrate n_steps of dt_ms; command per step in mV (VC) or pA (CC)."""
        if clamp_mode not in ("VC", "CC"):
            raise ValueError(f"clamp_mode must be 'VC' or 'CC', got {clamp_mode!r}")
        cmd = np.broadcast_to(np.asarray(command, dtype=float), (n_steps,))
        events: dict[int, list[tuple[int, float]]] = {}
        for k, spine, w in synaptic_events:
            if not (0 <= k < n_steps and 0 <= spine < self.n_spines):
                raise IndexError(f"synaptic event ({k}, {spine}) outside chunk/spines")
            events.setdefault(int(k), []).append((int(spine), float(w)))
        breaks = self._break_mask(clamp_mode, cmd, events, dt_ms)
        next_break = _next_true_index(breaks)
        rec = np.empty((n_steps, self._rows.size))
        x, fp, rows = self._x, self.fast_path, self._rows
        brk, commands = breaks.tolist(), cmd.tolist()  # Python bools and floats: no numpy scalars per step
        k = 0
        while k < n_steps:
            if brk[k]:
                self._linear = False
            if self._linear:
                j = next_break[k + 1]
                prop = self._propagator(clamp_mode, cmd[k], dt_ms)
                assert prop is not None
                samples, x[:], done = prop.propagate(x, j - k, limit_mV=2 * fp.tol_mV)
                rec[k : k + done] = samples
                self._global_step += done
                self.n_fast_steps += done
                k += done
                if k < j:
                    self._linear = False  # drifted away from the equilibrium: step again
                continue
            if fp.enabled and self._global_step % fp.check_interval_steps == 0 and not brk[k]:
                if self._settled(clamp_mode, cmd[k], dt_ms):
                    self._linear = True
                    continue
            for spine, w in events.get(k, ()):
                self.solver.add_event(x, spine, w)
            self.solver.step(x, dt_ms, clamp_mode, commands[k], self.blockers)
            rec[k] = x[rows]
            self._global_step += 1
            self.n_solved_steps += 1
            k += 1
        trace = self._trace_from_rows(rec, clamp_mode, cmd, dt_ms)
        self._t_ms += n_steps * dt_ms
        if n_steps:
            self._last_drive = (clamp_mode, float(cmd[-1]), self.blockers.key(), float(dt_ms))
        return trace

    def advance_batch(
        self,
        starts: np.ndarray,
        dt_ms: float,
        n_steps: int,
        clamp_modes: Sequence[ClampMode],
        commands: Sequence[float],
        synaptic_events: Sequence[Sequence[SynapticEvent]],
    ) -> tuple[np.ndarray, list[ElectricalTrace]]:
        """Integrate independent copies of the cell from the states `starts` (B, size) by implicit steps (no fast
        path), copy b under its own constant drive and events; the model's own state is left alone.
        Returns the end states (B, size) and one trace per copy (truth probes: many single quanta at once)."""
        x = np.array(starts, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.solver.layout.size:
            raise ValueError(f"starts must be (copies, {self.solver.layout.size}), got {x.shape}")
        for mode in clamp_modes:
            if mode not in ("VC", "CC"):
                raise ValueError(f"clamp_mode must be 'VC' or 'CC', got {mode!r}")
        vc = np.array([m == "VC" for m in clamp_modes], dtype=bool)
        cmd = np.array(commands, dtype=float)
        events: dict[int, list[tuple[int, int, float]]] = {}
        for copy, evs in enumerate(synaptic_events):
            for k, spine, w in evs:
                if not (0 <= k < n_steps and 0 <= spine < self.n_spines):
                    raise IndexError(f"synaptic event ({k}, {spine}) outside chunk/spines")
                events.setdefault(int(k), []).append((copy, int(spine), float(w)))
        xt = np.ascontiguousarray(x.T)  # one column per copy: contiguous rows for step_columns
        rec = np.empty((n_steps, self._rows.size, x.shape[0]))
        for k in range(n_steps):
            for copy, spine, w in events.get(k, ()):
                self.solver.add_event(xt[:, copy], spine, w)
            step_columns(self.solver, xt, dt_ms, vc, cmd, self.blockers)
            rec[k] = xt[self._rows]
        self.n_solved_steps += n_steps * x.shape[0]
        traces = [self._trace_from_rows(rec[:, :, b], mode, np.full(n_steps, cmd[b]), dt_ms)
                  for b, mode in enumerate(clamp_modes)]
        return np.ascontiguousarray(xt.T), traces

    def _break_mask(
        self, mode: ClampMode, cmd: np.ndarray, events: dict[int, list[tuple[int, float]]], dt_ms: float
    ) -> np.ndarray:
        """True at steps where the drive (or pharmacology, dt) changes or an event arrives."""
        brk = np.zeros(cmd.size + 1, dtype=bool)
        if cmd.size:
            brk[0] = (mode, float(cmd[0]), self.blockers.key(), float(dt_ms)) != self._last_drive
            brk[1:-1] = cmd[1:] != cmd[:-1]
        for k in events:
            brk[k] = True
        brk[-1] = True
        return brk

    def _trace_from_rows(self, rec: np.ndarray, mode: ClampMode, cmd: np.ndarray, dt_ms: float) -> ElectricalTrace:
        s = self.n_spines
        v_soma = rec[:, 0]
        v_dend = rec[:, 1 : 1 + s]
        v_head = rec[:, 1 + s : 1 + 2 * s]
        states = np.zeros((rec.shape[0], self.solver.layout.size))
        L = self.solver.layout
        states[:, L.head_m.start : L.nmda_d.stop] = rec[:, 1 + 2 * s :]
        m, h = states[:, L.head_m], states[:, L.head_h]
        syn, hc = self.spec.synapse, self.spec.head_channels
        g_ampa, g_nmda = self.solver.synaptic_conductances_uS(states, self.blockers)
        g_nmda_eff = g_nmda * mg_block(v_head, syn.mg_mM if self.blockers.mg_mM is None else self.blockers.mg_mM)
        wa, wn = ampa_ion_weights(syn), nmda_ion_weights(syn)
        g_car = 0.0 if self.blockers.r_type_ca else car_conductance_uS(m, h, self.tree.head_area_um2, hc)
        to_pA = 1e3
        if mode == "VC":
            clamp = (cmd - v_soma) * self.solver.g_series_uS * to_pA
        else:
            clamp = cmd.copy()
        return ElectricalTrace(
            v_soma_mV=v_soma.copy(),
            clamp_current_pA=np.asarray(clamp, dtype=float),
            v_dend_at_spine_mV=v_dend.copy(),
            v_head_mV=v_head.copy(),
            i_ca_nmda_pA=wn.ca * g_nmda_eff * (v_head - syn.eca_mV) * to_pA,
            i_ca_vgcc_pA=g_car * (v_head - hc.e_ca_mV) * to_pA,
            i_na_pA=(wa.na * g_ampa + wn.na * g_nmda_eff) * (v_head - syn.ena_mV) * to_pA,
            t_start_ms=self._t_ms,
            dt_ms=dt_ms,
        )


def _next_true_index(mask: np.ndarray) -> np.ndarray:
    """For each i, the smallest j >= i with mask[j] (mask's last element must be True)."""
    idx = np.where(mask, np.arange(mask.size), mask.size - 1)
    return np.minimum.accumulate(idx[::-1])[::-1]


def _voltage_conductance_matrix(model: CellModel, x0: np.ndarray) -> np.ndarray:
    """-C dF/dV restricted to voltages (gates frozen): the passive conductance matrix in uS."""
    L = model.solver.layout
    jac = numerical_jacobian(model.solver, x0, "CC", 0.0, model.blockers)[L.v, L.v]
    cap = np.concatenate([model.tree.cap_nF, model.tree.head_cap_nF])
    return -cap[:, None] * jac
