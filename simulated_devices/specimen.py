"""The virtual specimen: a dendrite with spines filled with dye, and a passive soma.

Dye exchange through each neck: the unbleached fraction f of head fluorophore obeys
df/dt = (1 - f)/tau - k_bleach(t) f with tau = V L / (D pi a^2) (dendrite as reservoir).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.config.simulation import SimulationSpec, SpineSpec
from simulated_devices.relaxation import relax


@dataclass(frozen=True)
class SpineTruth:
    """True parameters of one spine, derived from its geometry."""

    name: str
    head_center_um: tuple[float, float]
    head_radius_um: float
    head_volume_um3: float
    neck_length_um: float
    neck_radius_um: float
    tau_frap_ms: float
    neck_resistance_MOhm: float

    def as_dict(self) -> dict[str, float]:
        """The numeric truth under the names estimates use."""
        return {
            "tau_frap_ms": self.tau_frap_ms,
            "neck_resistance_MOhm": self.neck_resistance_MOhm,
            "head_volume_um3": self.head_volume_um3,
            "neck_length_um": self.neck_length_um,
            "neck_radius_um": self.neck_radius_um,
        }


def spine_truth(spec: SpineSpec, sim: SimulationSpec) -> SpineTruth:
    """Geometry -> head position, diffusional tau and neck resistance."""
    radius = (3.0 * spec.head_volume_um3 / (4.0 * math.pi)) ** (1.0 / 3.0)
    neck_area = math.pi * spec.neck_radius_um**2
    x = sim.dendrite.x_um + spec.side * (sim.dendrite.diameter_um / 2 + spec.neck_length_um + radius)
    tau_ms = spec.head_volume_um3 * spec.neck_length_um / (sim.dye.diffusion_um2_per_ms * neck_area)
    rho_ohm_um = sim.cytoplasm_resistivity_ohm_cm * 1e4
    r_neck_MOhm = rho_ohm_um * spec.neck_length_um / neck_area / 1e6
    return SpineTruth(spec.name, (x, spec.y_um), radius, spec.head_volume_um3, spec.neck_length_um,
                      spec.neck_radius_um, tau_ms, r_neck_MOhm)


class Specimen:
    """Shared state of the simulated cell, advanced on the simulated DAQ clock."""

    def __init__(self, sim: SimulationSpec):
        self.sim = sim
        self.spines = [spine_truth(s, sim) for s in sim.spines]
        self.unbleached = np.ones(len(self.spines))
        self.v_soma_mV = sim.soma.resting_mV
        self.time_ms = 0.0
        self.light_dose_ms = np.zeros(len(self.spines))

    # ----- truth -------------------------------------------------------------------
    def nearest_spine(self, point_um: tuple[float, float]) -> int:
        """Index of the spine whose head is nearest a point."""
        d = [math.dist(point_um, s.head_center_um) for s in self.spines]
        return int(np.argmin(d))

    def describe(self) -> dict[str, object]:
        """All true parameters of the specimen."""
        return {
            "dendrite": self.sim.dendrite.model_dump(),
            "dye": self.sim.dye.model_dump(),
            "cytoplasm_resistivity_ohm_cm": self.sim.cytoplasm_resistivity_ohm_cm,
            "soma": self.sim.soma.model_dump(),
            "spines": [s.__dict__ for s in self.spines],
        }

    # ----- dynamics ----------------------------------------------------------------
    def advance_dye(self, bleach_rate_per_ms: np.ndarray, dt_ms: float) -> np.ndarray:
        """Advance head dye exchange and bleaching; return unbleached fraction per sample and spine."""
        taus = np.array([s.tau_frap_ms for s in self.spines])
        rate = 1.0 / taus + bleach_rate_per_ms  # (n, k)
        target = (1.0 / taus) / rate
        f_start, f_end = relax(self.unbleached, rate, target, dt_ms)
        self.unbleached = f_end
        return f_start

    def rest(self, duration_ms: float) -> None:
        """Let time pass with no light and the soma at rest (between sweeps)."""
        taus = np.array([s.tau_frap_ms for s in self.spines])
        self.unbleached = 1.0 - (1.0 - self.unbleached) * np.exp(-duration_ms / taus)
        self.time_ms += duration_ms

    def advance_soma(self, mode: str, command: np.ndarray, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """Advance the passive soma under VC (command mV through Rs) or CC (command pA).

        Returns (membrane potential mV, pipette current pA) per sample.
        """
        soma = self.sim.soma
        g_in = 1.0 / soma.input_resistance_MOhm  # uS
        c = soma.capacitance_pF
        if mode == "VC":
            g_s = 1.0 / soma.series_resistance_MOhm
            rate = np.full(command.shape, (g_s + g_in) / c * 1e3)
            target = (command * g_s + soma.resting_mV * g_in) / (g_s + g_in)
            v, v_end = relax(self.v_soma_mV, rate, target, dt_ms)
            current_pA = (command - v) * g_s * 1e3
        else:
            rate = np.full(command.shape, g_in / c * 1e3)
            target = soma.resting_mV + command * soma.input_resistance_MOhm / 1e3
            v, v_end = relax(self.v_soma_mV, rate, target, dt_ms)
            current_pA = command.astype(float)
        self.v_soma_mV = float(v_end)
        self.time_ms += command.shape[0] * dt_ms
        return v, current_pA
