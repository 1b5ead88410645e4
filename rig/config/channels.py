"""Logical channels (`<device>.<role>`) that a profile offers, with direction and unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rig.config.profile import HardwareProfile


@dataclass(frozen=True)
class ChannelInfo:
    """One logical channel: which device and role, which direction, which unit, which address."""

    name: str
    device: str
    kind: str
    role: str
    direction: Literal["out", "in"]
    unit: str
    address: str


def logical_channels(profile: HardwareProfile) -> dict[str, ChannelInfo]:
    """Every logical channel of the profile, keyed by name."""
    out: dict[str, ChannelInfo] = {}

    def add(device: str, kind: str, role: str, direction: Literal["out", "in"], unit: str, address: str) -> None:
        name = f"{device}.{role}"
        out[name] = ChannelInfo(name, device, kind, role, direction, unit, address)

    for name, spec in profile.devices.items():
        if spec.kind == "patch_amplifier":
            add(name, spec.kind, "command", "out", "mV|pA", spec.channels.command)
            add(name, spec.kind, "primary", "in", "pA|mV", spec.channels.primary)
            if spec.channels.secondary:
                add(name, spec.kind, "secondary", "in", "mV|pA", spec.channels.secondary)
        elif spec.kind == "galvo_scanner":
            add(name, spec.kind, "x", "out", "um", spec.channels.x)
            add(name, spec.kind, "y", "out", "um", spec.channels.y)
            for pmt, pmt_spec in spec.pmts.items():
                add(name, spec.kind, pmt, "in", "counts", pmt_spec.channel)
        elif spec.kind == "pockels_laser":
            add(name, spec.kind, "power", "out", "fraction", spec.channels.power)
        elif spec.kind == "shutter":
            add(name, spec.kind, "open", "out", "ttl", spec.channels.open)
        elif spec.kind == "led_source":
            for led, led_spec in spec.leds.items():
                add(name, spec.kind, led, "out", "ttl", led_spec.channel)
        elif spec.kind == "stimulus_isolator":
            add(name, spec.kind, "trigger", "out", "V", spec.channels.trigger)
        elif spec.kind == "camera":
            add(name, spec.kind, "trigger", "out", "ttl", spec.channels.trigger)
    return out
