"""Telegraph calibration: the volts the amplifier's mode and gain telegraphs give, by stepping the amplifier.

For each mode the profile lists, and each primary gain, the amplifier is put there (by software on a
simulated rig, by the operator on a real one) and the wired telegraph input is read. The decoding
tolerance written is the profile's, narrowed to 40 % of the closest two levels' spacing so that a reading
can match only one level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from rig.calibrate.instruments import TelegraphStepper, rig_telegraphs
from rig.calibrate.profile_copy import ProfileEdit, dated
from rig.config.device_specs import PatchAmplifierSpec
from rig.config.problems import InvalidInput, Problem
from rig.engine.rig import Rig
from rig.hal.interfaces import PatchAmplifier

Mode = Literal["VC", "CC", "I0"]


@dataclass(frozen=True)
class TelegraphCalibration:
    """Measured levels of one amplifier's telegraphs."""

    amplifier: str
    mode_levels_V: dict[str, float]
    gain_levels_V: tuple[tuple[float, float], ...]
    tolerance_V: float
    method: str


class SimulatedStepper:
    """The simulated amplifier switched by software; its telegraph outputs read through the rig's extras."""

    method = "amplifier stepped by software"

    def __init__(self, rig: Rig, amplifier: str):
        telegraphs = rig_telegraphs(rig)
        if telegraphs is None:
            raise ValueError("this rig offers no software-readable telegraph outputs")
        self.telegraphs = telegraphs
        device = rig.devices[amplifier]
        assert isinstance(device, PatchAmplifier)
        self.device, self.amplifier = device, amplifier

    def set_mode(self, mode: Mode) -> None:
        """Switch the simulated amplifier's mode (I=0 too: the telegraph reports it, no channel is scaled for it)."""
        self.device.set_mode(mode)  # type: ignore[arg-type]  # I0 only reaches the simulated amplifier

    def set_gain(self, gain: float) -> None:
        """Turn the simulated amplifier's gain."""
        self.telegraphs.set_gain(self.amplifier, gain)

    def read_volts(self, address: str) -> float:
        """Mean volts on the telegraph input."""
        return self.telegraphs.read_volts(address)


class OperatorStepper:
    """A real amplifier: the operator switches mode and gain when asked; the DAQ reads the telegraph input."""

    method = "amplifier stepped by the operator"

    def __init__(self, rig: Rig, ask: Callable[[str], str]):
        read = getattr(rig.clock, "read_static_volts", None)
        if read is None:
            raise ValueError("this rig's DAQ cannot read a static voltage (telegraph)")
        self.read, self.ask = read, ask

    def set_mode(self, mode: Mode) -> None:
        """Ask the operator to switch the mode."""
        self.ask(f"switch the amplifier to {mode} and press Enter ")

    def set_gain(self, gain: float) -> None:
        """Ask the operator to set the primary gain."""
        self.ask(f"set the primary output gain to {gain:g} (Commander) and press Enter ")

    def read_volts(self, address: str) -> float:
        """Mean volts on the telegraph input."""
        return float(self.read(address))


def telegraph_amplifier(rig: Rig) -> str:
    """The amplifier whose telegraphs are wired (InvalidInput when none is)."""
    for name, spec in rig.profile.profile.devices_of_type(PatchAmplifierSpec).items():
        if spec.telegraph is not None and (spec.telegraph.mode or spec.telegraph.gain):
            return name
    raise InvalidInput([Problem(str(rig.profile.path), "devices", "no patch_amplifier has telegraph inputs wired "
                                "(telegraph.mode / telegraph.gain); nothing to calibrate")])


def calibrate_telegraph(rig: Rig, stepper: TelegraphStepper, amplifier: str) -> TelegraphCalibration:
    """Step every mode and gain the profile lists and read the telegraphs; the amplifier is made safe after."""
    spec = rig.profile.profile.amplifier(amplifier)
    telegraph = spec.telegraph
    assert telegraph is not None
    modes: dict[str, float] = {}
    gains: list[tuple[float, float]] = []
    try:
        rig.make_safe()
        if telegraph.mode:
            for mode in telegraph.mode_levels_V:
                stepper.set_mode(mode)
                modes[mode] = round(stepper.read_volts(telegraph.mode), 4)
        if telegraph.gain:
            for gain, _ in telegraph.gain_levels_V:
                stepper.set_gain(gain)
                gains.append((int(gain) if float(gain).is_integer() else gain, round(stepper.read_volts(telegraph.gain), 4)))
            stepper.set_gain(spec.scaling.primary_gain)
    finally:
        rig.make_safe()
    spacing = min([abs(a - b) for levels in (sorted(modes.values()), sorted(v for _, v in gains))
                   for a, b in zip(levels, levels[1:])] or [float("inf")])
    if spacing < 0.05:
        raise ValueError(f"two telegraph levels are {spacing:.3f} V apart: they cannot be told apart")
    tolerance = round(min(telegraph.tolerance_V, 0.4 * spacing), 3)
    return TelegraphCalibration(amplifier, modes, tuple(gains), tolerance, stepper.method)


def telegraph_edits(result: TelegraphCalibration) -> list[ProfileEdit]:
    """The amplifier's telegraph levels and tolerance, replaced."""
    base = ("devices", result.amplifier, "telegraph")
    comment = dated(result.method)
    edits = [ProfileEdit(base + ("tolerance_V",), result.tolerance_V, dated("40 % of the closest levels' spacing, "
                                                                             "at most the profile's"))]
    if result.mode_levels_V:
        edits.append(ProfileEdit(base + ("mode_levels_V",), dict(result.mode_levels_V), comment))
    if result.gain_levels_V:
        edits.append(ProfileEdit(base + ("gain_levels_V",), [[g, v] for g, v in result.gain_levels_V], comment))
    return edits
