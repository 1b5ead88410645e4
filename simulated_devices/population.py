"""The spines of the specimen: those the profile lists plus a population drawn from a seed.

Drawn geometry is log-uniform over the SCIENCE.md ranges (neck 0.08-1.6 um long,
0.04-0.46 um wide, head 0.01-0.6 um^3), release probability uniform over 0.09-0.5,
AMPA scale log-uniform over 0.1-1 (0.05-0.5 nS), a fraction with few NMDA receptors.
Positions are uniform along the imaged dendrite, spaced so heads do not overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rig.model.biophysics import neck_diffusion_tau_ms, neck_geometry_resistance_MOhm, neck_radius_for_resistance_um
from simulated_devices.specimen_config import PopulationSpec, SimulationSpec, SpineSpec

_MIN_SPACING_UM = 1.5


@dataclass(frozen=True)
class SpineGeometry:
    """A spine's resting geometry and where its head sits in the sample plane."""

    name: str
    y_um: float
    cable_position_um: float
    head_center_um: tuple[float, float]
    head_radius_um: float
    head_volume_um3: float
    neck_length_um: float
    neck_radius_um: float
    release_probability: float
    ampa_scale: float
    nmda_scale: float
    stimulated: bool

    @property
    def neck_area_um2(self) -> float:
        """Cross-section of the neck."""
        return math.pi * self.neck_radius_um**2

    def diffusion_tau_ms(self, diffusion_um2_per_ms: float) -> float:
        """Head-neck exchange time constant tau = V L / (D A) of a species."""
        return neck_diffusion_tau_ms(self.head_volume_um3, self.neck_length_um, self.neck_area_um2, diffusion_um2_per_ms)

    def neck_resistance_MOhm(self, resistivity_ohm_cm: float) -> float:
        """Neck resistance rho L / A."""
        return neck_geometry_resistance_MOhm(resistivity_ohm_cm, self.neck_length_um, self.neck_area_um2)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    lo, hi = bounds
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def draw_population(spec: PopulationSpec, seed: int, taken_y_um: list[float]) -> list[SpineSpec]:
    """Draw `spec.count` spines reproducibly from the seed, avoiding positions already taken."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5E1E]))
    n = spec.count
    lengths = _log_uniform(rng, spec.neck_length_um, n)
    radii = _log_uniform(rng, spec.neck_diameter_um, n) / 2.0
    volumes = _log_uniform(rng, spec.head_volume_um3, n)
    p_release = rng.uniform(*spec.release_probability, n)
    ampa = _log_uniform(rng, (0.1, 1.0), n)
    silent = rng.random(n) < spec.silent_fraction
    sides = rng.choice([-1, 1], n)
    taken = list(taken_y_um)
    spines = []
    for i in range(n):
        for _ in range(1000):
            y = float(rng.uniform(*spec.y_range_um))
            if all(abs(y - t) >= _MIN_SPACING_UM for t in taken):
                break
        else:
            raise ValueError(f"no room for {n} spines {_MIN_SPACING_UM} um apart in y_range_um {spec.y_range_um}")
        taken.append(y)
        spines.append(SpineSpec(name=f"p{i:03d}", y_um=round(y, 3), side=1 if sides[i] > 0 else -1,
                                neck_length_um=float(lengths[i]), neck_radius_um=float(radii[i]),
                                head_volume_um3=float(volumes[i]), release_probability=float(p_release[i]),
                                ampa_scale=float(ampa[i]), nmda_scale=0.05 if silent[i] else 1.0))
    return spines


def spine_geometry(spec: SpineSpec, sim: SimulationSpec) -> SpineGeometry:
    """Head position in the sample plane and cable position of a listed spine."""
    radius = head_radius_um(spec.head_volume_um3)
    x = sim.dendrite.x_um + spec.side * (sim.dendrite.diameter_um / 2 + spec.neck_length_um + radius)
    cable = min(max(sim.dendrite.distance_from_soma_um + spec.y_um, 0.0), sim.dendrite.cable_length_um)
    return SpineGeometry(spec.name, spec.y_um, cable, (x, spec.y_um), radius, spec.head_volume_um3,
                         spec.neck_length_um, spec.neck_radius_um, spec.release_probability, spec.ampa_scale,
                         spec.nmda_scale, spec.stimulated)


def head_radius_um(head_volume_um3: float) -> float:
    """Radius of a spherical head of this volume."""
    return (3.0 * head_volume_um3 / (4.0 * math.pi)) ** (1.0 / 3.0)


def spine_with_head_at(name: str, head_center_um: tuple[float, float], side: Literal[-1, 1],
                       neck_resistance_MOhm: float, head_volume_um3: float, sim: SimulationSpec,
                       **synapse: Any) -> SpineSpec:
    """A spine whose head centre sits at a given point, with a given resting neck resistance and head volume.

    The inverse of `spine_geometry`: the neck length is what puts the head there (x of the head minus the
    dendrite's edge and the head radius), the neck radius what gives R_neck = rho_i L / (pi a^2). Diffusional
    time constants follow from R_neck and V alone (tau = R_neck V / (rho_i D)), so the length is free to
    choose. `synapse` passes further SpineSpec fields (release_probability, ampa_scale, nmda_scale, stimulated).
    Raises ValueError when the point is too close to the dendrite for a head of this volume.
    """
    x_um, y_um = head_center_um
    length = side * (x_um - sim.dendrite.x_um) - sim.dendrite.diameter_um / 2 - head_radius_um(head_volume_um3)
    if length <= 0.05:
        raise ValueError(f"a {head_volume_um3:g} um3 head cannot sit at x = {x_um:g} um on side {side}: "
                         f"neck length would be {length:.3f} um")
    radius = neck_radius_for_resistance_um(sim.cytoplasm_resistivity_ohm_cm, length, neck_resistance_MOhm)
    return SpineSpec(name=name, y_um=y_um, side=side, neck_length_um=length, neck_radius_um=radius,
                     head_volume_um3=head_volume_um3, **synapse)


def all_spines(sim: SimulationSpec) -> list[SpineGeometry]:
    """Listed spines first, then the drawn population."""
    listed = list(sim.spines)
    seed = sim.population.seed if sim.population.seed is not None else sim.seed
    drawn = draw_population(sim.population, seed, [s.y_um for s in listed]) if sim.population.count else []
    return [spine_geometry(s, sim) for s in listed + drawn]


def background_positions_um(sim: SimulationSpec, seed: int) -> np.ndarray:
    """Cable positions of the background synapses (unimaged spines around the imaged region)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB6]))
    st, d = sim.stimulation, sim.dendrite
    pos = d.distance_from_soma_um + rng.uniform(-st.background_spread_um, st.background_spread_um,
                                                 st.background_synapses)
    return np.clip(pos, 0.0, d.cable_length_um)


def physiological_range_spines(n: int = 24, seed: int = 5, resistivity_ohm_cm: float = 150.0) -> list[SpineSpec]:
    """Listed spines spanning the physiological range, evenly along y -28..28 um on alternating sides.

    Neck resistance log-uniform 50-1500 MOhm, neck 0.3-1.6 um long (its radius what gives that resistance),
    head 0.03-0.3 um^3, AMPA scale 0.1-1: the population of the fCaT physics and truth tests and of
    benchmarks/bench_fcat_truth.py, reproducible from the seed.
    """
    rng = np.random.default_rng(seed)
    ys = np.linspace(-28.0, 28.0, n)
    spines = []
    for i in range(n):
        r_MOhm = math.exp(rng.uniform(math.log(50.0), math.log(1500.0)))
        length = math.exp(rng.uniform(math.log(0.3), math.log(1.6)))
        volume = math.exp(rng.uniform(math.log(0.03), math.log(0.3)))
        ampa = math.exp(rng.uniform(math.log(0.1), 0.0))
        spines.append(SpineSpec(name=f"s{i:02d}", y_um=float(ys[i]), side=1 if i % 2 else -1, neck_length_um=length,
                                neck_radius_um=neck_radius_for_resistance_um(resistivity_ohm_cm, length, r_MOhm),
                                head_volume_um3=volume, ampa_scale=ampa))
    return spines
