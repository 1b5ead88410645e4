"""Glutamatergic synapses: AMPA and NMDA two-exponential conductances, Mg block, ion split.

Ion split (assumption, documented for the calcium/sodium models downstream): each
receptor current is divided into ohmic Ca, Na and K components,
I_X = w_X * g * (V - E_X), with weights summing to 1 and chosen so that the total
reverses at E_syn. AMPA is Ca-impermeable (GluA2-containing); NMDA carries
`nmda_ca_fraction_at_rest` of its current as Ca at the resting potential (~10 %,
Burnashev et al.). With E_Na = +55, E_K = -90, E_syn = 0 mV the Na component is
w_Na = 0.62 of the AMPA conductance (Na influx ~1.1x the net AMPA current at -70 mV).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rig.model.biophysics import nmda_unblocked_fraction

mg_block = nmda_unblocked_fraction  # the one Mg-block formula (Jahr & Stevens 1990), under the simulator's name


@dataclass(frozen=True)
class SynapseSpec:
    """Per-spine AMPA + NMDA synapse; a synaptic event of weight w scales both peaks."""

    ampa_g_nS: float = 0.5
    ampa_tau_rise_ms: float = 0.5
    ampa_tau_decay_ms: float = 2.0
    nmda_g_nS: float = 0.5
    nmda_tau_rise_ms: float = 13.0
    nmda_tau_decay_ms: float = 70.0
    e_syn_mV: float = 0.0
    mg_mM: float = 1.0
    ena_mV: float = 55.0
    ek_mV: float = -90.0
    eca_mV: float = 130.0
    nmda_ca_fraction_at_rest: float = 0.10
    v_rest_for_fraction_mV: float = -70.0


def exp2_peak_factor(tau_rise_ms: float, tau_decay_ms: float) -> float:
    """Factor making exp(-t/tau_decay) - exp(-t/tau_rise) peak at exactly 1."""
    if tau_rise_ms >= tau_decay_ms:
        raise ValueError("tau_rise_ms must be shorter than tau_decay_ms")
    t_peak = (tau_rise_ms * tau_decay_ms / (tau_decay_ms - tau_rise_ms)) * math.log(
        tau_decay_ms / tau_rise_ms
    )
    return 1.0 / (math.exp(-t_peak / tau_decay_ms) - math.exp(-t_peak / tau_rise_ms))


@dataclass(frozen=True)
class IonWeights:
    """Fractions of a receptor conductance carried by Ca, Na and K (sum to 1)."""

    ca: float
    na: float
    k: float


def ampa_ion_weights(spec: SynapseSpec) -> IonWeights:
    """Na/K split of the AMPA conductance reversing at E_syn (no Ca)."""
    w_na = (spec.e_syn_mV - spec.ek_mV) / (spec.ena_mV - spec.ek_mV)
    return IonWeights(ca=0.0, na=w_na, k=1.0 - w_na)


def nmda_ion_weights(spec: SynapseSpec) -> IonWeights:
    """Ca/Na/K split of the NMDA conductance: Ca fraction at rest as specified, reversal E_syn."""
    v = spec.v_rest_for_fraction_mV
    w_ca = spec.nmda_ca_fraction_at_rest * (v - spec.e_syn_mV) / (v - spec.eca_mV)
    # Remaining weight split between Na and K so that the total reverses at E_syn.
    rest = 1.0 - w_ca
    w_na = (spec.e_syn_mV - w_ca * spec.eca_mV - rest * spec.ek_mV) / (spec.ena_mV - spec.ek_mV)
    return IonWeights(ca=w_ca, na=w_na, k=rest - w_na)
