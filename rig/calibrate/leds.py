"""LED calibration: each LED's power at the sample when its line is high, from a power meter.

Every light is off for a dark reading, then each LED alone is switched on and read; its power is the
reading above dark. The LEDs here are TTL-switched, so "power per volt" is the power at the TTL-high
level (also given per volt of that level in the comment); the profile stores the power (`power_mW`),
which the light budgets use.
"""

from __future__ import annotations

from dataclasses import dataclass

from rig.calibrate.instruments import PowerReadings, read_holding_light
from rig.calibrate.profile_copy import ProfileEdit, dated
from rig.config.problems import InvalidInput, Problem
from rig.engine.rig import Rig
from rig.hal.interfaces import LedSource


@dataclass(frozen=True)
class LedPower:
    """One LED's measured power at the sample (mW) when on, and per volt of the TTL-high level."""

    source: str
    led: str
    power_mW: float
    mW_per_V: float


@dataclass(frozen=True)
class LedCalibration:
    """Every LED's power, the dark reading and the method."""

    leds: tuple[LedPower, ...]
    dark_mW: float
    method: str


def calibrate_leds(rig: Rig, readings: PowerReadings) -> LedCalibration:
    """Dark reading, then each LED alone; the rig is made safe afterwards whatever happens."""
    profile = rig.profile.profile
    sources = profile.devices_of_kind("led_source")
    if not sources:
        raise InvalidInput([Problem(str(rig.profile.path), "devices", "no led_source to calibrate")])
    ttl_V = profile.daq.timing.ttl_high_V
    measured: list[LedPower] = []
    try:
        rig.make_safe()
        dark = read_holding_light(rig, readings, "all light off (dark)")
        for name in sources:
            device = rig.devices[name]
            assert isinstance(device, LedSource)
            for led in profile.led_source(name).leds:
                device.set_led(led, True)
                try:
                    power = read_holding_light(rig, readings, f"LED {name}.{led} on") - dark
                finally:
                    device.set_led(led, False)
                if power <= 0:
                    raise ValueError(f"LED {name}.{led}: no power above dark ({power:.4g} mW): is it connected?")
                measured.append(LedPower(name, led, power, power / ttl_V))
    finally:
        rig.make_safe()
    return LedCalibration(tuple(measured), dark, readings.method)


def led_edits(result: LedCalibration) -> list[ProfileEdit]:
    """Each LED's power_mW, replaced."""
    return [ProfileEdit(("devices", p.source, "leds", p.led, "power_mW"), round(p.power_mW, 4),
                        dated(f"{result.method}, above dark; {p.mW_per_V:.4g} mW per V of TTL high"))
            for p in result.leds]
