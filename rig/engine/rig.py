"""A Rig: the devices, master clock and (simulated only) truth source a profile describes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
import logging

from rig.hal.interfaces import Device, SafetyReport, SweepClock, TruthSource

log = logging.getLogger(__name__)

# Backend name -> "module:function" building a Rig from a profile. Imported lazily, so a
# machine without NI-DAQmx or Micro-Manager can still run the simulated rig.
BACKENDS: dict[str, str] = {
    "simulated": "simulated_devices.backend:build_rig",
    "ni": "rig.backends.ni.backend:build_rig",
}

# The order in which devices are made safe: light first, then what drives the cell.
SAFE_ORDER = ("pockels_laser", "led_source", "shutter", "stimulus_isolator", "camera", "galvo_scanner", "patch_amplifier")


@dataclass
class Rig:
    """Devices by name, the master clock, and a truth source on simulated rigs."""

    profile: LoadedProfile
    devices: dict[str, Device]
    clock: SweepClock
    truth: TruthSource | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def devices_in_safe_order(self) -> list[Device]:
        """Devices ordered so that light goes off first and the amplifier is set last."""
        rank = {kind: i for i, kind in enumerate(SAFE_ORDER)}
        return sorted(self.devices.values(), key=lambda d: rank.get(d.kind, len(rank)))

    def make_safe(self) -> list[SafetyReport]:
        """Stop the clock and make every device safe, light first; one device's fault never skips the rest."""
        try:
            self.clock.stop()
        except Exception:  # keep going: the devices must still be made safe
            log.exception("clock stop failed")
        reports: list[SafetyReport] = []
        for device in self.devices_in_safe_order():
            try:
                device.make_safe()
                reports.append(device.safety())
            except Exception as exc:  # report and continue with the next device
                log.exception("make_safe failed for %s", device.name)
                reports.append(SafetyReport(device.name, False, f"make_safe raised {exc!r}"))
        return reports


def build_rig(loaded: LoadedProfile) -> Rig:
    """Build the rig a profile names, through the backend registry."""
    name = loaded.profile.backend
    target = BACKENDS.get(name, name if ":" in name else None)
    if target is None:
        raise InvalidInput([Problem(str(loaded.path), "backend",
                                    f"unknown backend '{name}' (known: {', '.join(sorted(BACKENDS))})")])
    module_name, _, func_name = target.partition(":")
    try:
        builder = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput([Problem(str(loaded.path), "backend", f"backend '{name}' cannot be loaded: {exc}")]) from None
    return builder(loaded)
