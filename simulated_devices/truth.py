"""The specimen's truth: present parameters of each spine and a JSON-able description of everything."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from scipy import special

from rig.analysis.calibration import bound_fraction
from rig.analysis.transients import fit_calcium_decay_known_influx
from simulated_devices.electrical import Blockers
from simulated_devices.epsp_probe import CellState
from simulated_devices.fcat_probe import FCAT_DT_MS, EvokedRequest
from simulated_devices.ions import HeadCalcium
from simulated_devices.release import ca_release_scale

if TYPE_CHECKING:
    from simulated_devices.specimen import Specimen


def spine_truth(specimen: "Specimen", index: int) -> dict[str, float]:
    """The present true parameters of one spine (plastic neck, bath, light damage)."""
    g = specimen.spines[index]
    fold = float(specimen.neck_fold[index])
    syn = specimen.sim.synapse
    return {
        "tau_frap_ms": float(specimen.tau_frap_ms[index]),
        "tau_frap_lower_bound_ms": float(specimen.tau_frap_ms[index]),  # FRAP's bound when the recovery is short
        "neck_resistance_MOhm": float(specimen.neck_resistance_MOhm[index]),
        # what a bound names is the true quantity it bounds (the Ca-decay R_neck of the fCaT protocol)
        "neck_resistance_lower_bound_MOhm": float(specimen.neck_resistance_MOhm[index]),
        "head_volume_um3": g.head_volume_um3,
        "neck_length_um": g.neck_length_um,
        "neck_radius_um": g.neck_radius_um / math.sqrt(fold),
        "neck_fold_change": fold,
        "release_probability": specimen.release_probability(index),
        "ampa_g_nS": syn.ampa_g_nS * g.ampa_scale,
        "nmda_g_nS": syn.nmda_g_nS * g.nmda_scale,
        "tau_na_ms": float(specimen.tau_na_ms[index]),
        "damage_factor": float(specimen.damage()[index]),
        "light_dose_ms": float(specimen.light_dose_ms[index]),
    }


TRUTH_WEIGHT_STEP = 0.01  # probe truths are computed at the damage factor rounded to this (cached per step)


def truth_weight(damage: float) -> float:
    """The synaptic weight a truth probe uses: the photodamage factor rounded, so slow run-down re-probes
    only every 1 % instead of every sweep (a truth is < 1 % off for it)."""
    return round(damage / TRUTH_WEIGHT_STEP) * TRUTH_WEIGHT_STEP


SCALE_KEY_STEP = 0.005  # Ca-entry scale (bath Ca x damage) keyed to 0.5 %


@dataclass(frozen=True)
class SpineState:
    """What the truth of one spine depends on, copied at a sweep start (a few numbers and two small arrays):
    later probes use this copy, never the live specimen, so they may run on any thread."""

    index: int
    spine: dict[str, float]  # spine_truth now (exact)
    cell: CellState  # every model neck at its present fold, the bath's blockers now
    damage: float
    ca_scale: float  # uM/ms of head Ca entry per pA (bath Ca, damage)
    ca_taus_ms: tuple[float, float]  # neck exchange time constants of free Ca and the indicator
    reversal_weights: np.ndarray  # expected quanta per stimulus at every model synapse
    release_p0: np.ndarray  # release probability at 2 mM Ca of every model synapse (0 if not recruited)
    external_ca_mM: float
    health: np.ndarray  # photodamage factor of every model synapse (1 for background synapses)

    @property
    def weight(self) -> float:
        """The rounded photodamage factor the probes use as the quantal weight."""
        return truth_weight(self.damage)

    def key(self) -> tuple[object, ...]:
        """Hashable: the spine, necks in 0.5 % steps, blockers, the rounded weight, Ca scale, bath Ca, reversal weights."""
        scale = int(round(math.log(self.ca_scale) / SCALE_KEY_STEP)) if self.ca_scale > 0 else None
        return (self.index, self.cell.key(), self.weight, scale, self.external_ca_mM,
                tuple(np.round(self.reversal_weights, 2)))

    def epsp_key(self) -> tuple[object, ...]:
        """Hashable, for the unitary EPSPs: the spine, necks, blockers and the rounded weight."""
        return (self.index, self.cell.key(), self.weight)

    def cell_key(self) -> tuple[object, ...]:
        """Hashable, for truths of the whole cell (no spine): necks, blockers, bath Ca, reversal weights."""
        return (self.cell.key(), self.external_ca_mM, tuple(np.round(self.reversal_weights, 2)))


def present_blockers(specimen: "Specimen") -> Blockers:
    """The blockers the bath imposes now (as Specimen.sync_cell pushes them at the next sweep start)."""
    b, p = replace(specimen.model.blockers), specimen.pharmacology
    b.ampa, b.nmda, b.r_type_ca = p.block_ampa, p.block_nmda, p.block_r_type_ca
    b.soma_na, b.soma_k = p.block_soma_na, p.block_soma_k
    b.mg_mM = None if p.mg_mM == specimen.sim.pharmacology.mg_mM else p.mg_mM
    return b


def snapshot(specimen: "Specimen", index: int) -> SpineState:
    """Copy what the truth of one spine depends on (cheap: no probe runs)."""
    necks = np.array(specimen.model.neck_resistance_MOhm, dtype=float)
    n = len(specimen.spines)
    necks[:n] = specimen.neck_resistance_MOhm
    rel = specimen.release
    return SpineState(index, spine_truth(specimen, index), CellState(necks, present_blockers(specimen)),
                      float(specimen.damage()[index]), float(specimen.ca_scale()[index]),
                      specimen.ca_diffusion_taus_ms(index), specimen.reversal_weights(),
                      np.array(rel.p0 * rel.recruited, dtype=float), float(specimen.pharmacology.external_ca_mM),
                      np.concatenate([specimen.damage(), np.ones(specimen.background_um.size)]))


QUANTAL_NODES = 5  # Gauss-Laguerre nodes over the quantal-size distribution (fcat truth)


CoRelease = tuple[tuple[int, float], ...]  # (model synapse, quantal weight) released by the same stimulus
Probe = tuple[float, str, float, CoRelease]  # (target weight, clamp mode, command, co-released): one evoked response
MAX_ENUMERATED_NEIGHBOURS = 4  # other stimulated imaged spines whose release/failure patterns are enumerated
HEAD_DEPOLARIZATION_FROM_MS = 10.0  # head_depolarization_mV: the peak from this long after the release on
CO_RELEASE_WEIGHT_STEP = 0.01  # co-released weights rounded to this (the probes are cached per weight)


@dataclass(frozen=True)
class CoReleasePattern:
    """One outcome of the other synapses at the target's stimulus, with its probability."""

    probability: float
    events: CoRelease


@dataclass(frozen=True)
class ProbeResponse:
    """The target head's free Ca (uM per ion step) and potential (mV per probe step) after one probe's stimulus."""

    free_uM: np.ndarray
    rest_uM: float
    v_head_mV: np.ndarray
    dt_ms: float  # of v_head_mV
    somatic_aps: int = 0  # somatic APs the probe fired (a CC sweep with one is left out of fCaT)

    @property
    def peak_ca_uM(self) -> float:
        """Peak free-Ca change above the steady state."""
        return float(self.free_uM.max()) - self.rest_uM

    @property
    def head_depolarization_mV(self) -> float:
        """Peak head potential above its steady state from HEAD_DEPOLARIZATION_FROM_MS after the stimulus on."""
        k = int(round(HEAD_DEPOLARIZATION_FROM_MS / self.dt_ms))
        return float(self.v_head_mV[k:].max() - self.v_head_mV[0])


def _rounded(weight: float) -> float:
    return round(weight / CO_RELEASE_WEIGHT_STEP) * CO_RELEASE_WEIGHT_STEP


def co_release_patterns(specimen: "Specimen", state: SpineState) -> list[CoReleasePattern]:
    """What the stimulus releases at the other synapses when it stimulates the target (the measured CaT and its
    ratio include what they do to the head: in CC they depolarize the dendrite and so the head).

    The other stimulated imaged spines (the MAX_ENUMERATED_NEIGHBOURS most likely to release) release one mean
    quantum x photodamage or fail, every pattern enumerated with its probability (their NMDA plateaus make the
    dendrite's response to them nonlinear); the rest, the background synapses among them (small AMPA inputs),
    at their expected release as fractional quanta (release probability at the bath's Ca x photodamage)."""
    n_imaged = len(specimen.spines)
    p = np.minimum(1.0, state.release_p0 * ca_release_scale(state.external_ca_mM))
    imaged = sorted((j for j in range(n_imaged) if j != state.index and p[j] > 0), key=lambda j: -p[j])
    enumerated = imaged[:MAX_ENUMERATED_NEIGHBOURS]
    rest = [j for j in imaged[MAX_ENUMERATED_NEIGHBOURS:]] + [j for j in range(n_imaged, p.size) if p[j] > 0]
    expected = tuple((j, _rounded(float(p[j] * state.health[j]))) for j in rest)
    patterns = []
    for bits in itertools.product((0, 1), repeat=len(enumerated)):
        prob = float(np.prod([p[j] if b else 1.0 - p[j] for j, b in zip(enumerated, bits)]))
        if prob > 0:
            released = tuple((j, _rounded(float(state.health[j]))) for j, b in zip(enumerated, bits) if b)
            patterns.append(CoReleasePattern(prob, released + expected))
    return patterns


def _free_ca_response(specimen: "Specimen", state: SpineState, weight: float, mode: str, command: float
                      ) -> ProbeResponse:
    """Head free Ca after one quantum (alone) from the steady state of the held drive, and that steady state:
    all Ca entry (NMDA + R-type) through the head's buffers, dye and neck."""
    probe: Probe = (weight, mode, command, ())
    return _free_ca_responses(specimen, state, [probe])[probe]


def _free_ca_responses(specimen: "Specimen", state: SpineState, probes: Sequence[Probe]) -> dict[Probe, ProbeResponse]:
    """`_free_ca_response` of each probe: the cell's responses simulated side by side, each head's Ca in a column."""
    probes = list(dict.fromkeys(probes))
    probe, index = specimen.fcat_probe, state.index
    tau_free, tau_dye = state.ca_taus_ms
    scale = state.ca_scale
    drives = list(dict.fromkeys((mode, command) for _, mode, command, _ in probes))
    evoked = probe.evoked_many([EvokedRequest(index, w, m, c, co) for w, m, c, co in probes]
                               + [EvokedRequest(index, 0.0, m, c) for m, c in drives], state.cell)
    quiet = dict(zip(drives, evoked[len(probes):]))
    n = len(probes)
    head = HeadCalcium(specimen.calcium.params, n)
    taus_free, taus_dye = np.full(n, tau_free), np.full(n, tau_dye)
    steady_in = np.array([-float(quiet[m, c].i_ca_vgcc_pA[-1] + quiet[m, c].i_ca_nmda_pA[-1]) * scale
                          for _, m, c, _ in probes])
    c_ss = head.steady_free_uM(steady_in, taus_free, taus_dye)
    influx = np.stack([-(ev.i_ca_nmda_pA + ev.i_ca_vgcc_pA) * scale for ev in evoked[:n]], axis=1)
    dt = evoked[0].dt_ms
    k = max(1, int(round(specimen.sim.ion_dt_ms / dt)))
    m = influx.shape[0] // k
    head.total_uM[:] = head.params.total_uM(c_ss)
    free = head.advance(influx[: m * k].reshape(m, k, n).mean(axis=1), k * dt, taus_free, taus_dye)
    return {pr: ProbeResponse(free[:, j], float(c_ss[j]), evoked[j].v_head_mV, dt, evoked[j].somatic_aps)
            for j, pr in enumerate(probes)}


def quantal_sizes(cv: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Laguerre nodes and weights over the quantal sizes (gamma, mean 1, CV cv)."""
    if cv <= 0:
        return np.ones(1), np.ones(1)
    shape = 1.0 / cv**2
    nodes, w = special.roots_genlaguerre(QUANTAL_NODES, shape - 1.0)  # int x^(k-1) e^-x f(x) dx
    return nodes / shape, w / w.sum()


def _quantal_probes(specimen: "Specimen", weight: float, mode: str, command: float,
                    patterns: Sequence[CoReleasePattern] = (CoReleasePattern(1.0, ()),)) -> list[Probe]:
    """The probes `_expected` averages over: one per quantal-size node and co-release pattern."""
    sizes, _ = quantal_sizes(specimen.sim.synapse.quantal_cv)
    return [(weight * float(size), mode, command, pattern.events) for pattern in patterns for size in sizes]


def _expected(specimen: "Specimen", responses: dict[Probe, ProbeResponse], weight: float, mode: str, command: float,
              patterns: Sequence[CoReleasePattern], value: Callable[[ProbeResponse], float],
              without_aps: bool = False) -> float:
    """`value` of the response averaged over the quantal sizes of the release model (gamma, mean 1, CV
    synapse.quantal_cv) and the co-release patterns: what an average over trials estimates, even where a plateau
    makes it nonlinear. `without_aps`: over the outcomes that fire no somatic AP only (their probabilities
    renormalized; nan if every outcome fires), as the fCaT analysis leaves a CC sweep with an AP out."""
    _, size_weights = quantal_sizes(specimen.sim.synapse.quantal_cv)
    probes = iter(_quantal_probes(specimen, weight, mode, command, patterns))
    total, mass = 0.0, 0.0
    for pattern in patterns:
        for size_weight in size_weights:
            r = responses[next(probes)]
            if without_aps and r.somatic_aps > 0:
                continue
            total += pattern.probability * float(size_weight) * value(r)
            mass += pattern.probability * float(size_weight)
    if not without_aps:
        return total
    return total / mass if mass > 0 else math.nan


def reversal_truth(specimen: "Specimen", state: SpineState) -> dict[str, float]:
    """reversal_mV: the somatic holding where the expected evoked clamp charge in the reversal search's
    response window is zero (empty when the evoked current does not reverse between -30 and +30 mV)."""
    reversal = specimen.fcat_probe.reversal_mV(state.reversal_weights, state.cell)
    return {} if reversal is None else {"reversal_mV": reversal}


def _calcium_probes(specimen: "Specimen", state: SpineState, reversal_mV: float,
                    patterns: Sequence[CoReleasePattern]) -> list[Probe]:
    """Every evoked response the fCaT truth of one spine reads (calcium_truth_of)."""
    probes: list[Probe] = [(0.0, "VC", reversal_mV, ())]
    weight = state.weight if specimen.spines[state.index].nmda_scale > 0 else 0.0
    if weight > 0:
        probes += [(weight, "VC", reversal_mV, ()), (weight, "CC", 0.0, ()), (0.0, "CC", 0.0, ())]
        for mode, command in (("CC", 0.0), ("VC", reversal_mV)):
            probes += _quantal_probes(specimen, weight, mode, command)
            probes += _quantal_probes(specimen, weight, mode, command, patterns)
    return probes


def calcium_truth_of(specimen: "Specimen", state: SpineState, co_release: bool = True) -> dict[str, float]:
    """fCaT truth of one spine in a copied state (see calcium_truth); `co_release=False`: only the truths of the
    spine's own synapse (everything but fcat, fcat_upper_bound and the head depolarizations), without the
    co-release enumeration that costs most of the probes."""
    probe, index = specimen.fcat_probe, state.index
    reversal = probe.reversal_mV(state.reversal_weights, state.cell)
    if reversal is None:  # no evoked synaptic current (e.g. NBQX + CPP): nothing to reverse, no fCaT
        return {}
    g = specimen.spines[index]
    weight = state.weight if g.nmda_scale > 0 else 0.0
    tau_free, tau_dye = state.ca_taus_ms
    head = HeadCalcium(specimen.calcium.params, 1)
    alone = (CoReleasePattern(1.0, ()),)
    patterns = co_release_patterns(specimen, state) if co_release else list(alone)
    responses = _free_ca_responses(specimen, state, _calcium_probes(specimen, state, reversal, patterns))
    c_ss = responses[0.0, "VC", reversal, ()].rest_uM
    tau_decay = float(head.decay_tau_ms(np.array([tau_free]), np.array([tau_dye]), np.array([c_ss]))[0])
    out = {"reversal_mV": reversal, "tau_decay_ms": tau_decay}
    if weight > 0:
        vc, cc = responses[weight, "VC", reversal, ()], responses[weight, "CC", 0.0, ()]

        def ratio(patterns: Sequence[CoReleasePattern]) -> float:
            def peak(r: ProbeResponse) -> float:
                return r.peak_ca_uM
            # CC: the sweeps the analysis keeps, those without a somatic AP (an AP's Ca is not the synapse's)
            return (_expected(specimen, responses, weight, "CC", 0.0, patterns, peak, without_aps=True)
                    / _expected(specimen, responses, weight, "VC", reversal, patterns, peak))

        out["fcat_mean_quantum"] = cc.peak_ca_uM / vc.peak_ca_uM
        out["fcat_isolated"] = ratio(alone)
        if co_release:
            out["fcat"] = ratio(patterns)
            out["fcat_upper_bound"] = out["fcat"]  # what a bound names is the true quantity it bounds
            depolarization = _expected(specimen, responses, weight, "CC", 0.0, patterns,
                                       lambda r: r.head_depolarization_mV, without_aps=True)
            out["head_depolarization_mV"] = depolarization
            out["head_depolarization_upper_bound_mV"] = depolarization
        out["fcat_charge"] = probe.fcat_total(index, weight, reversal, state.cell)
        out["fcat_nmda"] = probe.fcat(index, weight, reversal, state.cell)
        out["tau_decay_quantum_ms"] = quantum_decay_tau_ms(specimen, state, weight, reversal, vc)
        peak = float(vc.free_uM.max())
        kd = head.params.kd_uM
        out["peak_ca_at_reversal_uM"] = peak
        out["peak_indicator_bound_fraction"] = float(bound_fraction(peak, kd))
    return out


# What the fCaT analysis fits tau_decay_quantum_ms with (rig/protocols/fcat/schema.py FcatAnalysisSpec defaults, and
# the window of protocols/fcat.yaml: stimulus at 30 ms of a 300 ms sweep, 500 Hz lines). The calcium truth group is
# computed without the plan (truth_source.GROUPS), so the window is this constant, not the plan's.
QUANTUM_FIT_BASELINE_MS = 30.0
QUANTUM_FIT_AFTER_MS = 270.0
QUANTUM_FIT_LINE_MS = 2.0


def quantum_decay_tau_ms(specimen: "Specimen", state: SpineState, weight: float, reversal_mV: float,
                         response: ProbeResponse | None = None) -> float:
    """tau_decay_quantum_ms as the analysis measures it, on the true noiseless signal: one mean quantum's head
    free-Ca change at the reversal, sampled like the line scan (QUANTUM_FIT_*), fitted by the analysis's own
    fit (`fit_calcium_decay_known_influx`: the NMDA conductance's time course, FcatAnalysisSpec's
    nmda_tau_rise_ms/nmda_tau_decay_ms, convolved with one Ca decay). NaN when that fit fails."""
    from rig.protocols.fcat.schema import FcatAnalysisSpec  # here: importing the fCaT kind costs ~1 s (scipy.stats)

    spec = FcatAnalysisSpec()
    r = response if response is not None else _free_ca_response(specimen, state, weight, "VC", reversal_mV)
    free, rest = r.free_uM, r.rest_uM
    dt = max(1, int(round(specimen.sim.ion_dt_ms / FCAT_DT_MS))) * FCAT_DT_MS  # _free_ca_response's step
    after = np.arange(free.size) * dt
    t = np.arange(0.0, QUANTUM_FIT_BASELINE_MS + QUANTUM_FIT_AFTER_MS, QUANTUM_FIT_LINE_MS) + QUANTUM_FIT_LINE_MS / 2
    y = np.where(t < QUANTUM_FIT_BASELINE_MS, 0.0,
                 np.interp(t - QUANTUM_FIT_BASELINE_MS, after, free - rest, right=float(free[-1] - rest)))
    fit = fit_calcium_decay_known_influx(t, y, QUANTUM_FIT_BASELINE_MS, spec.nmda_tau_rise_ms, spec.nmda_tau_decay_ms)
    return float(fit.tau_ms) if fit.converged else math.nan


def calcium_truth(specimen: "Specimen", index: int, co_release: bool = True) -> dict[str, float]:
    """fCaT truth of one spine (present neck, bath, damage): fcat, the true synaptic reversal at the soma,
    the Ca decay time constant at the reversal with the loaded dye, one mean quantum's peak head Ca at
    the reversal (free uM and indicator bound fraction).

    fcat is what the protocol's amplitude ratio measures: the peak free-Ca change in CC at rest over that
    in VC at the reversal per release at the target, each averaged over the quantal sizes and over what the
    same stimulus releases at the other synapses (`co_release_patterns`: in CC they depolarize the head too;
    all Ca entry, through the head's buffers and neck); fcat_isolated is the same ratio with the target's
    quantum alone, fcat_mean_quantum that of one mean quantum alone (they differ near the NMDA-plateau
    threshold, where only the larger quanta plateau); head_depolarization_mV (what fCaT is inverted into) is the
    peak head potential above rest in CC from HEAD_DEPOLARIZATION_FROM_MS after the release on (the brief AMPA
    peak, which moves no NMDA Ca, left out), averaged like fcat;
    fcat_charge is the ratio of the Ca entry itself and fcat_nmda that of NMDA Ca alone (the quantity
    the Mg-block floor describes). All fcat values and the Ca peak are left out for a spine without NMDA
    receptors; everything when the evoked current has no reversal between -30 and +30 mV.
    """
    return calcium_truth_of(specimen, snapshot(specimen, index), co_release)


def epsp_truth_of(specimen: "Specimen", state: SpineState) -> dict[str, float]:
    """True unitary EPSP peaks (one mean quantum at the rounded damage weight, CC at rest) in a copied state."""
    g = specimen.spines[state.index]
    weight = state.weight if g.ampa_scale + g.nmda_scale else 0.0
    return specimen.epsp_probe.measure(state.index, weight, state.cell)


def describe(specimen: "Specimen") -> dict[str, object]:
    """All true parameters of the specimen (JSON-able), every spine with its present parameters and unitary
    EPSPs. The fCaT probes (reversal, fcat, tau_decay: ~0.25 s CPU a spine, benchmarks/bench_fcat_truth.py) are
    not run here: each sweep's truth carries them for the spine it targets, when its step measures them."""
    sim = specimen.sim
    spines = []
    for i, g in enumerate(specimen.spines):
        state = snapshot(specimen, i)
        spines.append({"name": g.name, "y_um": g.y_um, "cable_position_um": g.cable_position_um,
                       "head_center_um": list(g.head_center_um), "head_radius_um": g.head_radius_um,
                       "stimulated": g.stimulated} | state.spine | epsp_truth_of(specimen, state))
    ca = specimen.ca_indicator
    return {
        "seed": sim.seed,
        "dendrite": sim.dendrite.model_dump(),
        "dye": sim.dye.model_dump(),
        "cytoplasm_resistivity_ohm_cm": sim.cytoplasm_resistivity_ohm_cm,
        "soma": sim.soma.model_dump() | {"resting_potential_mV": float(specimen.model.v_rest_mV),
                                         "membrane_resistivity_ohm_cm2": specimen.model.spec.passive.rm_ohm_cm2,
                                         "leak_reversal_mV": specimen.model.spec.passive.e_leak_mV},
        "synapse": sim.synapse.model_dump(),
        "stimulation": sim.stimulation.model_dump(),
        "background_synapse_positions_um": [float(p) for p in specimen.background_um],
        "calcium": sim.calcium.model_dump() | {"indicator_kd_uM": ca.kd_uM, "indicator_dynamic_range": ca.dynamic_range},
        "sodium": sim.sodium.model_dump(),
        "vsd": sim.vsd.model_dump(),
        "pharmacology": asdict(specimen.pharmacology),
        "plasticity": sim.plasticity.model_dump(),
        "damage": sim.damage.model_dump(),
        "spines": spines,
    }
