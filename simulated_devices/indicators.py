"""Fluorescent indicators and dyes: affinity, dynamic range, emission and excitation.

Fluorescence of an indicator at total concentration D_T with bound fraction f:
F = brightness * D_T * (f * s_bound + (1 - f) * s_free), where the brighter form has
s = 1 and the other s = 1 / R_f (R_f = F_bound / F_free > 1 for rising indicators) or
s = R_f (falling, R_f < 1, e.g. bis-fura-2 excited at 385 nm). Brightness is relative to
Alexa 594 per uM under two-photon excitation at 810 nm; LED excitation is a relative
efficiency per wavelength. Values: manufacturer data and docs/specimen.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rig.analysis.calibration import bound_fraction


@dataclass(frozen=True)
class Indicator:
    """One fluorophore: what it binds, how its fluorescence depends on binding, its colour."""

    name: str
    ion: Literal["Ca", "Na", "none"]
    kd_uM: float
    dynamic_range: float  # F_bound / F_free at its working excitation
    emission_nm: float
    brightness_2p: float  # brighter form, per uM, relative to Alexa 594 at 810 nm
    led_excitation: dict[int, float] = field(default_factory=dict)  # wavelength nm -> relative efficiency

    def form_weights(self) -> tuple[float, float]:
        """(s_bound, s_free): relative brightness of the bound and free forms."""
        r = self.dynamic_range
        return (1.0, 1.0 / r) if r >= 1.0 else (r, 1.0)

    def bound_fraction(self, conc_uM: np.ndarray | float) -> np.ndarray:
        """Equilibrium bound fraction at a free ion concentration (uM) (rig.analysis.calibration.bound_fraction)."""
        return bound_fraction(conc_uM, self.kd_uM)

    def fluorescence_per_uM(self, bound_fraction: np.ndarray | float) -> np.ndarray:
        """Relative emission per uM of indicator (brightness 1 at the brighter form)."""
        s_b, s_f = self.form_weights()
        f = np.asarray(bound_fraction, dtype=float)
        return f * s_b + (1.0 - f) * s_f

    def excitation(self, wavelength_nm: float) -> float:
        """Excitation efficiency: brightness_2p at 700-1100 nm, the nearest LED entry (+-30 nm) otherwise."""
        if 700.0 <= wavelength_nm <= 1100.0:
            return self.brightness_2p
        if not self.led_excitation:
            return 0.0
        nearest = min(self.led_excitation, key=lambda w: abs(w - wavelength_nm))
        return self.led_excitation[nearest] if abs(nearest - wavelength_nm) <= 30.0 else 0.0


_INDICATORS = (
    Indicator("alexa594", "none", 1.0, 1.0, 617.0, 1.0, {385: 0.02, 460: 0.05, 520: 0.3}),
    Indicator("fluo-5F", "Ca", 0.8, 15.0, 516.0, 0.5, {385: 0.05, 460: 0.7, 520: 0.2}),
    Indicator("OGB-1", "Ca", 0.2, 8.0, 523.0, 0.6, {385: 0.05, 460: 0.8, 520: 0.3}),
    Indicator("calcium green-1", "Ca", 0.19, 14.0, 531.0, 0.5, {385: 0.05, 460: 0.6, 520: 0.3}),
    Indicator("magnesium green", "Ca", 6.0, 3.0, 531.0, 0.5, {385: 0.05, 460: 0.6, 520: 0.3}),
    Indicator("bis-fura-2", "Ca", 0.37, 0.12, 505.0, 0.3, {385: 1.0, 460: 0.0, 520: 0.0}),
    Indicator("fura-FF", "Ca", 5.5, 0.15, 510.0, 0.3, {385: 1.0, 460: 0.0, 520: 0.0}),
    Indicator("ANG-2", "Na", 84_000.0, 4.7, 540.0, 0.3, {385: 0.0, 460: 0.3, 520: 1.0}),
    Indicator("SBFI", "Na", 24_500.0, 1.56, 505.0, 0.1, {385: 1.0, 460: 0.0, 520: 0.0}),
)

INDICATORS: dict[str, Indicator] = {i.name: i for i in _INDICATORS}


def indicator(name: str) -> Indicator:
    """Look up an indicator by name (case-insensitive)."""
    for key, value in INDICATORS.items():
        if key.lower() == name.lower():
            return value
    raise KeyError(f"unknown indicator '{name}' (known: {', '.join(INDICATORS)})")


def passes(emission_nm: float, band: str) -> bool:
    """True when an emission peak falls in a filter band 'centre/width' (nm), with 15 nm tolerance."""
    try:
        centre, width = (float(v) for v in band.split("/"))
    except ValueError:
        return False
    return abs(emission_nm - centre) <= width / 2.0 + 15.0
