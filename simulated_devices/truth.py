"""The specimen's truth: present parameters of each spine and a JSON-able description of everything."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING

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


def describe(specimen: "Specimen") -> dict[str, object]:
    """All true parameters of the specimen (JSON-able), every spine with its truth and unitary EPSPs."""
    sim = specimen.sim
    spines = []
    for i, g in enumerate(specimen.spines):
        spines.append({"name": g.name, "y_um": g.y_um, "cable_position_um": g.cable_position_um,
                       "head_center_um": list(g.head_center_um), "head_radius_um": g.head_radius_um,
                       "stimulated": g.stimulated} | spine_truth(specimen, i) | specimen.epsp_truth(i))
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
