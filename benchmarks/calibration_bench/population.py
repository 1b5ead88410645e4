"""The calibration population: spines drawn reproducibly from a seed over the physiological range.

A Latin hypercube (scipy.stats.qmc) spreads even a handful of spines over the whole range: each of
the n spines falls in its own 1/n slice of every dimension. Dimensions: log R_neck (log-uniform),
log head volume (log-uniform), release probability (uniform), Ca-silent (the slice below
`silent_fraction`: few NMDA receptors, nmda_scale 0.05 as in simulated_devices/population.py) and the
operator's head-volume error (a standard normal quantile: the protocol is given the true volume times
(1 + rel_sd)^z, so the stated uncertainty of the volume is exercised, and the median error is ~0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.stats import qmc

SILENT_NMDA_SCALE = 0.05


@dataclass(frozen=True)
class PopulationRanges:
    """Ranges the population spans (issue 11: R_neck 30 MOhm - 2 GOhm, V 0.02-0.5 um3, p 0.1-0.5)."""

    neck_resistance_MOhm: tuple[float, float] = (30.0, 2000.0)
    head_volume_um3: tuple[float, float] = (0.02, 0.5)
    release_probability: tuple[float, float] = (0.1, 0.5)
    silent_fraction: float = 0.25

    def describe(self) -> str:
        """One line stating the ranges and their distributions."""
        r, v, p = self.neck_resistance_MOhm, self.head_volume_um3, self.release_probability
        return (f"R_neck {r[0]:g}-{r[1]:g} MOhm (log-uniform), head volume {v[0]:g}-{v[1]:g} um3 (log-uniform), "
                f"release probability {p[0]:g}-{p[1]:g} (uniform), Ca-silent fraction {self.silent_fraction:g} "
                f"(nmda_scale {SILENT_NMDA_SCALE:g}); Latin-hypercube stratified")


@dataclass(frozen=True)
class DrawnSpine:
    """One spine of the population (resting values) and the seed of its simulated rig's noise."""

    index: int
    neck_resistance_MOhm: float
    head_volume_um3: float
    release_probability: float
    silent: bool
    volume_error_z: float
    simulation_seed: int

    @property
    def nmda_scale(self) -> float:
        """NMDA conductance relative to the profile's synapse."""
        return SILENT_NMDA_SCALE if self.silent else 1.0

    def operator_volume_um3(self, rel_sd: float) -> float:
        """The head volume the protocol is given: the truth off by z log-SDs of the stated uncertainty."""
        return self.head_volume_um3 * math.exp(self.volume_error_z * math.log1p(rel_sd))

    def label(self) -> str:
        """Short description for progress lines."""
        return (f"#{self.index} R {self.neck_resistance_MOhm:.0f} MOhm, V {self.head_volume_um3:.3f} um3, "
                f"p {self.release_probability:.2f}{', silent' if self.silent else ''}")


def _log_scale(u: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = bounds
    return np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


def draw_spines(n: int, seed: int, ranges: PopulationRanges = PopulationRanges()) -> list[DrawnSpine]:
    """n spines, reproducible from the seed; spine i is the same whatever kind it is run with."""
    if n <= 0:
        return []
    u = qmc.LatinHypercube(d=5, seed=np.random.default_rng(np.random.SeedSequence([seed, 0xCA1]))).random(n)
    r_neck = _log_scale(u[:, 0], ranges.neck_resistance_MOhm)
    volume = _log_scale(u[:, 1], ranges.head_volume_um3)
    p_lo, p_hi = ranges.release_probability
    p = p_lo + u[:, 2] * (p_hi - p_lo)
    silent = u[:, 3] < ranges.silent_fraction
    z = stats.norm.ppf(u[:, 4])
    seeds = np.random.SeedSequence([seed, 0x5EED]).generate_state(n)
    return [DrawnSpine(i, float(r_neck[i]), float(volume[i]), float(p[i]), bool(silent[i]), float(z[i]),
                       int(seeds[i] % 2**31)) for i in range(n)]
