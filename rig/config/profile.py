"""Hardware profile schema: the rig (devices, DAQ, Micro-Manager, site, budgets) and its loading from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from rig.config.backend_registry import backend_problem
from rig.config.base import StrictModel
from rig.config.budgets import BudgetSpec
from rig.config.device_specs import (
    CameraSpec,
    DaqSpec,
    DeviceSpec,
    GalvoScannerSpec,
    LedSourceSpec,
    PatchAmplifierSpec,
    PockelsLaserSpec,
    ShutterSpec,
    SpecT,
    StimulusIsolatorSpec,
)
from rig.config.problems import InvalidInput, Problem
from rig.config.sections import SimulatedRigSection, validate_section
from rig.config.yaml_loading import read_yaml, validate_data


class MicroManagerLoadSpec(StrictModel):
    """One device to load in Micro-Manager: adapter library, device name, pre-init properties."""

    library: str = Field(description="adapter library (e.g. 'CoolLED') or a Python module for Python devices")
    adapter_device: str = Field(description="device name inside the library")
    properties: dict[str, str] = Field(default_factory=dict, description="set before initialization")


class MicroManagerSpec(StrictModel):
    """The Micro-Manager core: where adapters live, a config file and/or devices to load by label."""

    adapter_path: str | None = Field(default=None, description="Micro-Manager folder (default: pymmcore-plus's)")
    config_file: str | None = Field(default=None, description="a Micro-Manager .cfg loaded first")
    devices: dict[str, MicroManagerLoadSpec] = Field(default_factory=dict)


class SiteSpec(StrictModel):
    """Who runs this rig, for exported files (NWB): CLI options override these."""

    lab: str | None = Field(default=None, max_length=200)
    institution: str | None = Field(default=None, max_length=200)
    experimenters: list[str] = Field(default_factory=list, max_length=20, description="'Last, First' each")


class HardwareProfile(StrictModel):
    """A rig description: devices, backends, channels, limits and (for simulated rigs) the specimen."""

    name: str
    site: SiteSpec | None = None
    backend: str = Field(description="default backend for every device, e.g. 'simulated' or 'ni'")
    daq: DaqSpec
    devices: dict[str, DeviceSpec]
    simulation: SerializeAsAny[SimulatedRigSection] | None = None  # validated by the simulated backend's schema
    micromanager: MicroManagerSpec | None = None
    budgets: BudgetSpec | None = Field(default=None, description="per-spine light and depolarization budgets "
                                       "(a protocol's own budgets replace these)")

    @field_validator("backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        problem = backend_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _names(self) -> "HardwareProfile":
        for name in self.devices:
            if not name.isidentifier():
                raise ValueError(f"device name '{name}' must be a plain identifier (letters, digits, _)")
        return self

    def devices_of_kind(self, kind: str) -> dict[str, DeviceSpec]:
        """Devices of one kind, by name."""
        return {n: d for n, d in self.devices.items() if d.kind == kind}

    def devices_of_type(self, spec_type: type[SpecT]) -> dict[str, SpecT]:
        """Devices whose spec is of one type, by name: devices_of_kind, typed."""
        return {n: d for n, d in self.devices.items() if isinstance(d, spec_type)}

    def device(self, name: str, spec_type: type[SpecT]) -> SpecT:
        """The named device's spec, typed; KeyError if absent, TypeError if it is another kind."""
        spec = self.devices[name]
        if not isinstance(spec, spec_type):
            raise TypeError(f"device '{name}' is a {spec.kind}, not a {spec_type.__name__}")
        return spec

    def amplifier(self, name: str) -> PatchAmplifierSpec:
        """The named patch amplifier's spec."""
        return self.device(name, PatchAmplifierSpec)

    def scanner(self, name: str) -> GalvoScannerSpec:
        """The named galvo scanner's spec."""
        return self.device(name, GalvoScannerSpec)

    def laser(self, name: str) -> PockelsLaserSpec:
        """The named Pockels-gated laser's spec."""
        return self.device(name, PockelsLaserSpec)

    def led_source(self, name: str) -> LedSourceSpec:
        """The named LED source's spec."""
        return self.device(name, LedSourceSpec)

    def camera(self, name: str) -> CameraSpec:
        """The named camera's spec."""
        return self.device(name, CameraSpec)

    def stimulator(self, name: str) -> StimulusIsolatorSpec:
        """The named stimulus isolator's spec."""
        return self.device(name, StimulusIsolatorSpec)

    def shutter(self, name: str) -> ShutterSpec:
        """The named shutter's spec."""
        return self.device(name, ShutterSpec)


@dataclass(frozen=True)
class LoadedProfile:
    """A validated profile together with its source path and text (stored with every run)."""

    path: Path
    text: str
    profile: HardwareProfile


DEFAULT_PROFILE = Path("hardware_profiles") / "simulated.yaml"


def default_profile_path() -> Path:
    """The simulated profile: ./hardware_profiles/simulated.yaml, else the one beside the package."""
    local = Path.cwd() / DEFAULT_PROFILE
    return local if local.exists() else Path(__file__).resolve().parents[2] / DEFAULT_PROFILE


def load_profile(path: Path) -> LoadedProfile:
    """Load and validate a hardware profile; raise InvalidInput with one Problem per fault."""
    text, data = read_yaml(path)
    return profile_from_data(path, text, data)


def profile_from_data(path: Path, text: str, data: object) -> LoadedProfile:
    """Validate a profile already read (by read_yaml) from `path`; raise InvalidInput on any fault.

    The `simulation:` section is validated by the simulated backend's own schema (rig.config.sections), the rest
    by HardwareProfile; the problems of both are reported together."""
    section = data.get("simulation") if isinstance(data, dict) else None
    rest = {k: v for k, v in data.items() if k != "simulation"} if isinstance(data, dict) else data
    problems: list[Problem] = []
    profile = simulation = None
    try:
        profile = validate_data(HardwareProfile, rest, str(path))
    except InvalidInput as exc:
        problems += exc.problems
    if section is not None:
        try:
            simulation = validate_section("simulation", section, str(path), SimulatedRigSection)
        except InvalidInput as exc:
            problems += exc.problems
    if problems or profile is None:
        raise InvalidInput(problems)
    if simulation is not None:
        profile = profile.model_copy(update={"simulation": simulation})
    return LoadedProfile(path, text, profile)
