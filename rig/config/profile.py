"""Hardware profile schema: each device, its backend, its logical channels and its safety limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.config.simulation import SimulationSpec
from rig.config.yaml_loading import read_yaml, validate_data

Range = tuple[float, float]


def _check_range(value: Range, name: str) -> None:
    if value[0] >= value[1]:
        raise ValueError(f"{name} must be [low, high] with low < high")


class AmplifierChannels(StrictModel):
    """Hardware addresses of an amplifier's command output and scaled readouts."""

    command: str
    primary: str
    secondary: str | None = None


class AmplifierLimits(StrictModel):
    """Safe operating ranges of a patch amplifier."""

    holding_mV: Range = (-100.0, 40.0)
    holding_pA: Range = (-1000.0, 2000.0)

    @model_validator(mode="after")
    def _ranges(self) -> "AmplifierLimits":
        _check_range(self.holding_mV, "holding_mV")
        _check_range(self.holding_pA, "holding_pA")
        return self


class PatchAmplifierSpec(StrictModel):
    """A whole-cell patch-clamp amplifier (Multiclamp 700B class)."""

    kind: Literal["patch_amplifier"]
    backend: str | None = None
    channels: AmplifierChannels
    safe_mode: Literal["VC", "CC"] = "VC"
    safe_holding_mV: float = -70.0
    safe_holding_pA: float = 0.0
    limits: AmplifierLimits = AmplifierLimits()

    @model_validator(mode="after")
    def _safe_inside_limits(self) -> "PatchAmplifierSpec":
        low, high = self.limits.holding_mV
        if not low <= self.safe_holding_mV <= high:
            raise ValueError(f"safe_holding_mV {self.safe_holding_mV} is outside limits.holding_mV [{low}, {high}]")
        return self


class PmtSpec(StrictModel):
    """One photomultiplier channel of a scanner."""

    channel: str
    emission: str = Field(description="filter band, e.g. '525/50'")


class ScannerChannels(StrictModel):
    """Hardware addresses of the galvo command outputs."""

    x: str
    y: str


class ScannerLimits(StrictModel):
    """Limits of a galvo scanner."""

    max_line_rate_hz: float = Field(gt=0)
    field_half_width_um: float = Field(gt=0)
    max_pixels_per_line: int = Field(default=512, gt=0)


class GalvoScannerSpec(StrictModel):
    """A two-photon galvo-galvo scanner with its PMTs."""

    kind: Literal["galvo_scanner"]
    backend: str | None = None
    channels: ScannerChannels
    pmts: dict[str, PmtSpec]
    volts_per_um: float = Field(default=0.01, gt=0)
    limits: ScannerLimits


class LaserChannels(StrictModel):
    """Hardware address of the Pockels-cell control."""

    power: str


class LaserLimits(StrictModel):
    """Light limits: imaging power, bleach power and bleach duration."""

    max_imaging_power_fraction: float = Field(gt=0, le=1)
    max_bleach_power_fraction: float = Field(gt=0, le=1)
    max_bleach_duration_ms: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> "LaserLimits":
        if self.max_bleach_power_fraction < self.max_imaging_power_fraction:
            raise ValueError("max_bleach_power_fraction must be >= max_imaging_power_fraction")
        return self


class PockelsLaserSpec(StrictModel):
    """A pulsed laser gated by a Pockels cell."""

    kind: Literal["pockels_laser"]
    backend: str | None = None
    wavelength_nm: float = Field(gt=0)
    channels: LaserChannels
    limits: LaserLimits


class ShutterChannels(StrictModel):
    """Hardware address of the shutter TTL."""

    open: str


class ShutterSpec(StrictModel):
    """A light shutter driven by TTL."""

    kind: Literal["shutter"]
    backend: str | None = None
    channels: ShutterChannels


class LedSpec(StrictModel):
    """One LED of an excitation-switching source."""

    channel: str
    wavelength_nm: float = Field(gt=0)
    max_duty_fraction: float = Field(gt=0, le=1)


class LedSourceSpec(StrictModel):
    """A set of TTL-switched LEDs."""

    kind: Literal["led_source"]
    backend: str | None = None
    leds: dict[str, LedSpec]


class StimulatorChannels(StrictModel):
    """Hardware address of the stimulus trigger (amplitude in volts where analog)."""

    trigger: str


class StimulatorLimits(StrictModel):
    """Limits of a stimulus isolator."""

    max_amplitude_V: float = Field(gt=0)
    max_pulse_ms: float = Field(gt=0)


class StimulusIsolatorSpec(StrictModel):
    """A stimulus isolator for extracellular synaptic stimulation."""

    kind: Literal["stimulus_isolator"]
    backend: str | None = None
    channels: StimulatorChannels
    limits: StimulatorLimits


class CameraChannels(StrictModel):
    """Hardware address of the camera's frame trigger."""

    trigger: str


class CameraSpec(StrictModel):
    """A fast CCD camera (NeuroCCD-SMQ class)."""

    kind: Literal["camera"]
    backend: str | None = None
    channels: CameraChannels
    sensor_px: tuple[int, int] = (80, 80)
    pixel_size_um: float = Field(default=0.4, gt=0)
    max_frame_rate_hz: float = Field(default=2000.0, gt=0)


DeviceSpec = Annotated[
    Union[
        PatchAmplifierSpec,
        GalvoScannerSpec,
        PockelsLaserSpec,
        ShutterSpec,
        LedSourceSpec,
        StimulusIsolatorSpec,
        CameraSpec,
    ],
    Field(discriminator="kind"),
]


class DaqSpec(StrictModel):
    """The master clock that times every sample of a sweep."""

    backend: str | None = None
    device: str = "Dev1"
    max_sample_rate_hz: float = Field(gt=0)


class HardwareProfile(StrictModel):
    """A rig description: devices, backends, channels, limits and (for simulated rigs) the specimen."""

    name: str
    backend: str = Field(description="default backend for every device, e.g. 'simulated' or 'ni'")
    daq: DaqSpec
    devices: dict[str, DeviceSpec]
    simulation: SimulationSpec | None = None

    @model_validator(mode="after")
    def _names(self) -> "HardwareProfile":
        for name in self.devices:
            if not name.isidentifier():
                raise ValueError(f"device name '{name}' must be a plain identifier (letters, digits, _)")
        return self

    def devices_of_kind(self, kind: str) -> dict[str, DeviceSpec]:
        """Devices of one kind, by name."""
        return {n: d for n, d in self.devices.items() if d.kind == kind}


@dataclass(frozen=True)
class LoadedProfile:
    """A validated profile together with its source path and text (stored with every run)."""

    path: Path
    text: str
    profile: HardwareProfile


def load_profile(path: Path) -> LoadedProfile:
    """Load and validate a hardware profile; raise InvalidInput with one Problem per fault."""
    text, data = read_yaml(path)
    return LoadedProfile(path, text, validate_data(HardwareProfile, data, str(path)))
