"""Spine biophysics formulas, one source each, shared by the analysis and the simulated specimen (pure).

NMDA Mg block (Jahr & Stevens 1990) and the neck's diffusional and electrical coupling
(Svoboda, Tank & Denk 1996). The analysis inverts these; the simulated specimen runs them forward.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

MG_BLOCK_MM = 3.57
"""[Mg] (mM) at which the NMDA block halves the conductance at 0 mV (Jahr & Stevens 1990)."""
MG_BLOCK_PER_MV = 0.062
"""Voltage dependence (1/mV) of the NMDA Mg block (Jahr & Stevens 1990)."""

_OHM_CM_TO_OHM_UM = 1e4
_OHM_PER_MOHM = 1e6


def nmda_unblocked_fraction(v_mV: npt.ArrayLike, mg_mM: float) -> npt.NDArray[np.float64]:
    """Fraction of NMDA conductance not blocked by Mg: B(V) = 1 / (1 + [Mg]/3.57 mM exp(-0.062 V/mV)).

    Jahr CE, Stevens CF (1990) Voltage dependence of NMDA-activated macroscopic conductances predicted by
    single-channel kinetics. J Neurosci 10:3178-3182 (the one common form quoted in SCIENCE.md).
    """
    return 1.0 / (1.0 + mg_mM / MG_BLOCK_MM * np.exp(-MG_BLOCK_PER_MV * np.asarray(v_mV, dtype=float)))


def neck_resistance_MOhm(tau_ms: float, resistivity_ohm_cm: float, diffusion_um2_per_ms: float,
                         head_volume_um3: float) -> float:
    """R_neck = rho_i tau D / V_head in MOhm, from tau (ms), rho_i (ohm cm), D (um2/ms), V_head (um3).

    Svoboda K, Tank DW, Denk W (1996) Direct measurement of coupling between dendritic spines and shafts.
    Science 272:716-719: tau = V L / (D A) and R_neck = rho_i L / A, so R_neck = rho_i tau D / V.
    """
    rho_ohm_um = resistivity_ohm_cm * _OHM_CM_TO_OHM_UM
    return rho_ohm_um * tau_ms * diffusion_um2_per_ms / head_volume_um3 / _OHM_PER_MOHM


def neck_diffusion_tau_ms(head_volume_um3: float, neck_length_um: float, neck_area_um2: float,
                          diffusion_um2_per_ms: float) -> float:
    """Head-neck exchange time constant tau = V_head L / (D A) (Svoboda, Tank & Denk 1996)."""
    return head_volume_um3 * neck_length_um / (diffusion_um2_per_ms * neck_area_um2)


def neck_geometry_resistance_MOhm(resistivity_ohm_cm: float, neck_length_um: float, neck_area_um2: float) -> float:
    """Neck resistance R = rho_i L / A in MOhm (a cylinder; Svoboda, Tank & Denk 1996)."""
    return resistivity_ohm_cm * _OHM_CM_TO_OHM_UM * neck_length_um / neck_area_um2 / _OHM_PER_MOHM


def neck_radius_for_resistance_um(resistivity_ohm_cm: float, neck_length_um: float, neck_resistance_MOhm: float) -> float:
    """Radius a of a cylindrical neck of length L with resistance R: R = rho_i L / (pi a^2) solved for a."""
    rho_ohm_um = resistivity_ohm_cm * _OHM_CM_TO_OHM_UM
    return math.sqrt(rho_ohm_um * neck_length_um / (math.pi * neck_resistance_MOhm * _OHM_PER_MOHM))
