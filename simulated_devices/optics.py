"""Two-photon excitation of the specimen through a Gaussian PSF, and PMT photon counting."""

from __future__ import annotations

import math

import numpy as np

from simulated_devices.hidden_calibration import HiddenCalibration, slide_excitation
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import SimulationSpec


class TwoPhotonOptics:
    """Maps beam position and power to excitation of the dendrite and each head, and to photons.

    Emission is in units of Alexa 594 at its loaded concentration: a weight of 1 on the
    dendrite gives `dendrite_peak_photons_per_ms` at the dendrite centre at the reference power.
    Commanded beam positions and powers become true ones through `hidden` (the devices' true calibration,
    identity by default); a calibration slide (`simulation.hidden_calibration.sample`) replaces the cell.
    """

    def __init__(self, specimen: Specimen, sim: SimulationSpec, hidden: HiddenCalibration | None = None):
        self.specimen = specimen
        self.hidden = hidden
        self._slide = sim.hidden_calibration if sim.hidden_calibration.sample != "cell" else None
        optics = sim.optics
        self.optics = optics
        sxy, sz = optics.psf_sigma_xy_um, optics.psf_sigma_z_um
        r_d = sim.dendrite.diameter_um / 2
        # Disc cross-section of the dendrite blurred by the PSF (variance of a disc per axis = r^2/4).
        self._dend_sx = math.sqrt(sxy**2 + r_d**2 / 4)
        dend_sz = math.sqrt(sz**2 + r_d**2 / 4)
        self._dend_peak = math.pi * r_d**2 / (2 * math.pi * self._dend_sx * dend_sz)
        self._dend_x = sim.dendrite.x_um
        self._dend_half_len = sim.dendrite.length_um / 2
        # Sphere blurred by the PSF (variance of a ball per axis = r^2/5).
        self._head_sx = np.array([math.sqrt(sxy**2 + s.head_radius_um**2 / 5) for s in specimen.spines])
        head_sz = np.array([math.sqrt(sz**2 + s.head_radius_um**2 / 5) for s in specimen.spines])
        volumes = np.array([s.head_volume_um3 for s in specimen.spines])
        self._head_norm = volumes / ((2 * math.pi) ** 1.5 * self._head_sx**2 * head_sz)
        self._heads = np.array([s.head_center_um for s in specimen.spines])
        self._scale = optics.dendrite_peak_photons_per_ms / (self._dend_peak * optics.reference_power_fraction**2)

    def head_overlap(self, x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
        """PSF overlap of the beam with each head, 1 when centred; shape (n, spines)."""
        if self._slide is not None:  # the cell is not under the objective
            return np.zeros((len(x_um), len(self.specimen.spines)))
        if self.hidden is not None:
            x_um, y_um = self.hidden.beam_um(x_um, y_um)
        dx = x_um[:, None] - self._heads[None, :, 0]
        dy = y_um[:, None] - self._heads[None, :, 1]
        return np.exp(-(dx**2 + dy**2) / (2 * self._head_sx[None, :] ** 2))

    def bleach_rate(self, overlap: np.ndarray, power: np.ndarray) -> np.ndarray:
        """Bleach rate (1/ms) of each head's fluorophore; multiphoton in power."""
        o = self.optics
        if self.hidden is not None:
            power = self.hidden.beam_power(power)
        return o.bleach_rate_per_ms_at_full_power * (power[:, None] ** o.bleach_power_order) * overlap

    def dendrite_profile(self, x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
        """Excitation of the dendrite's dye at each beam position (weight-1 units)."""
        if self.hidden is not None:
            x_um, y_um = self.hidden.beam_um(x_um, y_um)
        if self._slide is not None:
            return slide_excitation(self._slide, x_um, y_um, self.optics.psf_sigma_xy_um, self._dend_peak)
        dx = x_um - self._dend_x
        along = np.abs(y_um) <= self._dend_half_len
        return self._dend_peak * np.exp(-dx**2 / (2 * self._dend_sx**2)) * along

    def photon_rate(self, dendrite: np.ndarray, power: np.ndarray, overlap: np.ndarray,
                    dendrite_weight: np.ndarray | float, head_weight: np.ndarray) -> np.ndarray:
        """Expected photons per ms at each sample (2P: proportional to power squared)."""
        if not np.any(power):
            return np.zeros(power.shape)
        if self.hidden is not None:
            power = self.hidden.beam_power(power)
        heads = np.einsum("ij,ij->i", overlap, head_weight * self._head_norm[None, :])
        return self._scale * power**2 * (dendrite * dendrite_weight + heads)

    def red_photon_rate(self, x_um: np.ndarray, y_um: np.ndarray, power: np.ndarray,
                        overlap: np.ndarray, unbleached: np.ndarray) -> np.ndarray:
        """Expected Alexa photons per ms at each sample."""
        return self.photon_rate(self.dendrite_profile(x_um, y_um), power, overlap, 1.0, unbleached)


def pmt_counts(rng: np.random.Generator, photon_rate_per_ms: np.ndarray, dark_counts_per_s: float,
               dt_ms: float) -> np.ndarray:
    """Photon counts per sample: Poisson signal plus Poisson dark counts."""
    mean = photon_rate_per_ms * dt_ms + dark_counts_per_s * dt_ms / 1000.0
    return rng.poisson(mean).astype(np.float32)
