"""The specimen's electrical cell: built from the profile, stepped on the DAQ clock chunk by chunk.

The CellModel steps at its own dt (fine near command changes, coarse otherwise); DAQ
samples read the model at their sample times by linear interpolation; commands and
stimulus events are taken at the step that contains them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from simulated_devices.electrical import (
    Blockers,
    CellModel,
    CellSpec,
    DendriteSpec,
    ElectricalTrace,
    HeadChannelSpec,
    PassiveSpec,
    SomaChannelSpec,
    SomaSpec,
    SpineSpec,
    SynapseSpec,
    as_clamp_mode,
)
from simulated_devices.population import SpineGeometry
from simulated_devices.specimen_config import PharmacologySpec, SimulationSpec

BACKGROUND_NECK_MOHM = 100.0
BACKGROUND_HEAD_UM3 = 0.1
MIN_DT_MS = 0.01


def cell_spec(sim: SimulationSpec, spines: Sequence[SpineGeometry], background_um: np.ndarray) -> CellSpec:
    """CellSpec of the profile: soma area from its capacitance, R_m from its input resistance."""
    s = sim.soma
    area_um2 = s.capacitance_pF * 1e2  # 1 uF/cm^2: 1 pF per 100 um^2
    soma = SomaSpec(length_um=20.0, diam_um=20.0)
    soma = replace(soma, lumped_tree_area_um2=max(0.0, area_um2 - soma.cylinder_area_um2))
    rm = s.input_resistance_MOhm * 1e6 * area_um2 * 1e-8
    passive = PassiveSpec(rm_ohm_cm2=rm, cm_uF_per_cm2=1.0, ri_ohm_cm=sim.cytoplasm_resistivity_ohm_cm,
                          e_leak_mV=s.resting_mV)
    d = sim.dendrite
    dend = DendriteSpec(length_um=d.cable_length_um, diam_um=d.diameter_um, n_segments=d.n_segments)
    rho = sim.cytoplasm_resistivity_ohm_cm
    imaged = [SpineSpec(position_um=g.cable_position_um, r_neck_MOhm=g.neck_resistance_MOhm(rho),
                        head_volume_um3=g.head_volume_um3, ampa_scale=g.ampa_scale, nmda_scale=g.nmda_scale)
              for g in spines]
    background = [SpineSpec(position_um=float(p), r_neck_MOhm=BACKGROUND_NECK_MOHM, head_volume_um3=BACKGROUND_HEAD_UM3,
                            nmda_scale=sim.stimulation.background_nmda_scale) for p in background_um]
    channels = SomaChannelSpec(k_shift_mV=s.k_activation_shift_mV, k_inactivation_tau_ms=s.k_inactivation_tau_ms,
                               k_inactivation_half_mV=s.k_inactivation_half_mV,
                               k_inactivation_slope_mV=s.k_inactivation_slope_mV,
                               k_inactivation_floor=s.k_inactivation_floor)
    if not s.spiking:
        channels = replace(channels, gna_mS_per_cm2=0.0, gk_mS_per_cm2=0.0)
    sy = sim.synapse
    synapse = SynapseSpec(ampa_g_nS=sy.ampa_g_nS, ampa_tau_rise_ms=sy.ampa_tau_rise_ms,
                          ampa_tau_decay_ms=sy.ampa_tau_decay_ms, nmda_g_nS=sy.nmda_g_nS,
                          nmda_tau_rise_ms=sy.nmda_tau_rise_ms, nmda_tau_decay_ms=sy.nmda_tau_decay_ms,
                          mg_mM=sim.pharmacology.mg_mM, nmda_ca_fraction_at_rest=sy.nmda_ca_fraction_at_rest)
    return CellSpec(soma=soma, dendrite=dend, passive=passive, spines=tuple(imaged + background),
                    soma_channels=channels, head_channels=HeadChannelSpec(g_car_mS_per_cm2=sy.head_ca_channel_mS_per_cm2),
                    synapse=synapse, series_resistance_MOhm=s.series_resistance_MOhm)


_FIT_CACHE: dict[tuple[object, ...], tuple[float, float]] = {}


def fit_soma(model: CellModel, resting_mV: float, input_resistance_MOhm: float, iterations: int = 6) -> None:
    """Set R_m and E_leak so the cell (with its resting channel conductances) rests at resting_mV
    with the given steady-state somatic input resistance; cached per cell description."""
    key = (repr(model.spec), resting_mV, input_resistance_MOhm)
    if key in _FIT_CACHE:
        model.set_passive(*_FIT_CACHE[key])
        return
    rm, e_leak = model.spec.passive.rm_ohm_cm2, model.spec.passive.e_leak_mV
    for _ in range(3):  # resting potential first: the channels' slope conductance depends on it
        e_leak += (resting_mV - model.v_rest_mV) * 1.5
        model.set_passive(rm, e_leak)
    for _ in range(iterations):
        v_rest, r_in = model.v_rest_mV, model.input_resistance_MOhm(0)
        if abs(v_rest - resting_mV) < 0.01 and abs(r_in / input_resistance_MOhm - 1.0) < 0.002:
            break
        g_leak = float(np.sum(model.tree.g_leak_uS) + np.sum(model.tree.head_g_leak_uS))
        g_needed = g_leak + (1.0 / input_resistance_MOhm - 1.0 / r_in)
        if g_needed <= 0.05 * g_leak:
            raise ValueError(f"input resistance {input_resistance_MOhm} MOhm is above what the resting "
                             f"channel conductances allow ({r_in:.0f} MOhm at R_m {rm:.0f})")
        rm *= g_leak / g_needed
        e_leak += (resting_mV - v_rest) * 1.5
        model.set_passive(rm, e_leak)
    _FIT_CACHE[key] = (rm, e_leak)


def blockers_from(pharm: PharmacologySpec) -> Blockers:
    """Electrical blockers of the bath."""
    return Blockers(ampa=pharm.block_ampa, nmda=pharm.block_nmda, r_type_ca=pharm.block_r_type_ca,
                    soma_na=pharm.block_soma_na, soma_k=pharm.block_soma_k)


@dataclass
class ElectricalChunk:
    """The electrical model over one DAQ chunk: per-sample readouts and the per-step trace."""

    v_soma_mV: np.ndarray  # (n,) at each DAQ sample
    clamp_current_pA: np.ndarray  # (n,)
    v_head_mV: np.ndarray  # (n, imaged spines)
    trace: ElectricalTrace | None  # per model step (None when no step fell in the chunk)
    v_dend_at_spine_mV: np.ndarray | None = None  # (n, imaged spines): the dendrite at each spine's base


def _repeat_trace(snap: ElectricalTrace, n_steps: int, start_ms: float, dt_ms: float) -> ElectricalTrace:
    """A trace holding one snapshot for n_steps (read-only broadcast views)."""
    def rep(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a[:1], (n_steps,) + a.shape[1:])
    return ElectricalTrace(rep(snap.v_soma_mV), rep(snap.clamp_current_pA), rep(snap.v_dend_at_spine_mV),
                           rep(snap.v_head_mV), rep(snap.i_ca_nmda_pA), rep(snap.i_ca_vgcc_pA), rep(snap.i_na_pA),
                           start_ms, dt_ms)


class CellDriver:
    """Runs a CellModel on the DAQ clock, choosing its step for each chunk."""

    def __init__(self, model: CellModel, n_imaged: int, fine_dt_ms: float, coarse_dt_ms: float,
                 tail_dt_ms: float | None = None):
        self.model = model
        self.n_imaged = n_imaged
        self.fine_dt_ms = fine_dt_ms
        self.coarse_dt_ms = coarse_dt_ms
        self.tail_dt_ms = tail_dt_ms if tail_dt_ms is not None else coarse_dt_ms
        self.t_model_ms = 0.0  # time of the model state
        self.t_daq_ms = 0.0  # start of the next DAQ chunk
        rest = model.state
        L = model.solver.layout
        self._last = (float(rest[0]), 0.0, rest[L.v_head][:n_imaged].copy())
        self._last_dend = np.full(n_imaged, float(rest[0]))  # the dendrite sits at the soma's potential at rest
        self._last_command: float | None = None
        self._snapshot: tuple[tuple[object, ...], ElectricalTrace] | None = None

    def _choose_dt(self, command: np.ndarray, sample_dt_ms: float, has_events: bool, mode: str = "CC") -> float:
        """Fine steps (down to the sample interval) around command changes and spikes, coarse around
        synaptic events, and the tail step while responses only decay."""
        changes = command.size > 1 and bool(np.any(command[1:] != command[:-1]))
        changes = changes or (self._last_command is not None and command[0] != self._last_command)
        if changes or (mode == "CC" and self._last[0] > -55.0):  # near threshold a free soma may spike
            return max(min(self.fine_dt_ms, sample_dt_ms), MIN_DT_MS)
        return self.coarse_dt_ms if has_events else self.tail_dt_ms

    def run(self, sample_dt_ms: float, mode: str, command: np.ndarray,
            events: Sequence[tuple[int, int, float]]) -> ElectricalChunk:
        """Advance over n DAQ samples; events are (sample index, model spine index, weight)."""
        n = command.size
        t0, t1 = self.t_daq_ms, self.t_daq_ms + n * sample_dt_ms
        dt = self._choose_dt(command, sample_dt_ms, bool(events), mode)
        n_steps = max(0, int(math.floor((t1 - self.t_model_ms) / dt + 1e-9)))
        start = self.t_model_ms
        step_times = start + dt * np.arange(n_steps)
        idx = np.clip(np.floor((step_times - t0) / sample_dt_ms + 1e-9).astype(int), 0, n - 1)
        cmd = command[idx] if n_steps else np.empty(0)
        model_events = []
        for k, spine, w in events:
            j = int(math.floor((t0 + k * sample_dt_ms - start) / dt + 1e-9))
            model_events.append((min(max(j, 0), max(n_steps - 1, 0)), spine, w))
        trace = None
        sample_t = t0 + sample_dt_ms * np.arange(n)
        v0, i0, h0 = self._last
        steady = (n_steps and not model_events and bool(np.all(cmd == cmd[0]))
                  and self.model.is_steady(as_clamp_mode(mode), float(cmd[0])))
        if steady:
            # Nothing moves: skip the integration, report the steady state at every step.
            key = (mode, float(cmd[0]), self.model.blockers.key())
            if self._snapshot is None or self._snapshot[0] != key:
                self._snapshot = (key, self.model.snapshot(as_clamp_mode(mode), float(cmd[0])))
            snap = self._snapshot[1]
            self.model.skip_time(n_steps * dt)
            trace = _repeat_trace(snap, n_steps, start, dt)
            v, heads = np.full(n, v0), np.tile(h0, (n, 1))
            dends = np.tile(snap.v_dend_at_spine_mV[0, : self.n_imaged], (n, 1))
            self.t_model_ms = start + n_steps * dt
        elif n_steps:
            trace = self.model.advance(dt, n_steps, as_clamp_mode(mode), cmd, model_events if n_steps else [])
            times = np.concatenate(([start], start + dt * np.arange(1, n_steps + 1)))
            v = np.interp(sample_t, times, np.concatenate(([v0], trace.v_soma_mV)))
            pos = np.clip(np.floor((sample_t - start) / dt + 1e-9).astype(int) - 1, -1, n_steps - 1)
            heads_all = np.vstack((h0[None, :], trace.v_head_mV[:, : self.n_imaged]))
            heads = heads_all[pos + 1]
            dends = np.vstack((self._last_dend[None, :], trace.v_dend_at_spine_mV[:, : self.n_imaged]))[pos + 1]
            self.t_model_ms = start + n_steps * dt
            self._last_dend = trace.v_dend_at_spine_mV[-1, : self.n_imaged].copy()
            self._last = (float(trace.v_soma_mV[-1]), float(trace.clamp_current_pA[-1]),
                          trace.v_head_mV[-1, : self.n_imaged].copy())
        else:
            v, heads = np.full(n, v0), np.tile(h0, (n, 1))
            dends = np.tile(self._last_dend, (n, 1))
        # The headstage current follows the command at each sample: (command - V) / Rs in VC.
        cur = (command - v) * self.model.solver.g_series_uS * 1e3 if mode == "VC" else command.astype(float)
        self.t_daq_ms = t1
        self._last_command = float(command[-1]) if n else self._last_command
        return ElectricalChunk(v, cur, heads, trace, dends)

    def invalidate(self) -> None:
        """Forget cached readouts (after the model's parameters changed)."""
        self._snapshot = None

    def settle(self, mode: str, command: float, duration_ms: float) -> None:
        """A long quiet interval: jump to the steady state of the held drive."""
        self.model.settle(as_clamp_mode(mode), command)
        self._snapshot = None
        self.model.skip_time(duration_ms)
        L = self.model.solver.layout
        x = self.model.state
        current = (command - float(x[0])) * self.model.solver.g_series_uS * 1e3 if mode == "VC" else command
        self._last = (float(x[0]), current, x[L.v_head][: self.n_imaged].copy())
        self._last_dend = np.full(self.n_imaged, float(x[0]))
        self._last_command = command
        self.t_model_ms += duration_ms
        self.t_daq_ms += duration_ms
