"""A listed population of spines spanning the physiological range, for the fCaT physics and truth tests."""

from __future__ import annotations

import math

import numpy as np

RHO_OHM_UM = 150.0 * 1e4  # cytoplasm 150 Ohm cm
N_SPINES = 24


def population(n: int = N_SPINES, seed: int = 5) -> list[dict[str, object]]:
    """Listed spines: neck R log-uniform 50-1500 MOhm, neck 0.3-1.6 um, head 0.03-0.3 um^3, AMPA 0.1-1."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(-28.0, 28.0, n)
    spines = []
    for i in range(n):
        r_MOhm = math.exp(rng.uniform(math.log(50.0), math.log(1500.0)))
        length = math.exp(rng.uniform(math.log(0.3), math.log(1.6)))
        volume = math.exp(rng.uniform(math.log(0.03), math.log(0.3)))
        ampa = math.exp(rng.uniform(math.log(0.1), 0.0))
        radius = math.sqrt(RHO_OHM_UM * length / (math.pi * r_MOhm * 1e6))
        spines.append({"name": f"s{i:02d}", "y_um": float(ys[i]), "side": 1 if i % 2 else -1,
                       "neck_length_um": length, "neck_radius_um": radius, "head_volume_um3": volume,
                       "ampa_scale": ampa})
    return spines
