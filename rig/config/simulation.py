"""Description of the simulated specimen: the cell, its spines, dyes and optics (pure data)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.config.base import StrictModel


class DendriteSpec(StrictModel):
    """A straight dendrite along the y axis of the sample plane."""

    x_um: float = 0.0
    diameter_um: float = Field(default=1.0, gt=0)
    length_um: float = Field(default=60.0, gt=0)


class SpineSpec(StrictModel):
    """One spine: where it sits and its geometry (neck length and radius, head volume)."""

    name: str
    y_um: float = Field(description="position along the dendrite")
    side: Literal[-1, 1] = 1
    neck_length_um: float = Field(gt=0, le=5)
    neck_radius_um: float = Field(gt=0, le=1)
    head_volume_um3: float = Field(gt=0, le=5)


class DyeSpec(StrictModel):
    """The volume-marker dye filling the cell (Alexa Fluor 594 by default)."""

    name: str = "alexa594"
    concentration_uM: float = Field(default=30.0, gt=0)
    diffusion_um2_per_ms: float = Field(default=0.12, gt=0)


class SomaSpec(StrictModel):
    """Passive soma as seen by the patch pipette."""

    resting_mV: float = -70.0
    input_resistance_MOhm: float = Field(default=150.0, gt=0)
    capacitance_pF: float = Field(default=100.0, gt=0)
    series_resistance_MOhm: float = Field(default=12.0, gt=0)
    current_noise_pA: float = Field(default=2.0, ge=0)
    voltage_noise_mV: float = Field(default=0.1, ge=0)


class OpticsSpec(StrictModel):
    """Two-photon optics and detectors: PSF, brightness, bleaching and PMT dark counts."""

    psf_sigma_xy_um: float = Field(default=0.17, gt=0)
    psf_sigma_z_um: float = Field(default=0.5, gt=0)
    dendrite_peak_photons_per_ms: float = Field(
        default=1000.0, gt=0, description="photon rate at the dendrite centre at the reference power"
    )
    reference_power_fraction: float = Field(default=0.1, gt=0, le=1)
    bleach_rate_per_ms_at_full_power: float = Field(
        default=2.1, ge=0, description="head bleach rate with the beam parked on it at power fraction 1"
    )
    bleach_power_order: float = Field(default=3.0, gt=0, description="multiphoton order of bleaching")
    dark_counts_per_s: float = Field(default=500.0, ge=0)


class SimulationSpec(StrictModel):
    """Everything the simulated rig needs: specimen, optics, noise seed and pacing."""

    seed: int = 0
    pace: Literal["fast", "realtime"] = "fast"
    chunk_ms: float = Field(default=20.0, gt=0, le=1000)
    cytoplasm_resistivity_ohm_cm: float = Field(default=150.0, gt=0)
    dendrite: DendriteSpec = DendriteSpec()
    spines: list[SpineSpec] = Field(min_length=1)
    dye: DyeSpec = DyeSpec()
    soma: SomaSpec = SomaSpec()
    optics: OpticsSpec = OpticsSpec()
