"""Neck resistance from a diffusional time constant with its interval: R_neck = rho_i tau D / V (rig.model.biophysics)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rig.model.biophysics import neck_resistance_MOhm


@dataclass(frozen=True)
class NeckAssumptions:
    """The quantities the conversion assumes, each with a relative uncertainty (SD/value) and a source."""

    resistivity_ohm_cm: float
    resistivity_rel_sd: float
    diffusion_um2_per_ms: float
    diffusion_rel_sd: float
    head_volume_um3: float
    head_volume_rel_sd: float
    head_volume_source: str

    def describe(self) -> str:
        """One line stating every assumption and its source."""
        return (f"rho_i={self.resistivity_ohm_cm:g} ohm cm (+-{self.resistivity_rel_sd:.0%}), "
                f"D={self.diffusion_um2_per_ms:g} um2/ms (+-{self.diffusion_rel_sd:.0%}), "
                f"V={self.head_volume_um3:g} um3 (+-{self.head_volume_rel_sd:.0%}, {self.head_volume_source})")


@dataclass(frozen=True)
class Interval:
    """A value with a (low, high) interval and unit."""

    value: float
    low: float
    high: float
    unit: str


def neck_resistance_interval(tau: Interval, assumptions: NeckAssumptions, z: float | None = None) -> Interval:
    """R_neck with an interval propagating tau's interval and the assumptions' uncertainties (log-normal); z the
    interval's normal quantile (default the two-sided 95 % one)."""
    if z is None:  # imported here: the step schemas import this module, and validating needs no scipy.stats
        from rig.analysis.confidence import Z_95

        z = Z_95
    a = assumptions
    value = neck_resistance_MOhm(tau.value, a.resistivity_ohm_cm, a.diffusion_um2_per_ms, a.head_volume_um3)
    tau_log_sd = (math.log(tau.high) - math.log(tau.low)) / (2 * z)
    sd = math.sqrt(tau_log_sd**2 + math.log1p(a.resistivity_rel_sd) ** 2 + math.log1p(a.diffusion_rel_sd) ** 2
                   + math.log1p(a.head_volume_rel_sd) ** 2)
    centre = math.log(value)
    return Interval(value, math.exp(centre - z * sd), math.exp(centre + z * sd), "MOhm")
