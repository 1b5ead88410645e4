"""Indicator calibrations: Grynkiewicz single-wavelength, Feller paired-AP, and the driving-force check."""

from __future__ import annotations


def grynkiewicz_concentration(f: float, f_min: float, f_max: float, kd: float) -> float:
    """[X] = Kd (F - F_min) / (F_max - F), in the unit of Kd."""
    if f >= f_max:
        raise ValueError("F at or above F_max: the indicator is saturated")
    return kd * (f - f_min) / (f_max - f)


def concentration_change_from_dff(dff: float, rest_conc: float, kd: float, dynamic_range: float) -> float:
    """Change of [X] for a dF/F from rest, with (F_max - F_min)/F_min = dynamic_range (e.g. ANG-2 3.7)."""
    # F_min = 1 (arbitrary units); F at rest from the binding curve
    f_min = 1.0
    f_max = 1.0 + dynamic_range
    occupancy = rest_conc / (rest_conc + kd)
    f_rest = f_min + (f_max - f_min) * occupancy
    f = f_rest * (1 + dff)
    return grynkiewicz_concentration(f, f_min, f_max, kd) - rest_conc


def feller_calcium_change(f0: float, f1: float, f2: float, f3: float, rest_ca: float, kd: float) -> float:
    """Delta[Ca] per AP from paired APs with a saturating indicator (Feller): a=(F3-F2)/(F1-F0)."""
    a = (f3 - f2) / (f1 - f0)
    if not 0 < a < 1:
        raise ValueError(f"paired-AP ratio a={a:.3f} must lie in (0, 1) for a saturating indicator")
    return (rest_ca + kd) * (1 - a) / (2 * a)


def driving_force_ratio(e_syn_mV: float, v_hyp_mV: float, v_rest_mV: float) -> float:
    """Expected response scaling at a hyperpolarised potential if no voltage-gated channel boosts it."""
    return (e_syn_mV - v_hyp_mV) / (e_syn_mV - v_rest_mV)


def nmda_mg_block(v_mV: float, mg_mM: float = 1.0) -> float:
    """Fraction of NMDA conductance unblocked: 1 / (1 + [Mg]/3.57 mM * exp(-0.062 V/mV))."""
    import math

    return 1.0 / (1.0 + mg_mM / 3.57 * math.exp(-0.062 * v_mV))
