"""The specimen's truth: present parameters of each spine and a JSON-able description of everything."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from simulated_devices.ions import HeadCalcium

if TYPE_CHECKING:
    from simulated_devices.specimen import Specimen


def spine_truth(specimen: "Specimen", index: int) -> dict[str, float]:
    """The present true parameters of one spine (plastic neck, bath, light damage)."""
    g = specimen.spines[index]
    fold = float(specimen.neck_fold[index])
    syn = specimen.sim.synapse
    return {
        "tau_frap_ms": float(specimen.tau_frap_ms[index]),
        "neck_resistance_MOhm": float(specimen.neck_resistance_MOhm[index]),
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


QUANTAL_NODES = 5  # Gauss-Laguerre nodes over the quantal-size distribution (fcat truth)


def _free_ca_response(specimen: "Specimen", index: int, weight: float, mode: str, command: float
                      ) -> tuple[np.ndarray, float]:
    """Head free Ca (uM, per ion step) after one quantum from the steady state of the held drive, and that
    steady state: all Ca entry (NMDA + R-type) through the head's buffers, dye and neck."""
    probe = specimen.fcat_probe
    tau_free, tau_dye = specimen.ca_diffusion_taus_ms(index)
    scale = float(specimen.ca_scale()[index])
    head = HeadCalcium(specimen.calcium.params, 1)
    quiet = probe.evoked(index, 0.0, mode, command)
    steady_in = -float(quiet.i_ca_vgcc_pA[-1] + quiet.i_ca_nmda_pA[-1]) * scale
    c_ss = float(head.steady_free_uM(np.array([steady_in]), np.array([tau_free]), np.array([tau_dye]))[0])
    ev = probe.evoked(index, weight, mode, command)
    influx = -(ev.i_ca_nmda_pA + ev.i_ca_vgcc_pA) * scale
    k = max(1, int(round(specimen.sim.ion_dt_ms / ev.dt_ms)))
    m = influx.size // k
    head.total_uM[:] = head.params.total_uM(np.array([c_ss]))
    free = head.advance(influx[: m * k].reshape(m, k).mean(axis=1)[:, None], k * ev.dt_ms,
                        np.array([tau_free]), np.array([tau_dye]))
    return free[:, 0], c_ss


def _expected_peak(specimen: "Specimen", index: int, weight: float, mode: str, command: float) -> float:
    """Peak free-Ca change averaged over the quantal sizes of the release model (gamma, mean 1, CV
    synapse.quantal_cv): what an average over trials estimates, even where a plateau makes it nonlinear."""
    cv = specimen.sim.synapse.quantal_cv
    if cv <= 0:
        sizes, weights = np.ones(1), np.ones(1)
    else:
        shape = 1.0 / cv**2
        nodes, w = special.roots_genlaguerre(QUANTAL_NODES, shape - 1.0)  # int x^(k-1) e^-x f(x) dx
        sizes, weights = nodes / shape, w / w.sum()
    peaks = []
    for size in sizes:
        free, rest = _free_ca_response(specimen, index, weight * float(size), mode, command)
        peaks.append(float(free.max()) - rest)
    return float(np.dot(weights, peaks))


def calcium_truth(specimen: "Specimen", index: int) -> dict[str, float]:
    """fCaT truth of one spine (present neck, bath, damage): fcat, the true synaptic reversal at the soma,
    the Ca decay time constant at the reversal with the loaded dye, one mean quantum's peak head Ca at
    the reversal (free uM and indicator bound fraction).

    fcat is what the protocol's amplitude ratio measures: the peak free-Ca change in CC at rest over that
    in VC at the reversal, each averaged over the quantal sizes (all Ca entry, through the head's buffers
    and neck); fcat_mean_quantum is that of one mean quantum (they differ near the NMDA-plateau
    threshold, where only the larger quanta plateau);
    fcat_charge is the ratio of the Ca entry itself and fcat_nmda that of NMDA Ca alone (the quantity
    the Mg-block floor describes). All fcat values and the Ca peak are left out for a spine without NMDA
    receptors; everything when the evoked current has no reversal between -30 and +30 mV.
    """
    probe = specimen.fcat_probe
    reversal = probe.reversal_mV(specimen.reversal_weights())
    if reversal is None:  # no evoked synaptic current (e.g. NBQX + CPP): nothing to reverse, no fCaT
        return {}
    g = specimen.spines[index]
    weight = truth_weight(float(specimen.damage()[index])) if g.nmda_scale > 0 else 0.0
    tau_free, tau_dye = specimen.ca_diffusion_taus_ms(index)
    head = HeadCalcium(specimen.calcium.params, 1)
    _, c_ss = _free_ca_response(specimen, index, 0.0, "VC", reversal)
    tau_decay = float(head.decay_tau_ms(np.array([tau_free]), np.array([tau_dye]), np.array([c_ss]))[0])
    out = {"reversal_mV": reversal, "tau_decay_ms": tau_decay}
    if weight > 0:
        free_vc, rest_vc = _free_ca_response(specimen, index, weight, "VC", reversal)
        free_cc, rest_cc = _free_ca_response(specimen, index, weight, "CC", 0.0)
        out["fcat_mean_quantum"] = float((free_cc.max() - rest_cc) / (free_vc.max() - rest_vc))
        out["fcat"] = _expected_peak(specimen, index, weight, "CC", 0.0) / _expected_peak(
            specimen, index, weight, "VC", reversal)
        out["fcat_charge"] = probe.fcat_total(index, weight, reversal)
        out["fcat_nmda"] = probe.fcat(index, weight, reversal)
        peak = float(free_vc.max())
        kd = head.params.kd_uM
        out["peak_ca_at_reversal_uM"] = peak
        out["peak_indicator_bound_fraction"] = peak / (peak + kd)
    return out


def describe(specimen: "Specimen") -> dict[str, object]:
    """All true parameters of the specimen (JSON-able), every spine with its truth and unitary EPSPs."""
    sim = specimen.sim
    spines = []
    for i, g in enumerate(specimen.spines):
        spines.append({"name": g.name, "y_um": g.y_um, "cable_position_um": g.cable_position_um,
                       "head_center_um": list(g.head_center_um), "head_radius_um": g.head_radius_um,
                       "stimulated": g.stimulated} | spine_truth(specimen, i) | specimen.epsp_truth(i)
                      | calcium_truth(specimen, i))
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
