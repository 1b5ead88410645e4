"""Indicator calibrations: Grynkiewicz single-wavelength, Feller paired-AP, and the driving-force check.

One source for each formula; the simulated indicators run the same binding curve forward.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rig.model.biophysics import nmda_unblocked_fraction


def bound_fraction(conc: npt.ArrayLike, kd: float) -> npt.NDArray[np.float64]:
    """Equilibrium bound fraction of an indicator, [X] / ([X] + Kd), in any one unit for both.

    The single-site binding curve behind the Grynkiewicz calibration: Grynkiewicz G, Poenie M, Tsien RY (1985)
    A new generation of Ca2+ indicators with greatly improved fluorescence properties. J Biol Chem 260:3440-3450.
    """
    c = np.asarray(conc, dtype=float)
    return c / (c + kd)


def grynkiewicz_concentration(f: float, f_min: float, f_max: float, kd: float) -> float:
    """[X] = Kd (F - F_min) / (F_max - F), in the unit of Kd (Grynkiewicz, Poenie & Tsien 1985, eq. 5)."""
    if f >= f_max:
        raise ValueError("F at or above F_max: the indicator is saturated")
    return kd * (f - f_min) / (f_max - f)


def concentration_change_from_dff(dff: float, rest_conc: float, kd: float, dynamic_range: float) -> float:
    """Change of [X] for a dF/F from rest, with (F_max - F_min)/F_min = dynamic_range (e.g. ANG-2 3.7)."""
    # F_min = 1 (arbitrary units); F at rest from the binding curve
    f_min = 1.0
    f_max = 1.0 + dynamic_range
    occupancy = float(bound_fraction(rest_conc, kd))
    f_rest = f_min + (f_max - f_min) * occupancy
    f = f_rest * (1 + dff)
    return grynkiewicz_concentration(f, f_min, f_max, kd) - rest_conc


def feller_ratio(f0: float, f1: float, f2: float, f3: float) -> float:
    """Paired-AP ratio a = (F3 - F2) / (F1 - F0): below 1 when the indicator saturates (Feller et al. 1996)."""
    return (f3 - f2) / (f1 - f0)


def calcium_per_ap_from_ratio(a: float, rest_ca_nM: float, kd_nM: float) -> float:
    """Delta[Ca] per AP = ([Ca]0 + Kd)(1 - a)/(2a) in nM, from the paired-AP ratio a; ValueError unless 0 < a < 1.

    Feller MB, Delaney KR, Tank DW (1996) Presynaptic calcium dynamics at the frog retinotectal synapse.
    J Neurophysiol 76:381-400: with equal Ca steps d on a single-site indicator, a = (c0 + Kd)/(c0 + 2d + Kd).
    """
    if not 0 < a < 1:
        raise ValueError(f"paired-AP ratio a={a:.3f} must lie in (0, 1) for a saturating indicator")
    return (rest_ca_nM + kd_nM) * (1 - a) / (2 * a)


def feller_calcium_change(f0: float, f1: float, f2: float, f3: float, rest_ca: float, kd: float) -> float:
    """Delta[Ca] per AP from the four paired-AP levels with a saturating indicator (Feller et al. 1996)."""
    return calcium_per_ap_from_ratio(feller_ratio(f0, f1, f2, f3), rest_ca, kd)


def driving_force_ratio(e_syn_mV: float, v_hyp_mV: float, v_rest_mV: float) -> float:
    """Expected response scaling at a hyperpolarised potential if no voltage-gated channel boosts it."""
    return (e_syn_mV - v_hyp_mV) / (e_syn_mV - v_rest_mV)


def nmda_mg_block(v_mV: float, mg_mM: float = 1.0) -> float:
    """Fraction of NMDA conductance unblocked at one potential (Jahr & Stevens 1990; rig.model.biophysics)."""
    return float(nmda_unblocked_fraction(v_mV, mg_mM))
