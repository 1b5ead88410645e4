"""The simulated board behind the driver seam: volts and levels in, what the simulated hardware physically does out.

The program side (device classes, ChannelMap scaling with the profile's calibration, limits) is
the same code as on an NI rig and hands this board volts. `to_physical` is the one place where
those volts become physical again: galvo positions (um), Pockels power fraction, the amplifier's
command (mV or pA, read in the mode the simulated amplifier is really in), TTL states (0/1) and
stimulator volts. By default it is the exact inverse of the profile's nominal calibration; a true
calibration that differs from the profile (a `TrueCalibration`) plugs in here.
"""

from __future__ import annotations

from typing import Mapping, Protocol

import numpy as np

from rig.config.device_specs import GalvoScannerSpec, PatchAmplifierSpec
from rig.config.profile import HardwareProfile
from rig.devices.channel_map import ChannelMap
from rig.devices.driver import AnalogChannel, DigitalChannel
from rig.devices.signals.multiclamp import command_units
from rig.devices.signals.pockels import PockelsCalibration
from rig.devices.signals.scanner_calibration import ScannerCalibration

# A laser entry without a measured curve: a linear cell, 1 V is full power (the NI backend refuses such a profile).
NOMINAL_POCKELS = PockelsCalibration((0.0, 1.0), (0.0, 1.0))


class TrueCalibration(Protocol):
    """The simulated hardware's true response to volts, where it differs from the profile's calibration."""

    def galvo_um(self, device: str, axis: str, volts: np.ndarray) -> np.ndarray | None:
        """True beam position on one axis for galvo command volts; None to use the profile's calibration."""

    def pockels_power(self, device: str, volts: np.ndarray) -> np.ndarray | None:
        """True power fraction for Pockels command volts; None to use the profile's calibration."""


class SimulatedDriver:
    """Static I/O of the simulated board; `to_physical` also converts every clocked output waveform."""

    def __init__(self, profile: HardwareProfile, channels: ChannelMap, amplifier_modes: Mapping[str, str],
                 calibration: TrueCalibration | None = None):
        self.profile = profile
        self.channels = channels
        self.amplifier_modes = amplifier_modes  # the simulated amplifiers' own modes (shared with the DAQ)
        self.calibration = calibration
        self.physical: dict[str, float] = {}  # what each output line makes the hardware do now, after static writes
        self.levels: dict[str, float | bool] = {}  # the last static volts/level on each physical line, as a board holds

    def to_physical(self, channel: str, levels: np.ndarray | float | bool) -> np.ndarray:
        """Volts (AO) or levels (DO) on a channel -> the physical command the simulated hardware follows."""
        ch = self.channels.channels[channel]
        info, spec = ch.info, self.profile.devices[ch.info.device]
        raw = np.atleast_1d(np.asarray(levels))
        if ch.io_type == "do":
            return raw.astype(bool).astype(np.float64)
        volts = raw.astype(np.float64)
        if isinstance(spec, GalvoScannerSpec):
            true = self.calibration.galvo_um(info.device, info.role, volts) if self.calibration else None
            if true is not None:
                return true
            scanner = ScannerCalibration.from_spec(spec)
            gain, offset = ((scanner.volts_per_um_x, scanner.offset_V[0]) if info.role == "x"
                            else (scanner.volts_per_um_y, scanner.offset_V[1]))
            return (volts - offset) / gain
        if spec.kind == "pockels_laser":
            true = self.calibration.pockels_power(info.device, volts) if self.calibration else None
            if true is not None:
                return true
            curve = self.channels.pockels(info.device) or NOMINAL_POCKELS
            return curve.to_power(volts)
        if isinstance(spec, PatchAmplifierSpec):
            mode = self.amplifier_modes.get(info.device, spec.safe_mode)
            return command_units(volts, "VC" if mode == "VC" else "CC", spec.scaling)
        if spec.kind in ("shutter", "led_source", "camera"):  # a TTL wired to an AO: high above half the TTL level
            return (volts > self.profile.daq.timing.ttl_high_V / 2.0).astype(np.float64)
        return volts  # stimulus isolator amplitude: volts are its unit

    def telegraph_volts(self, address: str) -> float:
        """The voltage a simulated amplifier puts on a telegraph address (its mode, its primary gain); else 0 V."""
        for name, spec in self.profile.devices.items():
            telegraph = spec.telegraph if isinstance(spec, PatchAmplifierSpec) else None
            if telegraph is None:
                continue
            assert isinstance(spec, PatchAmplifierSpec)
            if telegraph.mode is not None and telegraph.mode.lstrip("/") == address:
                mode = self.amplifier_modes.get(name, spec.safe_mode)
                return next((float(v) for m, v in telegraph.mode_levels_V.items() if m == mode), 0.0)
            if telegraph.gain is not None and telegraph.gain.lstrip("/") == address:
                levels = dict(telegraph.gain_levels_V)
                return float(levels.get(spec.scaling.primary_gain, 0.0))
        return 0.0

    # ----- StaticIo (rig.devices.driver) -----------------------------------------------
    def write_analog(self, channel: AnalogChannel, volts: float) -> None:
        """Drive one AO channel: the hardware behind it follows at once."""
        self.levels[channel.physical] = float(volts)
        self.physical[channel.name] = float(self.to_physical(channel.name, volts)[0])

    def write_digital(self, channel: DigitalChannel, level: bool) -> None:
        """Drive one DO line."""
        self.levels[channel.physical] = bool(level)
        self.physical[channel.name] = float(self.to_physical(channel.name, level)[0])

    def read_analog(self, channel: AnalogChannel, n_samples: int, rate_hz: float,
                    terminal_config: str = "default") -> np.ndarray:
        """A short recording of a static AI level (the telegraphs; 0 V on any other address)."""
        return np.full(n_samples, self.telegraph_volts(channel.physical.lstrip("/")))
