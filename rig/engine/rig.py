"""A Rig: the devices, master clock and (simulated only) truth source a profile describes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from rig.config.backend_registry import BUILTIN_BACKENDS, BackendLoadError, backend_problem, load_backend
from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
from rig.hal.interfaces import Device, SafetyReport, SweepClock, TruthSource

log = logging.getLogger(__name__)

# Kept for callers that list the built-in backends; the registry (rig.config.backend_registry)
# also holds the backends installed packages register under the entry-point group spinerig.backends.
BACKENDS: dict[str, str] = dict(BUILTIN_BACKENDS)

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
        except Exception as exc:  # keep going: the devices must still be made safe
            log.error("clock stop failed: %r", exc)
            log.debug("clock stop failed", exc_info=True)
        reports: list[SafetyReport] = []
        for device in self.devices_in_safe_order():
            try:
                device.make_safe()
                reports.append(device.safety())
            except Exception as exc:  # report and continue with the next device
                log.error("make_safe failed for %s: %r", device.name, exc)
                log.debug("make_safe failed for %s", device.name, exc_info=True)
                reports.append(SafetyReport(device.name, False, f"make_safe raised {exc!r}"))
        return reports


def build_rig(loaded: LoadedProfile) -> Rig:
    """Build the rig a profile names, through the backend registry (never an arbitrary module)."""
    name = loaded.profile.backend
    unknown = backend_problem(name)
    if unknown is not None:
        raise InvalidInput([Problem(str(loaded.path), "backend", unknown)])
    try:
        builder = load_backend(name)
    except BackendLoadError as exc:
        raise InvalidInput([Problem(str(loaded.path), "backend", str(exc))]) from None
    rig = builder(loaded)
    if not isinstance(rig, Rig):
        raise InvalidInput([Problem(str(loaded.path), "backend", f"backend '{name}' built a {type(rig).__name__}, "
                                                                 "not a Rig")])
    return rig
