"""Logical channels -> DAQ physical channels with ranges, and the scaling between channel units and volts.

One source of the unit <-> volt scaling for every backend that drives a DAQ: the NI clock writes its
result to the board, the simulated DAQ hands it to the simulated board (simulated_devices/driver.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from rig.config.channels import ChannelInfo, logical_channels
from rig.config.profile import HardwareProfile
from rig.devices.driver import AnalogChannel, DigitalChannel, StaticIo
from rig.devices.signals import multiclamp
from rig.devices.signals.addresses import PhysicalChannel, parse_address
from rig.devices.signals.pockels import PockelsCalibration
from rig.devices.signals.reconstruction import pmt_signal
from rig.devices.signals.scanner_calibration import ScannerCalibration
from rig.devices.signals.ttl import to_ttl, ttl_volts


@dataclass
class AmplifierState:
    """What the backend believes an amplifier is set to (updated from telegraphs or the plan)."""

    mode: Literal["VC", "CC"]
    primary_gain: float
    secondary_gain: float


@dataclass(frozen=True)
class DaqChannel:
    """A logical channel on a DAQ physical channel with its voltage range."""

    info: ChannelInfo
    physical: PhysicalChannel
    min_V: float
    max_V: float

    @property
    def io_type(self) -> str:
        """'ai', 'ao' or 'do'."""
        return self.physical.io_type

    def analog_line(self) -> AnalogChannel:
        """This channel as the driver seam names an analog channel."""
        return AnalogChannel(self.physical.name, self.info.name, self.min_V, self.max_V)

    def digital_line(self) -> DigitalChannel:
        """This channel as the driver seam names a digital line."""
        return DigitalChannel(self.physical.name, self.info.name)

    def write_static(self, driver: StaticIo, level: float | bool) -> None:
        """Drive this output to a level (volts on an AO, high/low on a DO) through the driver, now."""
        if self.io_type == "do":
            driver.write_digital(self.digital_line(), bool(level))
        else:
            driver.write_analog(self.analog_line(), float(level))


def effective_backend(profile: HardwareProfile, device: str) -> str:
    """The backend a device uses: its own `backend`, else the profile's."""
    return profile.devices[device].backend or profile.backend


def ni_address(profile: HardwareProfile, info: ChannelInfo, backend_name: str = "ni") -> PhysicalChannel | None:
    """The NI channel behind a logical channel: every channel of an NI device, and any channel of another
    backend's device wired to the DAQ (e.g. a Micro-Manager camera's frame trigger); None otherwise."""
    if effective_backend(profile, info.device) == backend_name:
        return parse_address(info.address)
    try:
        physical = parse_address(info.address)
    except ValueError:
        return None  # e.g. a Micro-Manager shutter, whose 'address' is its device label
    return physical if physical.device == profile.daq.device else None


@dataclass
class ChannelMap:
    """Every DAQ-wired logical channel of a profile, and the conversions between units and volts.

    `pockels_default` is the power curve of a laser whose profile entry has none (the NI backend
    refuses such a profile; the simulated rig uses a nominal linear cell). `skip_unparsed` leaves out
    channels whose address is not a DAQ address instead of raising (the simulated rig takes any label).
    """

    profile: HardwareProfile
    backend_name: str = "ni"
    amplifiers: dict[str, AmplifierState] = field(default_factory=dict)
    channels: dict[str, DaqChannel] = field(default_factory=dict)
    pockels_default: PockelsCalibration | None = None
    skip_unparsed: bool = False

    def __post_init__(self) -> None:
        for name, spec in self.profile.devices.items():
            if spec.kind == "patch_amplifier":
                self.amplifiers[name] = AmplifierState(spec.safe_mode, spec.scaling.primary_gain,
                                                       spec.scaling.secondary_gain)
        for name, info in logical_channels(self.profile).items():
            try:
                physical = ni_address(self.profile, info, self.backend_name)
            except ValueError:
                if not self.skip_unparsed:
                    raise
                physical = None
            if physical is None:
                continue
            low, high = self._range(info, physical)
            self.channels[name] = DaqChannel(info, physical, low, high)

    def _range(self, info: ChannelInfo, physical: PhysicalChannel) -> tuple[float, float]:
        spec = self.profile.devices[info.device]
        ttl_high = self.profile.daq.timing.ttl_high_V
        if spec.kind == "patch_amplifier":
            return spec.scaling.command_range_V if info.direction == "out" else spec.scaling.input_range_V
        if spec.kind == "galvo_scanner":
            if info.direction == "out":
                return -spec.max_command_V, spec.max_command_V
            return spec.pmts[info.role].range_V
        if spec.kind == "pockels_laser" and (calibration := self.pockels(info.device)) is not None:
            low, high = calibration.range_V
            return min(low, 0.0), max(high, 0.0)
        if spec.kind == "stimulus_isolator" and physical.io_type == "ao":
            return -spec.limits.max_amplitude_V, spec.limits.max_amplitude_V
        return 0.0, ttl_high

    def pockels(self, device: str) -> PockelsCalibration | None:
        """The power curve of a laser: its profile's table, else `pockels_default`."""
        spec = self.profile.devices[device]
        calibration = getattr(spec, "calibration", None)
        return PockelsCalibration.from_spec(calibration) if calibration is not None else self.pockels_default

    def device_outputs(self, device: str) -> list[str]:
        """The DAQ-wired output channels of one device, in profile order."""
        return [c for c, ch in self.channels.items() if ch.info.device == device and ch.info.direction == "out"]

    # ----- outputs ------------------------------------------------------------------
    def to_hardware(self, channel: str, values: np.ndarray | float) -> np.ndarray:
        """Values in the channel's unit -> AO volts (float64) or DO levels (bool); ValueError when out of range."""
        ch = self.channels[channel]
        info, spec = ch.info, self.profile.devices[ch.info.device]
        v = np.atleast_1d(np.asarray(values, dtype=np.float64))
        if spec.kind == "patch_amplifier":
            out = multiclamp.command_volts(v, self.amplifiers[info.device].mode, spec.scaling)
        elif spec.kind == "galvo_scanner":
            out = ScannerCalibration.from_spec(spec).axis_to_volts(info.role, v)
        elif spec.kind == "pockels_laser":
            calibration = self.pockels(info.device)
            if calibration is None:
                raise ValueError(f"devices.{info.device}.calibration is missing: the NI backend needs the measured "
                                 "power curve to turn power fractions into volts")
            out = calibration.to_volts(v)
        elif spec.kind == "stimulus_isolator" and ch.io_type == "ao":
            out = v
        elif spec.kind == "stimulus_isolator":
            return v != 0.0
        else:
            ttl = to_ttl(v, channel)
            return ttl if ch.io_type == "do" else ttl_volts(ttl, self.profile.daq.timing.ttl_high_V)
        if ch.io_type == "do":
            raise ValueError(f"{channel} carries an analog signal but is wired to the digital line {ch.physical.name}")
        if out.size and (np.min(out) < ch.min_V - 1e-9 or np.max(out) > ch.max_V + 1e-9):
            raise ValueError(f"{channel}: {np.min(out):.4g}..{np.max(out):.4g} V is outside its range "
                             f"[{ch.min_V:g}, {ch.max_V:g}] V")
        return out

    # ----- inputs -------------------------------------------------------------------
    def from_hardware(self, channel: str, volts: np.ndarray) -> np.ndarray:
        """AI volts -> the channel's unit (pA/mV for the amplifier, dark-subtracted signal for PMTs)."""
        ch = self.channels[channel]
        info, spec = ch.info, self.profile.devices[ch.info.device]
        if spec.kind == "patch_amplifier":
            state = self.amplifiers[info.device]
            if info.role == "primary":
                return multiclamp.primary_units(volts, state.mode, spec.scaling, state.primary_gain)
            return multiclamp.secondary_units(volts, state.mode, spec.scaling, state.secondary_gain)
        if spec.kind == "galvo_scanner":
            pmt = spec.pmts[info.role]
            return pmt_signal(volts, pmt.invert, pmt.dark_offset_V)
        return np.asarray(volts, dtype=np.float64)
