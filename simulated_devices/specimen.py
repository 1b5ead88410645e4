"""The virtual specimen: one neuron (electrical cell, spines, ions, dyes), advanced on the DAQ clock.

Per DAQ chunk: the CellModel steps under the amplifier's drive and the released quanta;
head Ca (buffered, see ions.py) and Na follow the model's per-head currents; Alexa and
indicator exchange through each neck with tau = V L / (D pi a^2) and bleach under the
beam; neck plasticity accumulates from head Ca; light dose runs responses down.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from simulated_devices.cell import CellDriver, blockers_from, cell_spec, fit_soma
from simulated_devices.electrical import CellModel, ElectricalTrace, as_clamp_mode
from simulated_devices.epsp_probe import EpspProbe
from simulated_devices.fcat_probe import FcatProbe
from simulated_devices.indicators import Indicator, indicator
from simulated_devices.ions import QUIET_INFLUX_UM_PER_MS, CalciumParams, HeadCalcium, HeadSodium, uM_per_ms_per_pA
from simulated_devices.plasticity import NeckPlasticity, damage_factor
from simulated_devices.population import SpineGeometry, all_spines, background_positions_um
from simulated_devices.relaxation import relax
from simulated_devices.release import ReleaseSites, ca_release_scale
from simulated_devices.specimen_config import SimulationSpec
from simulated_devices.truth import calcium_truth, describe, spine_truth, truth_weight

log = logging.getLogger(__name__)

SHORT_REST_MS = 600.0  # the first this-many ms of an interval are integrated, the rest jumped over


@dataclass
class Pharmacology:
    """The bath, as plain fields an experiment (or test) may change between sweeps."""

    external_ca_mM: float = 2.0
    mg_mM: float = 1.0
    block_ampa: bool = False
    block_nmda: bool = False
    block_r_type_ca: bool = False
    block_soma_na: bool = False
    block_soma_k: bool = False


@dataclass
class ChunkDrive:
    """What the rig does to the specimen during one DAQ chunk."""

    dt_ms: float
    clamp_mode: str  # 'VC' or 'CC'
    command: np.ndarray  # (n,) mV (VC) or pA (CC)
    stim_onsets: np.ndarray  # sample indices of stimulus pulse onsets
    bleach_rate_per_ms: np.ndarray  # (n, spines) Alexa bleach rate of each head
    dose_2p_ms: np.ndarray  # (spines,) light-dose increment on each head
    dose_led_ms: float = 0.0


@dataclass
class ChunkSamples:
    """The specimen at every DAQ sample of a chunk."""

    v_soma_mV: np.ndarray
    clamp_current_pA: np.ndarray
    v_head_mV: np.ndarray  # (n, spines)
    ca_free_uM: np.ndarray  # (n, spines)
    na_mM: np.ndarray  # (n, spines)
    alexa_unbleached: np.ndarray  # (n, spines)
    indicator_unbleached: np.ndarray  # (n, spines)
    v_dend_at_spine_mV: np.ndarray | None = None  # (n, spines): the dendrite at each imaged spine's base


class Specimen:
    """Shared state of the simulated cell, advanced on the simulated DAQ clock."""

    def __init__(self, sim: SimulationSpec):
        self.sim = sim
        self.spines: list[SpineGeometry] = all_spines(sim)
        n = len(self.spines)
        self.pharmacology = Pharmacology(**sim.pharmacology.model_dump())
        self.background_um = background_positions_um(sim, sim.seed)
        self.model = CellModel(cell_spec(sim, self.spines, self.background_um), blockers_from(sim.pharmacology))
        fit_soma(self.model, sim.soma.resting_mV, sim.soma.input_resistance_MOhm)
        self.epsp_probe = EpspProbe(self.model)
        self.fcat_probe = FcatProbe(self.epsp_probe, self.model)
        self.cell = CellDriver(self.model, n, sim.electrical_dt_ms, sim.coarse_dt_ms, sim.tail_dt_ms)
        self.ca_indicator: Indicator = indicator(sim.calcium.indicator)
        self.na_indicator: Indicator | None = indicator(sim.sodium.indicator) if sim.sodium.indicator else None
        ca = sim.calcium
        self.calcium = HeadCalcium(CalciumParams(ca.rest_uM, ca.endogenous_kappa,
                                                 (1.0 + ca.endogenous_kappa) / ca.tau_extrusion_no_dye_ms,
                                                 ca.indicator_uM, self.ca_indicator.kd_uM), n)
        self.sodium = HeadSodium(sim.sodium.rest_mM, n)
        self.plasticity = NeckPlasticity(sim.plasticity, n)
        self._applied_fold = np.ones(n)
        rng = np.random.default_rng(np.random.SeedSequence([sim.seed, 0x5E]))
        st = sim.stimulation
        p0 = np.concatenate([[s.release_probability for s in self.spines],
                             np.full(self.background_um.size, st.background_release_probability)])
        recruited = np.concatenate([[s.stimulated for s in self.spines], np.ones(self.background_um.size, bool)])
        self.release = ReleaseSites(p0, recruited, st.facilitation_increment, st.facilitation_tau_ms,
                                    sim.synapse.quantal_cv, rng)
        self.unbleached = np.ones(n)
        self.indicator_unbleached = np.ones(n)
        self.light_dose_ms = np.zeros(n)
        self.led_dose_ms = 0.0
        self.time_ms = 0.0
        self._prev_ca = np.full(n, sim.calcium.rest_uM)  # free Ca at the last sample of the last chunk
        self._held: tuple[str, float] = ("CC", 0.0)
        rho = sim.cytoplasm_resistivity_ohm_cm
        self._r_neck0 = np.array([s.neck_resistance_MOhm(rho) for s in self.spines])
        self._tau_alexa0 = np.array([s.diffusion_tau_ms(sim.dye.diffusion_um2_per_ms) for s in self.spines])
        self._tau_ca0 = np.array([s.diffusion_tau_ms(ca.diffusion_um2_per_ms) for s in self.spines])
        self._tau_ind0 = np.array([s.diffusion_tau_ms(ca.indicator_diffusion_um2_per_ms) for s in self.spines])
        self._tau_na0 = np.array([s.diffusion_tau_ms(sim.sodium.diffusion_um2_per_ms) for s in self.spines])
        self._ca_to_uM = uM_per_ms_per_pA(np.array([s.head_volume_um3 for s in self.spines]), 2)
        self._na_to_mM = uM_per_ms_per_pA(np.array([s.head_volume_um3 for s in self.spines]), 1) / 1000.0
        self._head_area_um2 = np.asarray(self.model.tree.head_area_um2[:n], dtype=float).copy()

    # ----- present (plastic) parameters -------------------------------------------
    @property
    def neck_fold(self) -> np.ndarray:
        """Fold change of each neck's resistance and diffusional time constants since the start."""
        return self.plasticity.fold

    @property
    def tau_frap_ms(self) -> np.ndarray:
        """Alexa exchange time constant of every head now."""
        return self._tau_alexa0 * self.neck_fold

    @property
    def tau_na_ms(self) -> np.ndarray:
        """Na exchange time constant of every head now."""
        return self._tau_na0 * self.neck_fold

    @property
    def neck_resistance_MOhm(self) -> np.ndarray:
        """Neck resistance of every spine now."""
        return self._r_neck0 * self.neck_fold

    def damage(self) -> np.ndarray:
        """Fraction of each spine's healthy response left after its light dose."""
        return damage_factor(self.light_dose_ms, self.led_dose_ms, self.sim.damage)

    def nearest_spine(self, point_um: tuple[float, float]) -> int:
        """Index of the spine whose head is nearest a point."""
        return int(np.argmin([math.dist(point_um, s.head_center_um) for s in self.spines]))

    # ----- sweep boundaries -------------------------------------------------------
    def sync_cell(self) -> None:
        """Push plasticity and pharmacology into the electrical model (at sweep starts)."""
        fold = self.neck_fold
        if np.any(np.abs(fold / self._applied_fold - 1.0) > 0.01):
            r = self.model.neck_resistance_MOhm.copy()
            r[: fold.size] = self.neck_resistance_MOhm
            self.model.set_neck_resistances(r)
            self.cell.invalidate()
            self._applied_fold = fold.copy()
        b, p = self.model.blockers, self.pharmacology
        b.ampa, b.nmda, b.r_type_ca = p.block_ampa, p.block_nmda, p.block_r_type_ca
        b.soma_na, b.soma_k = p.block_soma_na, p.block_soma_k
        b.mg_mM = None if p.mg_mM == self.sim.pharmacology.mg_mM else p.mg_mM

    def rest(self, duration_ms: float) -> None:
        """Let time pass with no light, the amplifier holding its last value (between sweeps).

        The first SHORT_REST_MS are integrated like a dark sweep; the rest of a longer interval jumps the
        cell to the steady state of the held drive and relaxes ions, dyes and plasticity analytically.
        """
        self.sync_cell()
        mode, command = self._held
        # What the last sweep evoked (an NMDA plateau decays with tau 70 ms) is integrated; once it has died
        # out, the rest of a long interval is a jump to the steady state (the solver would crawl through it).
        n = int(min(duration_ms, SHORT_REST_MS))
        if n:
            s = len(self.spines)
            self.advance(ChunkDrive(1.0, mode, np.full(n, command), np.empty(0, dtype=int), np.zeros((n, s)),
                                    np.zeros(s)))
        duration_ms -= n
        if duration_ms <= 0:
            return
        self.cell.settle(mode, command, duration_ms)
        trace = self.model.snapshot(as_clamp_mode(mode), command)
        s = len(self.spines)
        scale = self._ca_scale()
        vgcc_in = -trace.i_ca_vgcc_pA[0][:s] * scale
        steady_in = vgcc_in - trace.i_ca_nmda_pA[0][:s] * scale
        steady_in = np.where(np.abs(steady_in) < QUIET_INFLUX_UM_PER_MS, 0.0, steady_in)  # as in _advance_ions
        taus = self.tau_frap_ms
        self.plasticity.accumulate_steady(self._density(trace.i_ca_vgcc_pA[:, :s])[0], duration_ms)
        fold = self.neck_fold
        self.calcium.rest(duration_ms, self._tau_ca0 * fold, self._tau_ind0 * fold, steady_in)
        self._prev_ca = self.calcium.free_uM  # samples before the next sweep's first ion step
        self.sodium.rest(duration_ms, self._tau_na0 * self.neck_fold)
        self.unbleached = 1.0 - (1.0 - self.unbleached) * np.exp(-duration_ms / taus)
        self.indicator_unbleached = 1.0 - (1.0 - self.indicator_unbleached) * np.exp(
            -duration_ms / (self._tau_ind0 * self.neck_fold))
        self.time_ms += duration_ms

    def _ca_scale(self) -> np.ndarray:
        """uM/ms per pA of inward Ca current, with external Ca and photodamage."""
        return self._ca_to_uM * (self.pharmacology.external_ca_mM / 2.0) * self.damage()

    def _density(self, i_ca_vgcc_pA: np.ndarray) -> np.ndarray:
        """Inward Ca current density through the heads' voltage-gated channels (pA/um^2, scaled by bath Ca),
        the plasticity sensor's input. Photodamage is left out on purpose: the published induction followed
        FRAP baselines on the same spines, and a steep sensor would turn a 16 % run-down into half the change."""
        return np.maximum(-i_ca_vgcc_pA, 0.0) / self._head_area_um2 * (self.pharmacology.external_ca_mM / 2.0)

    def vgcc_density_at(self, mode: str, command: float) -> np.ndarray:
        """Steady inward Ca current density through each head's voltage-gated channels at a held drive (pA/um^2;
        the plasticity sensor's input). Leaves the cell at that steady state."""
        self.sync_cell()
        self.cell.settle(mode, command, 0.0)
        trace = self.model.snapshot(as_clamp_mode(mode), command)
        s = len(self.spines)
        return self._density(trace.i_ca_vgcc_pA[0][:s])

    def ca_scale(self) -> np.ndarray:
        """uM/ms of head Ca entry per pA of inward Ca current now (external Ca, photodamage)."""
        return self._ca_scale()

    def ca_diffusion_taus_ms(self, index: int) -> tuple[float, float]:
        """Present neck exchange time constants of free Ca and of the (mobile) indicator of one head."""
        fold = float(self.neck_fold[index])
        return float(self._tau_ca0[index] * fold), float(self._tau_ind0[index] * fold)

    def reversal_weights(self) -> np.ndarray:
        """Relative expected quanta per stimulus at every model synapse (release probability at 2 mM Ca x
        damage; 0 if not recruited): the weights of the true synaptic reversal (bath Ca scales all alike)."""
        p = self.release.p0 * self.release.recruited
        if not np.any(p > 0):  # e.g. every p0 = 0: the reversal is still that of the recruited receptors
            p = self.release.recruited.astype(float)
        health = np.concatenate([self.damage(), np.ones(self.background_um.size)])
        return np.minimum(p, 1.0) * health

    # ----- one chunk --------------------------------------------------------------
    def advance(self, drive: ChunkDrive) -> ChunkSamples:
        """Advance every state variable over one DAQ chunk; return the specimen at each sample."""
        return self.advance_segments([drive])

    def advance_segments(self, drives: Sequence[ChunkDrive]) -> ChunkSamples:
        """Advance over consecutive segments of one chunk, each as `advance` would; the samples of all of them.

        The cell, its ions and the light dose move segment by segment (the step choice is per segment, so the
        numbers do not depend on how many segments a read delivers); the dyes' exchange and bleaching, exact per
        sample, run once over the whole chunk."""
        dt = drives[0].dt_ms
        parts = []
        taus: list[np.ndarray] = []  # each segment's Alexa and indicator exchange times, for the bleaching
        for drive in drives:
            n = drive.command.size
            self.light_dose_ms += drive.dose_2p_ms
            self.led_dose_ms += drive.dose_led_ms
            self._held = (drive.clamp_mode, float(drive.command[-1]))
            events = self._release_events(drive)
            el = self.cell.run(dt, drive.clamp_mode, drive.command, events)
            ca, na = self._advance_ions(el.trace, n, dt)
            self.time_ms += n * dt
            self._prev_ca = ca[-1].copy()
            parts.append((el, ca, na))
            taus.append(np.concatenate((self.tau_frap_ms, self._tau_ind0 * self.neck_fold)))
        if len(drives) == 1:
            alexa, indicator_f = self._advance_bleach(drives[0].bleach_rate_per_ms, dt, taus[0])
        else:  # each segment's exchange times (plasticity moves the necks between segments)
            sizes = [d.command.size for d in drives]
            alexa, indicator_f = self._advance_bleach(np.concatenate([d.bleach_rate_per_ms for d in drives]), dt,
                                                      np.repeat(np.array(taus), sizes, axis=0))
        if len(parts) == 1:
            el, ca, na = parts[0]
            return ChunkSamples(el.v_soma_mV, el.clamp_current_pA, el.v_head_mV, ca, na, alexa, indicator_f,
                                el.v_dend_at_spine_mV)
        dends = [p[0].v_dend_at_spine_mV for p in parts]
        return ChunkSamples(np.concatenate([p[0].v_soma_mV for p in parts]),
                            np.concatenate([p[0].clamp_current_pA for p in parts]),
                            np.concatenate([p[0].v_head_mV for p in parts]), np.concatenate([p[1] for p in parts]),
                            np.concatenate([p[2] for p in parts]), alexa, indicator_f,
                            None if any(d is None for d in dends) else np.concatenate(dends))  # type: ignore[arg-type]

    def _advance_ions(self, tr: ElectricalTrace | None, n: int, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Head Ca (on ion steps) and Na (on model steps) from the model's currents, at each DAQ sample."""
        s = len(self.spines)
        rest_ca = np.full((n, s), self.calcium.params.rest_uM)
        rest_na = np.full((n, s), self.sodium.rest_mM)
        if tr is None:
            return rest_ca, rest_na
        scale = self._ca_scale()
        vgcc_in = -tr.i_ca_vgcc_pA[:, :s] * scale
        ca_in = vgcc_in - tr.i_ca_nmda_pA[:, :s] * scale
        na_in = -tr.i_na_pA[:, :s] * self._na_to_mM
        edt = tr.dt_ms
        quiet = max(float(np.max(np.abs(ca_in))), float(np.max(np.abs(na_in)))) < QUIET_INFLUX_UM_PER_MS
        if quiet and self.calcium.at_rest() and self.sodium.at_rest():
            self.plasticity.accumulate(np.zeros((1, s)), ca_in.shape[0] * edt)
            return rest_ca, rest_na
        fold = self.neck_fold
        step_t = self.cell.t_model_ms - edt * (ca_in.shape[0] - np.arange(ca_in.shape[0]))
        sample_t = self.cell.t_daq_ms - dt * (n - np.arange(n))
        k = max(1, int(round(self.sim.ion_dt_ms / edt)))
        m = ca_in.shape[0] // k
        ca_steps = np.empty((0, s))
        if m:
            grouped = ca_in[: m * k].reshape(m, k, s).mean(axis=1)
            ca_steps = self.calcium.advance(grouped, k * edt, self._tau_ca0 * fold, self._tau_ind0 * fold)
            i_vgcc = tr.i_ca_vgcc_pA[: m * k, :s].reshape(m, k, s).mean(axis=1)
            self.plasticity.accumulate(self._density(i_vgcc), k * edt)
        if ca_in.shape[0] > m * k:
            tail = ca_in[m * k:].mean(axis=0, keepdims=True)
            ca_steps = np.vstack((ca_steps, self.calcium.advance(tail, (ca_in.shape[0] - m * k) * edt,
                                                                 self._tau_ca0 * fold, self._tau_ind0 * fold)))
        ends = step_t[np.minimum(np.arange(1, ca_steps.shape[0] + 1) * k, step_t.size) - 1]
        pos = np.searchsorted(ends, sample_t, side="right") - 1
        ca = np.where(pos[:, None] >= 0, ca_steps[np.maximum(pos, 0)], self._prev_ca)
        na_step = self.sodium.advance(na_in, edt, self._tau_na0 * fold)
        idx = np.clip(np.searchsorted(step_t, sample_t, side="right") - 1, 0, step_t.size - 1)
        return ca, na_step[idx]

    def _advance_bleach(self, bleach_rate_per_ms: np.ndarray, dt: float,
                        taus_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Alexa and indicator exchange and bleaching, df/dt = (1 - f)/tau - k_bleach f, exact per sample.

        `taus_ms`: the Alexa then indicator exchange times, (2 spines,) or per sample (n, 2 spines)."""
        n, s = bleach_rate_per_ms.shape
        f0 = np.concatenate((self.unbleached, self.indicator_unbleached))
        if not np.any(bleach_rate_per_ms) and np.all(f0 == 1.0):
            ones = np.ones((n, s))
            return ones, ones
        bleach = np.concatenate((bleach_rate_per_ms, bleach_rate_per_ms * self.sim.optics.indicator_bleach_factor),
                                axis=1)
        live = np.flatnonzero((bleach.max(axis=0) > 1e-12) | (f0 != 1.0))  # the others stay at 1
        start = np.ones((n, 2 * s))
        if live.size == 0:
            return start[:, :s], start[:, s:]
        inv_tau = 1.0 / taus_ms[..., live]
        rate = inv_tau + bleach[:, live]
        start[:, live], end = relax(f0[live], rate, inv_tau / rate, dt)
        f0[live] = end
        self.unbleached, self.indicator_unbleached = f0[:s].copy(), f0[s:].copy()
        return start[:, :s], start[:, s:]

    def _release_events(self, drive: ChunkDrive) -> list[tuple[int, int, float]]:
        """Quanta released by the chunk's stimulus pulses: (sample, model spine, weight)."""
        events: list[tuple[int, int, float]] = []
        if drive.stim_onsets.size == 0:
            return events
        health = np.concatenate([self.damage(), np.ones(self.background_um.size)])
        for k in drive.stim_onsets:
            t = self.time_ms + k * drive.dt_ms
            out = self.release.pulse(t, self.pharmacology.external_ca_mM)
            for j in np.flatnonzero(out.released):
                events.append((int(k), int(j), float(out.amplitude[j] * health[j])))
        return events

    # ----- truth (see truth.py) -----------------------------------------------------
    def release_probability(self, index: int) -> float:
        """Release probability of a spine's synapse for an isolated pulse in the present bath."""
        return float(min(1.0, self.spines[index].release_probability
                         * ca_release_scale(self.pharmacology.external_ca_mM)) * self.spines[index].stimulated)

    def spine_truth(self, index: int) -> dict[str, float]:
        """The present true parameters of one spine."""
        return spine_truth(self, index)

    def epsp_truth(self, index: int) -> dict[str, float]:
        """True unitary EPSP peaks (mean quantum, present neck, bath and damage) of one spine."""
        g = self.spines[index]
        weight = truth_weight(float(self.damage()[index])) if g.ampa_scale + g.nmda_scale else 0.0
        return self.epsp_probe.measure(index, weight)

    def calcium_truth(self, index: int, co_release: bool = True) -> dict[str, float]:
        """fCaT truth of one spine: fcat, tau_decay_ms, reversal_mV and its Ca peak at the reversal (with
        `co_release=False` only its own synapse's truths, simulated_devices/truth.py calcium_truth_of)."""
        return calcium_truth(self, index, co_release)

    def describe(self) -> dict[str, object]:
        """All true parameters of the specimen (JSON-able)."""
        return describe(self)
