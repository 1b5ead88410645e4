"""Device specs of a hardware profile: each device's backend, logical channels and safety limits."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar, Union

from pydantic import Field, model_validator

from rig.config.base import StrictModel

Range = tuple[float, float]

# Sanity bounds of the limits themselves: a limit beyond these is a typo, and a huge limit
# switches its check off as surely as an infinite one.
MAX_SAMPLE_RATE_HZ = 1e8  # fastest DAQ clock any supported board offers (100 MHz timebase)
MAX_LIMIT_MS = 60_000.0  # no light or stimulus pulse is allowed longer than the longest sweep (60 s)
MAX_SENSOR_PX = 16_384
MAX_COUNT = 100_000


def _check_range(value: Range, name: str) -> None:
    if value[0] >= value[1]:
        raise ValueError(f"{name} must be [low, high] with low < high")


def _check_within(value: Range, name: str, bound: float, unit: str) -> None:
    if max(abs(value[0]), abs(value[1])) > bound:
        raise ValueError(f"{name} must lie within [-{bound:g}, {bound:g}] {unit} (got [{value[0]:g}, {value[1]:g}])")


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
        _check_within(self.holding_mV, "holding_mV", 1000.0, "mV")
        _check_within(self.holding_pA, "holding_pA", 20_000.0, "pA")
        return self


class AmplifierScaling(StrictModel):
    """How the amplifier's command input and scaled outputs map to DAQ volts (MultiClamp 700B defaults)."""

    vc_command_mV_per_V: float = Field(default=20.0, gt=0, description="external command sensitivity in VC")
    cc_command_pA_per_V: float = Field(default=400.0, gt=0, description="external command sensitivity in CC")
    vc_primary_mV_per_pA: float = Field(default=0.5, gt=0, description="membrane current output at gain 1 (0.5 V/nA)")
    cc_primary_mV_per_mV: float = Field(default=10.0, gt=0, description="membrane potential output at gain 1")
    vc_secondary_mV_per_mV: float = Field(default=10.0, gt=0, description="membrane potential on the secondary in VC")
    cc_secondary_mV_per_pA: float = Field(default=0.5, gt=0, description="membrane current on the secondary in CC")
    primary_gain: float = Field(default=1.0, gt=0, description="output gain the protocol expects on the primary")
    secondary_gain: float = Field(default=1.0, gt=0, description="output gain of the secondary")
    command_range_V: Range = (-10.0, 10.0)
    input_range_V: Range = (-10.0, 10.0)

    @model_validator(mode="after")
    def _ranges(self) -> "AmplifierScaling":
        _check_range(self.command_range_V, "command_range_V")
        _check_range(self.input_range_V, "input_range_V")
        return self


class TelegraphSpec(StrictModel):
    """Analog telegraph inputs that report the amplifier's mode and primary gain as voltages."""

    mode: str | None = Field(default=None, description="AI address of the mode telegraph")
    gain: str | None = Field(default=None, description="AI address of the gain telegraph")
    mode_levels_V: dict[Literal["VC", "CC", "I0"], float] = Field(default_factory=dict)
    gain_levels_V: list[tuple[float, float]] = Field(
        default_factory=list, description="[gain, volts] pairs of the gain telegraph")
    tolerance_V: float = Field(default=0.2, gt=0)

    @model_validator(mode="after")
    def _tables(self) -> "TelegraphSpec":
        if self.mode is not None and not self.mode_levels_V:
            raise ValueError("a mode telegraph channel needs mode_levels_V")
        if self.gain is not None and not self.gain_levels_V:
            raise ValueError("a gain telegraph channel needs gain_levels_V")
        return self


class CommanderSpec(StrictModel):
    """MultiClamp Commander (Windows) as the source of the amplifier's mode and gains (rig/backends/multiclamp)."""

    serial: str | None = Field(default=None, max_length=16,
                               description="700B serial number as Commander shows it; None: the only one")
    channel: Literal[1, 2] = 1
    dll_path: str | None = Field(default=None, max_length=260, description="AxMultiClampMsg.dll, if not installed "
                                 "in Commander's default folder")
    timeout_ms: int = Field(default=3000, ge=100, le=30000)
    on_gain_change: Literal["refuse", "follow"] = Field(
        default="refuse", description="a primary gain changed mid-run: refuse the sweep, or scale with the new gain")


class PatchAmplifierSpec(StrictModel):
    """A whole-cell patch-clamp amplifier (Multiclamp 700B class)."""

    kind: Literal["patch_amplifier"]
    backend: str | None = None
    channels: AmplifierChannels
    safe_mode: Literal["VC", "CC"] = "VC"
    safe_holding_mV: float = -70.0
    safe_holding_pA: float = 0.0
    limits: AmplifierLimits = AmplifierLimits()
    model: str | None = Field(default=None, description="amplifier model, e.g. 'MultiClamp 700B'")
    scaling: AmplifierScaling = AmplifierScaling()
    telegraph: TelegraphSpec | None = None
    commander: CommanderSpec | None = Field(default=None, description="read mode and gains from MultiClamp "
                                            "Commander before every sweep (instead of telegraph voltages)")

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
    invert: bool = Field(default=False, description="preamp gives negative volts for light")
    dark_offset_V: float = Field(default=0.0, description="preamp output with the shutter closed")
    range_V: Range = (-10.0, 10.0)


class ScannerChannels(StrictModel):
    """Hardware addresses of the galvo command outputs."""

    x: str
    y: str


class ScannerLimits(StrictModel):
    """Limits of a galvo scanner."""

    max_line_rate_hz: float = Field(gt=0, le=1e6)
    field_half_width_um: float = Field(gt=0, le=10_000, description="half the scan field (<= 1 cm)")
    max_pixels_per_line: int = Field(default=512, gt=0, le=MAX_COUNT)


class GalvoScannerSpec(StrictModel):
    """A two-photon galvo-galvo scanner with its PMTs."""

    kind: Literal["galvo_scanner"]
    backend: str | None = None
    channels: ScannerChannels
    pmts: dict[str, PmtSpec]
    volts_per_um: float = Field(default=0.01, gt=0)
    limits: ScannerLimits
    volts_per_um_y: float | None = Field(default=None, gt=0, description="y calibration when it differs from x")
    offset_V: tuple[float, float] = Field(default=(0.0, 0.0), description="galvo volts at the field centre")
    max_command_V: float = Field(default=10.0, gt=0, description="galvo command limit (|V|)")
    line_phase_us: float = Field(default=0.0, description="PMT samples lag the command by this much")


class LaserChannels(StrictModel):
    """Hardware address of the Pockels-cell control."""

    power: str


class LaserLimits(StrictModel):
    """Light limits: imaging power, bleach power and bleach duration."""

    max_imaging_power_fraction: float = Field(gt=0, le=1)
    max_bleach_power_fraction: float = Field(gt=0, le=1)
    max_bleach_duration_ms: float = Field(gt=0, le=MAX_LIMIT_MS)

    @model_validator(mode="after")
    def _order(self) -> "LaserLimits":
        if self.max_bleach_power_fraction < self.max_imaging_power_fraction:
            raise ValueError("max_bleach_power_fraction must be >= max_imaging_power_fraction")
        return self


class PockelsCalibrationSpec(StrictModel):
    """Measured Pockels power curve: [volts, power fraction] points, power rising with volts."""

    points: list[tuple[float, float]] = Field(min_length=2)

    @model_validator(mode="after")
    def _monotonic(self) -> "PockelsCalibrationSpec":
        volts = [v for v, _ in self.points]
        power = [p for _, p in self.points]
        if any(b <= a for a, b in zip(volts, volts[1:])):
            raise ValueError("calibration volts must increase strictly")
        if any(b <= a for a, b in zip(power, power[1:])):
            raise ValueError("calibration power fractions must increase strictly with volts")
        if power[0] > 0.0 or power[-1] < 1.0 or power[0] < 0.0 or power[-1] > 1.0:
            raise ValueError("calibration power fractions must span exactly 0 to 1 (normalize to the maximum)")
        return self


class PockelsLaserSpec(StrictModel):
    """A pulsed laser gated by a Pockels cell."""

    kind: Literal["pockels_laser"]
    backend: str | None = None
    wavelength_nm: float = Field(gt=0)
    channels: LaserChannels
    limits: LaserLimits
    calibration: PockelsCalibrationSpec | None = None


class MicroManagerDeviceRef(StrictModel):
    """A device loaded in Micro-Manager, and properties to set on it when the rig is built."""

    device: str = Field(description="Micro-Manager device label")
    properties: dict[str, str] = Field(default_factory=dict)
    safe_properties: dict[str, str] = Field(default_factory=dict, description="set when made safe")


class ShutterChannels(StrictModel):
    """Hardware address of the shutter TTL."""

    open: str


class ShutterSpec(StrictModel):
    """A light shutter driven by TTL."""

    kind: Literal["shutter"]
    backend: str | None = None
    channels: ShutterChannels
    micromanager: MicroManagerDeviceRef | None = None


class LedSpec(StrictModel):
    """One LED of an excitation-switching source."""

    channel: str
    wavelength_nm: float = Field(gt=0)
    max_duty_fraction: float = Field(gt=0, le=1)
    power_mW: float | None = Field(default=None, gt=0, le=10_000, description="light power at the sample when on "
                                   "(for light budgets; measured with a power meter)")


class LedSourceSpec(StrictModel):
    """A set of TTL-switched LEDs."""

    kind: Literal["led_source"]
    backend: str | None = None
    leds: dict[str, LedSpec]
    micromanager: MicroManagerDeviceRef | None = None
    clock: Literal["master", "camera_exposure"] = Field(
        default="master", description="'camera_exposure': the LED lines step once per frame on the camera's "
        "exposure-out signal instead of the master sample clock")
    exposure_out_terminal: str | None = Field(default=None, description="e.g. /Dev1/PFI0, wired to exposure-out")

    @model_validator(mode="after")
    def _terminal_for_exposure_clock(self) -> "LedSourceSpec":
        if self.clock == "camera_exposure" and not self.exposure_out_terminal:
            raise ValueError("clock 'camera_exposure' needs exposure_out_terminal (the PFI line wired to the "
                             "camera's exposure output)")
        return self


class StimulatorChannels(StrictModel):
    """Hardware address of the stimulus trigger (amplitude in volts where analog)."""

    trigger: str


class StimulatorLimits(StrictModel):
    """Limits of a stimulus isolator."""

    max_amplitude_V: float = Field(gt=0, le=100, description="trigger amplitude limit (DAQ outputs are <= 10 V)")
    max_pulse_ms: float = Field(gt=0, le=MAX_LIMIT_MS)


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
    sensor_px: tuple[Annotated[int, Field(gt=0, le=MAX_SENSOR_PX)], Annotated[int, Field(gt=0, le=MAX_SENSOR_PX)]] = (80, 80)
    pixel_size_um: float = Field(default=0.4, gt=0, le=1000)
    max_frame_rate_hz: float = Field(default=2000.0, gt=0, le=1e6)
    micromanager: MicroManagerDeviceRef | None = None


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

SpecT = TypeVar("SpecT", PatchAmplifierSpec, GalvoScannerSpec, PockelsLaserSpec, ShutterSpec, LedSourceSpec,
                StimulusIsolatorSpec, CameraSpec)


class DaqTimingSpec(StrictModel):
    """How the one sample clock of a sweep is made: the AI sample clock, or a counter dividing a timebase."""

    clock: Literal["ai", "counter"] = "ai"
    counter: str = Field(default="ctr0", description="counter that generates the clock when clock is 'counter'")
    timebase: str = Field(default="100MHzTimebase", description="terminal the counter divides")
    timebase_hz: float = Field(default=100e6, gt=0, le=1e10)
    read_chunk_ms: float = Field(default=20.0, gt=0, le=1000)
    ai_terminal_config: Literal["default", "rse", "nrse", "diff", "pseudo_diff"] = "default"
    ttl_high_V: float = Field(default=5.0, gt=0, description="TTL high level when a TTL is wired to an AO")


class DaqSpec(StrictModel):
    """The master clock that times every sample of a sweep."""

    backend: str | None = None
    device: str = "Dev1"
    max_sample_rate_hz: float = Field(gt=0, le=MAX_SAMPLE_RATE_HZ)
    # bounds as rig.hal.watchdog.MIN_TIMEOUT_MS / MAX_TIMEOUT_MS (that module imports this one)
    watchdog_timeout_ms: float | None = Field(
        default=None, ge=50.0, le=30_000.0,
        description="hardware watchdog timeout: outputs go safe this long after the program stops (default 500)")
    timing: DaqTimingSpec = DaqTimingSpec()
