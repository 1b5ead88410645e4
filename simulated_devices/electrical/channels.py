"""Voltage-gated channels: somatic Hodgkin-Huxley Na/K and the spine-head R-type Ca channel.

Gates are first-order: dx/dt = (x_inf(V) - x) / tau_x(V). Densities in mS/cm^2,
voltages in mV, times in ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np


@dataclass(frozen=True)
class SomaChannelSpec:
    """Somatic spike channels (HH-type m^3h Na, n^4 K) with temperature and voltage shift.

    Defaults (rates of the classic model at 6.3 C, +5 mV shift, gK 20 mS/cm^2) give a
    ~2 ms somatic AP that arrives at a spine 150 um out with ~70 mV and ~3 ms half-width.
    """

    gna_mS_per_cm2: float = 120.0
    gk_mS_per_cm2: float = 20.0
    ena_mV: float = 50.0
    ek_mV: float = -90.0
    temperature_C: float = 6.3
    q10: float = 3.0
    #: Kinetics are the classic ones with rest at -65 mV; shift moves them to this cell's rest.
    v_shift_mV: float = 5.0
    #: Extra depolarising shift of K activation only (less resting K conductance; 0 = classic).
    k_shift_mV: float = 0.0
    #: Slow K inactivation (Kv2-like, gate l): time constant in ms; 0 disables it (l = 1).
    k_inactivation_tau_ms: float = 0.0
    k_inactivation_half_mV: float = -40.0
    k_inactivation_slope_mV: float = 6.0
    #: Fraction of the K conductance that never inactivates (Kv2 inactivation is incomplete).
    k_inactivation_floor: float = 0.0
    #: The slow gate l also inactivates the Na conductance (slow Na inactivation, recovery in seconds: Mickus,
    #: Jung & Spruston 1999). Without it the HH Na window current (~4.5 nA near -16 mV) holds the soma there
    #: through R_s once K has inactivated (the 'soma latch') and pushes it above depolarized commands.
    na_slow_inactivation: bool = True

    @property
    def rate_factor(self) -> float:
        """Q10 speed-up of all gating rates relative to 6.3 C."""
        return self.q10 ** ((self.temperature_C - 6.3) / 10.0)


@dataclass(frozen=True)
class HeadChannelSpec:
    """High-threshold R-type (Cav2.3) Ca channel on spine heads, m^2 h, ohmic vs E_Ca."""

    g_car_mS_per_cm2: float = 3.0
    e_ca_mV: float = 130.0
    m_half_mV: float = -10.0
    m_slope_mV: float = 6.5
    tau_m_ms: float = 1.0
    h_half_mV: float = -45.0
    h_slope_mV: float = 8.0
    tau_h_ms: float = 50.0


def _vtrap(x: float, y: float) -> float:
    """x / (1 - exp(-x/y)), finite at x = 0."""
    if abs(x / y) < 1e-6:
        return y * (1.0 + x / (2.0 * y))
    return x / -math.expm1(-x / y)


def _vtrap_array(x: np.ndarray, y: float) -> np.ndarray:
    """_vtrap element by element."""
    near_zero = np.abs(x / y) < 1e-6
    safe = np.where(near_zero, y, x)  # no 0 / 0 where the series is used
    return np.where(near_zero, y * (1.0 + x / (2.0 * y)), safe / -np.expm1(-safe / y))


def hh_rates(v_mV: float, spec: SomaChannelSpec) -> tuple[float, float, float, float, float, float]:
    """(m_inf, tau_m, h_inf, tau_h, n_inf, tau_n) of the somatic HH channels (scalar V)."""
    return _hh_steady(float(v_mV), spec, math.exp, _vtrap)


def hh_rates_array(v_mV: np.ndarray, spec: SomaChannelSpec) -> tuple[np.ndarray, ...]:
    """hh_rates for an array of voltages (element by element)."""
    return _hh_steady(np.asarray(v_mV, dtype=float), spec, np.exp, _vtrap_array)


#: The HH rate constants, the one source for `_hh_steady` (scalars, arrays) and `hh_rates_rows` (stacked rows):
#: offsets and divisors (mV) of the exponentials of bm, ah, bh (of u) and bn (of u - k_shift); the scales of
#: am, ah, an and of bm, bn; the offsets of the linear (vtrap) rates am, an.
_BM_OFF, _AH_OFF, _BH_OFF, _BN_OFF = 65.0, 65.0, 35.0, 65.0
_BM_DIV, _AH_DIV, _BH_DIV, _BN_DIV = 18.0, 20.0, 10.0, 80.0
_AM_SCALE, _AH_SCALE, _AN_SCALE = 0.1, 0.07, 0.01
_BM_SCALE, _BN_SCALE = 4.0, 0.125
_AM_OFF, _AN_OFF = 40.0, 55.0
_VTRAP_MV = 10.0
_HH_EXP_OFFSET_MV = np.array([[_BM_OFF], [_AH_OFF], [_BH_OFF], [_BN_OFF]])
_HH_EXP_DIV_MV = np.array([[_BM_DIV], [_AH_DIV], [_BH_DIV], [_BN_DIV]])
_HH_ALPHA_SCALE = np.array([[_AM_SCALE], [_AH_SCALE], [_AN_SCALE]])
_HH_VTRAP_OFFSET_MV = np.array([[_AM_OFF], [_AN_OFF]])


def hh_rates_rows(v_mV: np.ndarray, spec: SomaChannelSpec) -> tuple[np.ndarray, np.ndarray]:
    """`hh_rates_array` as two (3, B) arrays, steady states and time constants of m, h, n, with each formula's
    operations on stacked rows written in place (the same arithmetic element by element, in fewer numpy calls)."""
    e = np.empty((4, v_mV.shape[0]))  # rows u, u, u, un: the arguments of bm, ah, bh, bn
    np.subtract(v_mV, spec.v_shift_mV, out=e[0])
    e[1] = e[0]
    e[2] = e[0]
    np.subtract(e[0], spec.k_shift_mV, out=e[3])
    lin = e[2:] + _HH_VTRAP_OFFSET_MV  # u + 40 (am), un + 55 (an)
    q = lin / _VTRAP_MV
    if np.any(np.abs(q) < 1e-6):
        vt = _vtrap_array(lin, _VTRAP_MV)
    else:  # _vtrap_array where no value sits at the removable singularity: x / -expm1(-x / y), -x / y == -(x / y)
        np.negative(q, out=q)
        np.expm1(q, out=q)
        np.negative(q, out=q)
        vt = np.divide(lin, q, out=q)
    e += _HH_EXP_OFFSET_MV
    np.negative(e, out=e)
    e /= _HH_EXP_DIV_MV
    np.exp(e, out=e)
    ab = np.empty((2, 3, v_mV.shape[0]))  # alpha (am, ah, an), beta (bm, bh, bn)
    ab[0, 0] = vt[0]
    ab[0, 1] = e[1]
    ab[0, 2] = vt[1]
    ab[0] *= _HH_ALPHA_SCALE
    np.multiply(_BM_SCALE, e[0], out=ab[1, 0])
    np.add(1.0, e[2], out=ab[1, 1])
    np.divide(1.0, ab[1, 1], out=ab[1, 1])
    np.multiply(_BN_SCALE, e[3], out=ab[1, 2])
    total = ab[0] + ab[1]
    tau = np.multiply(spec.rate_factor, total)
    return np.divide(ab[0], total, out=ab[0]), np.divide(1.0, tau, out=tau)


def _hh_steady(v, spec, exp, vtrap):
    # The one source of the HH rate formulas, for scalars (math) and arrays (numpy).
    u = v - spec.v_shift_mV
    k = spec.rate_factor
    am = _AM_SCALE * vtrap(u + _AM_OFF, _VTRAP_MV)
    bm = _BM_SCALE * exp(-(u + _BM_OFF) / _BM_DIV)
    ah = _AH_SCALE * exp(-(u + _AH_OFF) / _AH_DIV)
    bh = 1.0 / (1.0 + exp(-(u + _BH_OFF) / _BH_DIV))
    un = u - spec.k_shift_mV
    an = _AN_SCALE * vtrap(un + _AN_OFF, _VTRAP_MV)
    bn = _BN_SCALE * exp(-(un + _BN_OFF) / _BN_DIV)
    sm, sh, sn = am + bm, ah + bh, an + bn
    return am / sm, 1.0 / (k * sm), ah / sh, 1.0 / (k * sh), an / sn, 1.0 / (k * sn)


def k_inactivation(v_mV: float, spec: SomaChannelSpec) -> tuple[float, float]:
    """(l_inf, tau_l) of the slow inactivation gate (K, and Na when `na_slow_inactivation`); (1, inf) when disabled."""
    if spec.k_inactivation_tau_ms <= 0:
        return 1.0, math.inf
    x = (float(v_mV) - spec.k_inactivation_half_mV) / spec.k_inactivation_slope_mV
    floor = spec.k_inactivation_floor
    return floor + (1.0 - floor) / (1.0 + math.exp(min(x, 700.0))), spec.k_inactivation_tau_ms


def k_inactivation_array(v_mV: np.ndarray, spec: SomaChannelSpec) -> tuple[np.ndarray, float]:
    """k_inactivation for an array of voltages (l_inf element by element, one tau_l)."""
    v = np.asarray(v_mV, dtype=float)
    if spec.k_inactivation_tau_ms <= 0:
        return np.ones_like(v), math.inf
    x = (v - spec.k_inactivation_half_mV) / spec.k_inactivation_slope_mV
    floor = spec.k_inactivation_floor
    return floor + (1.0 - floor) / (1.0 + np.exp(np.minimum(x, 700.0))), spec.k_inactivation_tau_ms


Gate = TypeVar("Gate", float, np.ndarray)  # one compartment's gate values (float) or a batch of them (array)

NA_SLOW_HALF = 0.05  # gate value at which half the Na channels are slow-inactivated (see na_slow_availability)


def na_slow_availability(l: Gate) -> Gate:
    """Fraction of Na channels not slow-inactivated, l (1 + K) / (l + K) with K = NA_SLOW_HALF: ~1 at rest (0.998 at
    l = 0.96, -70 mV) so spikes and bAPs are unchanged, ~l / K once the slow gate has closed (0.008 near -16 mV,
    4e-4 at 0 mV): Na slow inactivation needs prolonged depolarization and recovers with the gate."""
    return l * (1.0 + NA_SLOW_HALF) / (l + NA_SLOW_HALF)


def hh_conductances_uS(
    m: Gate, h: Gate, n: Gate, area_um2: float, spec: SomaChannelSpec, l: Gate
) -> tuple[Gate, Gate]:
    """Na and K conductances (uS) of a compartment of the given area (l: the slow inactivation gate of K, and of
    Na when `spec.na_slow_inactivation`)."""
    scale = area_um2 * 1e-5  # mS/cm^2 * um^2 -> uS
    slow_na = na_slow_availability(l) if spec.na_slow_inactivation else 1.0
    return spec.gna_mS_per_cm2 * scale * m**3 * h * slow_na, spec.gk_mS_per_cm2 * scale * n**4 * l


def car_steady_state(v_mV: np.ndarray, spec: HeadChannelSpec) -> tuple[np.ndarray, np.ndarray]:
    """(m_inf, h_inf) of the R-type channel."""
    v = np.asarray(v_mV, dtype=float)
    m_inf = 1.0 / (1.0 + np.exp(-(v - spec.m_half_mV) / spec.m_slope_mV))
    h_inf = 1.0 / (1.0 + np.exp((v - spec.h_half_mV) / spec.h_slope_mV))
    return m_inf, h_inf


def car_conductance_uS(
    m: np.ndarray, h: np.ndarray, area_um2: np.ndarray, spec: HeadChannelSpec
) -> np.ndarray:
    """R-type conductance (uS) per head."""
    return spec.g_car_mS_per_cm2 * area_um2 * 1e-5 * m**2 * h

