"""Truth of the voltage-imaging (vsd) estimates, from noise-free replays of the step's two drives.

Every sweep of a vsd step carries every truth (the plan names the step's stimulus onset and its AP pulse, so a
synaptic, an AP or a hyperpolarizing sweep gives the same values for the same spine state):
- the synaptic response: the sweep's held CC current replayed with every recruited synapse receiving its expected
  release at the stimulus (`response_truth.expected_events`);
- the bAP: the held current plus the step's AP pulse, replayed without synaptic input.
Potentials are what the dye in each ROI sees: the head of the imaged spine and the dendrite at its base, each
relative to its own potential before the drive.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from rig.analysis.kinetics import half_width, rise_time_10_90
from rig.datatypes.kind_meta import VsdMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.sweep_building import pulse_train
from simulated_devices.response_truth import _command, expected_events, replay
from simulated_devices.truth import SpineState

if TYPE_CHECKING:
    from simulated_devices.specimen import Specimen

SITES = ("head", "dendrite", "spine_minus_dendrite")


def vsd_plan_key(plan: SweepPlan) -> tuple[object, ...]:
    """What of a vsd plan its truth depends on: the step's drives, not the sweep's role (one cache entry per state)."""
    vsd = plan.meta.kind_as(VsdMeta)
    holding = 0.0 if plan.meta.holding is None else plan.meta.holding
    return (plan.kind, plan.n_samples, plan.sample_rate_hz, vsd.event_ms, holding, vsd.ap_pulse_pA, vsd.ap_width_ms)


def _held(plan: SweepPlan) -> np.ndarray:
    """The step's CC holding current on every sample (what a synaptic sweep's command is)."""
    holding = plan.meta.holding
    return np.full(plan.n_samples, float(_command(plan, "CC")[0] if holding is None else holding))


def synaptic_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """<site>_mV: peak of the expected EPSP above rest in the head, at the spine's base (dendrite) and of head minus
    base; <site>_rise_10_90_ms, <site>_half_width_ms: 10-90 % rise and FWHM of those responses (and the same rise
    under the upper bound's name); head_to_dendrite_ratio: head_mV / dendrite_mV."""
    onset = plan.meta.kind_as(VsdMeta).event_ms
    r = replay(specimen, state, "CC", _held(plan), plan.sample_rate_hz, expected_events(specimen, state, [onset]))
    after = r.t_ms >= onset
    t = r.t_ms[after]
    head, base = r.v_head_mV - r.v_head_mV[0], r.v_base_mV - r.v_base_mV[0]
    out: dict[str, float] = {}
    for site, v in zip(SITES, (head, base, head - base)):
        y = v[after]
        out[f"{site}_mV"] = float(np.max(y))
        out[f"{site}_rise_10_90_ms"] = out[f"{site}_rise_10_90_upper_bound_ms"] = rise_time_10_90(t, y)
        out[f"{site}_half_width_ms"] = half_width(t, y)
    out["head_to_dendrite_ratio"] = out["head_mV"] / out["dendrite_mV"] if out["dendrite_mV"] > 0 else math.nan
    return out


def bap_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """bap_amplitude_mV: peak of the bAP above rest in the dendrite at the spine's base; bap_head_to_dendrite_ratio:
    peak of the bAP in the head over that at the base (each above its own rest)."""
    vsd = plan.meta.kind_as(VsdMeta)
    onset = vsd.event_ms
    command = _held(plan) + pulse_train(plan.n_samples, plan.sample_rate_hz, [onset], vsd.ap_width_ms, vsd.ap_pulse_pA)
    r = replay(specimen, state, "CC", command, plan.sample_rate_hz, [])
    after = r.t_ms >= onset
    head = float(np.max(r.v_head_mV[after] - r.v_head_mV[0]))
    base = float(np.max(r.v_base_mV[after] - r.v_base_mV[0]))
    return {"bap_amplitude_mV": base, "bap_head_to_dendrite_ratio": head / base if base > 0 else math.nan}


def vsd_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """Every vsd truth of the imaged spine (synaptic response and bAP), the same on every sweep of the step."""
    return synaptic_truth(specimen, state, plan) | bap_truth(specimen, state, plan)
