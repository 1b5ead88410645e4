"""Description of the simulated specimen: the cell, its spines, ions, dyes, optics (pure data, pydantic only:
`rig validate` imports this module to check a profile's `simulation:` section, nothing else of the simulation).

Every field has a default, so a profile only states what differs from the standard
CA1-like cell of docs/specimen.md. Magnitudes and sources are listed there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.config.hidden_calibration import HiddenCalibrationSpec
from rig.config.sections import SimulatedRigSection

if TYPE_CHECKING:
    from rig.config.profile import HardwareProfile


class DendriteSpec(StrictModel):
    """The imaged dendrite: straight along y in the sample plane, part of a longer cable."""

    x_um: float = 0.0
    diameter_um: float = Field(default=1.0, gt=0)
    length_um: float = Field(default=60.0, gt=0, description="imaged length (rendered)")
    cable_length_um: float = Field(default=250.0, gt=0, description="electrical cable from the soma")
    distance_from_soma_um: float = Field(default=175.0, ge=0, description="cable distance of y = 0")
    n_segments: int = Field(default=125, ge=1, le=1000)


class SpineSpec(StrictModel):
    """One spine: position, geometry, and its synapse (strengths relative to the cell's synapse)."""

    name: str
    y_um: float = Field(description="position along the dendrite")
    side: Literal[-1, 1] = 1
    neck_length_um: float = Field(gt=0, le=5)
    neck_radius_um: float = Field(gt=0, le=1)
    head_volume_um3: float = Field(gt=0, le=5)
    release_probability: float = Field(default=0.3, ge=0, le=1, description="at 2 mM external Ca")
    ampa_scale: float = Field(default=1.0, ge=0)
    nmda_scale: float = Field(default=1.0, ge=0)
    stimulated: bool = Field(default=True, description="its axon is recruited by the stimulus electrode")


class PopulationSpec(StrictModel):
    """Extra spines drawn reproducibly from distributions (SCIENCE.md magnitudes)."""

    count: int = Field(default=0, ge=0, le=500)
    seed: int | None = Field(default=None, description="defaults to the simulation seed")
    y_range_um: tuple[float, float] = (-30.0, 30.0)
    neck_length_um: tuple[float, float] = (0.08, 1.6)
    neck_diameter_um: tuple[float, float] = (0.04, 0.46)
    head_volume_um3: tuple[float, float] = (0.01, 0.6)
    release_probability: tuple[float, float] = (0.09, 0.5)
    silent_fraction: float = Field(default=0.1, ge=0, le=1, description="spines with little NMDA current")


class DyeSpec(StrictModel):
    """The volume-marker dye filling the cell (Alexa Fluor 594 by default)."""

    name: str = "alexa594"
    concentration_uM: float = Field(default=30.0, gt=0)
    diffusion_um2_per_ms: float = Field(default=0.12, gt=0)


class SomaSpec(StrictModel):
    """The soma as seen by the patch pipette; capacitance and input resistance set the membrane."""

    resting_mV: float = -70.0
    input_resistance_MOhm: float = Field(default=150.0, gt=0)
    capacitance_pF: float = Field(default=100.0, gt=0)
    series_resistance_MOhm: float = Field(default=12.0, gt=0)
    current_noise_pA: float = Field(default=2.0, ge=0)
    voltage_noise_mV: float = Field(default=0.1, ge=0)
    spiking: bool = Field(default=True, description="Hodgkin-Huxley Na/K channels in the soma")
    k_activation_shift_mV: float = Field(default=10.0, description="K activation shift (less resting K)")
    k_inactivation_tau_ms: float = Field(default=1000.0, ge=0, description="slow K inactivation; 0: none")
    k_inactivation_half_mV: float = -55.0
    k_inactivation_slope_mV: float = Field(default=5.0, gt=0)
    k_inactivation_floor: float = Field(
        default=0.0, ge=0, le=1, description="K conductance fraction that never inactivates (with none, a soma "
        "held depolarized for a minute sits at ~+15 mV in CC until held back at rest for ~s; 0.3 removes that "
        "but lets K currents escape the somatic clamp at depolarized holdings)")


class SynapseParams(StrictModel):
    """AMPA + NMDA synapse shared by all spines (per-spine scale factors on SpineSpec)."""

    ampa_g_nS: float = Field(default=0.5, ge=0)
    ampa_tau_rise_ms: float = Field(default=0.3, gt=0)
    ampa_tau_decay_ms: float = Field(default=2.0, gt=0)
    nmda_g_nS: float = Field(default=0.2, ge=0, description="peak NMDA conductance without Mg block")
    nmda_ca_fraction_at_rest: float = Field(
        default=0.0075, ge=0, lt=1, description="Ca share of the (ohmic) NMDA current at -70 mV; sets Ca per quantum")
    nmda_tau_rise_ms: float = Field(default=13.0, gt=0)
    nmda_tau_decay_ms: float = Field(default=70.0, gt=0)
    head_ca_channel_mS_per_cm2: float = Field(default=1.0, ge=0, description="R-type Ca on spine heads")
    quantal_cv: float = Field(default=0.25, ge=0, description="CV of the quantal amplitude")


class StimulationSpec(StrictModel):
    """How a stimulus-isolator pulse recruits synapses."""

    threshold_V: float = Field(default=0.05, gt=0, description="|trigger| above this is a pulse")
    facilitation_increment: float = Field(default=0.8, ge=0, description="added to p-facilitation per pulse")
    facilitation_tau_ms: float = Field(default=100.0, gt=0)
    background_synapses: int = Field(default=8, ge=0, le=100)
    background_release_probability: float = Field(default=0.3, ge=0, le=1)
    background_nmda_scale: float = Field(
        default=1.0, ge=0, description="NMDA of background synapses relative to synapse.nmda_g_nS")
    background_spread_um: float = Field(default=20.0, ge=0, description="+- around the imaged region")


class CalciumSpec(StrictModel):
    """Head calcium: indicator, endogenous buffer, extrusion, diffusion through the neck."""

    indicator: Literal["fluo-5F", "OGB-1", "bis-fura-2", "calcium green-1", "magnesium green", "fura-FF"] = "fluo-5F"
    indicator_uM: float = Field(default=300.0, ge=0)
    rest_uM: float = Field(default=0.075, gt=0)
    endogenous_kappa: float = Field(default=20.0, ge=0)
    tau_extrusion_no_dye_ms: float = Field(default=12.0, gt=0, description="decay without dye or neck loss")
    diffusion_um2_per_ms: float = Field(default=0.22, gt=0, description="free Ca2+ in cytoplasm")
    indicator_diffusion_um2_per_ms: float = Field(default=0.12, gt=0)


class SodiumSpec(StrictModel):
    """Head sodium: AMPA/NMDA entry and diffusion through the neck (pumps are slow: ignored)."""

    indicator: Literal["ANG-2", "SBFI"] | None = "ANG-2"
    indicator_uM: float = Field(default=0.0, ge=0, description="0: not loaded")
    rest_mM: float = Field(default=4.0, gt=0)
    diffusion_um2_per_ms: float = Field(default=0.6, gt=0)


class VsdSpec(StrictModel):
    """A voltage-sensitive dye whose fluorescence changes in proportion to membrane potential."""

    concentration_uM: float = Field(default=0.0, ge=0, description="0: not loaded")
    fraction_per_100mV: float = Field(default=-0.1)
    emission_nm: float = Field(default=640.0, gt=0)


class PharmacologySpec(StrictModel):
    """The bath: external Ca and Mg and receptor/channel blockers."""

    external_ca_mM: float = Field(default=2.0, ge=0, description="0: calcium-free saline")
    mg_mM: float = Field(default=1.0, ge=0)
    block_ampa: bool = False
    block_nmda: bool = False
    block_r_type_ca: bool = False
    block_soma_na: bool = False
    block_soma_k: bool = False


class PlasticitySpec(StrictModel):
    """Neck plasticity from bursts of Ca entry through the head's voltage-gated channels (see plasticity.py)."""

    enabled: bool = True
    sensor_tau_ms: float = Field(default=200.0, gt=0, description="memory of the Ca sensor (low-pass of the current)")
    sensor_half_pA_per_um2: float = Field(
        default=0.006, gt=0, description="filtered VGCC Ca current density for half activation (0 mV steady: ~0.0036)")
    sensor_hill: float = Field(default=6.0, gt=0, description="cooperativity of the sensor (a soft threshold)")
    signal_half_s: float = Field(default=3.52, gt=0, description="integrated activation S (s) for G_max / 2")
    signal_hill: float = Field(default=3.0, gt=0, description="steepness of G in S (small signals do little)")
    max_log_fold: float = Field(default=2.4, ge=0, description="G saturates here (fold e^G, x11)")


class DamageSpec(StrictModel):
    """Photodamage: responses run down with the cumulative light dose on a spine."""

    half_dose_2p_ms: float = Field(default=60.0, gt=0, description="full-power-equivalent ms of 2P on the head")
    half_dose_led_ms: float = Field(default=1500.0, gt=0, description="ms of LED exposure at full intensity")


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
    indicator_bleach_factor: float = Field(default=0.5, ge=0, description="indicator bleach rate / Alexa's")
    dark_counts_per_s: float = Field(default=500.0, ge=0)


class WidefieldSpec(StrictModel):
    """Widefield optics in front of the simulated CCD."""

    emission: str = Field(default="530/100", description="camera emission filter band, centre/width nm")
    psf_sigma_um: float = Field(default=0.25, gt=0)
    photons_per_ms: float = Field(default=2000.0, gt=0, description="per um^3 of weight-1 emitter at full LED")
    read_noise_e: float = Field(default=10.0, ge=0)
    led_drift_per_sweep: float = Field(default=-0.04, ge=-0.5, le=0.5)
    drift_um_per_min: tuple[float, float] = Field(
        default=(0.3, -0.18), description="slow slice drift in simulated time (not per sweep: live view runs many)")


class SimulationSpec(SimulatedRigSection):
    """Everything the simulated rig needs: specimen, optics, noise seed and pacing (`pace`, the part rig reads).

    The schema of a profile's `simulation:` section, supplied to rig/config through the backend registry."""

    seed: int = 0
    chunk_ms: float = Field(default=20.0, gt=0, le=1000, description="the physics' segment, and a paced read")
    fast_read_ms: float = Field(default=250.0, gt=0, le=5000,
                                description="samples per read when not paced (whole segments; the physics unchanged)")
    electrical_dt_ms: float = Field(default=0.1, gt=0, le=0.5, description="steps near command changes")
    coarse_dt_ms: float = Field(default=0.25, gt=0, le=1.0, description="steps around synaptic events")
    tail_dt_ms: float = Field(default=0.5, gt=0, le=2.0, description="steps while responses only decay")
    ion_dt_ms: float = Field(default=0.5, gt=0, le=5.0)
    cytoplasm_resistivity_ohm_cm: float = Field(default=150.0, gt=0)
    dendrite: DendriteSpec = DendriteSpec()
    spines: list[SpineSpec] = Field(default_factory=list)
    population: PopulationSpec = PopulationSpec()
    dye: DyeSpec = DyeSpec()
    soma: SomaSpec = SomaSpec()
    synapse: SynapseParams = SynapseParams()
    stimulation: StimulationSpec = StimulationSpec()
    calcium: CalciumSpec = CalciumSpec()
    sodium: SodiumSpec = SodiumSpec()
    vsd: VsdSpec = VsdSpec()
    pharmacology: PharmacologySpec = PharmacologySpec()
    plasticity: PlasticitySpec = PlasticitySpec()
    damage: DamageSpec = DamageSpec()
    optics: OpticsSpec = OpticsSpec()
    widefield: WidefieldSpec = WidefieldSpec()
    hidden_calibration: HiddenCalibrationSpec = HiddenCalibrationSpec()  # identity unless asked (rig calibrate)

    @model_validator(mode="after")
    def _has_spines(self) -> "SimulationSpec":
        if not self.spines and self.population.count == 0:
            raise ValueError("the specimen needs spines: list some under 'spines' or draw a 'population'")
        names = [s.name for s in self.spines]
        if len(set(names)) != len(names):
            raise ValueError("spine names must be unique")
        return self


def simulation_of(profile: HardwareProfile) -> SimulationSpec:
    """The profile's `simulation:` section as the simulated backend's schema; TypeError when it has none."""
    sim = profile.simulation
    if not isinstance(sim, SimulationSpec):
        raise TypeError(f"profile '{profile.name}' has no simulation section for the simulated backend")
    return sim
