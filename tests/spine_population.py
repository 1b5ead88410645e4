"""A listed population of spines spanning the physiological range, for the fCaT physics and truth tests."""

from __future__ import annotations

from simulated_devices.population import physiological_range_spines
from simulated_devices.specimen_config import SpineSpec

N_SPINES = 24


def population(n: int = N_SPINES, seed: int = 5) -> list[SpineSpec]:
    """Listed spines: neck R log-uniform 50-1500 MOhm, neck 0.3-1.6 um, head 0.03-0.3 um^3, AMPA 0.1-1
    (simulated_devices.population.physiological_range_spines)."""
    return physiological_range_spines(n, seed)
