"""Micro-Manager devices of a rig: shutters and property-driven controllers; a builder slot for cameras."""

from __future__ import annotations

from typing import Any, Callable

from rig.backends.micromanager.camera import build_camera
from rig.backends.micromanager.session import MicroManagerError, require_device
from rig.config.device_specs import MicroManagerDeviceRef
from rig.datatypes.sweep_plan import SweepPlan
from rig.hal.interfaces import SafetyReport


class MmPropertySetter:
    """Sets properties of one Micro-Manager device (e.g. LED intensities on an LED controller)."""

    def __init__(self, core: Any, label: str):
        self.core = core
        self.label = label

    def apply(self, properties: dict[str, str]) -> None:
        """Set each property, then wait for the device."""
        for prop, value in properties.items():
            self.core.setProperty(self.label, prop, value)
        self.core.waitForDevice(self.label)


class MmShutter:
    """A Micro-Manager shutter: not clocked, so it opens before a sweep that needs light and closes when safe.

    `configure` opens it when the plan's `<name>.open` waveform opens at any sample (and closes
    it otherwise); timing within the sweep is the job of a TTL shutter on the DAQ.
    """

    kind = "shutter"

    def __init__(self, name: str, core: Any, ref: MicroManagerDeviceRef):
        self.name = name
        self.core = core
        self.label = ref.device
        self.ref = ref
        require_device(core, self.label, f"devices.{name}.micromanager.device")
        if ref.properties:
            MmPropertySetter(core, self.label).apply(dict(ref.properties))

    def set_open(self, is_open: bool) -> None:
        """Open or close, and wait until the device is done."""
        self.core.setShutterOpen(self.label, bool(is_open))
        self.core.waitForDevice(self.label)

    def configure(self, plan: SweepPlan) -> None:
        """Open for a sweep that opens this shutter, close for one that does not."""
        wave = plan.outputs.get(f"{self.name}.open")
        self.set_open(bool(wave is not None and float(max(wave)) > 0.0))

    def make_safe(self) -> None:
        """Close, then the safe properties."""
        self.set_open(False)
        if self.ref.safe_properties:
            MmPropertySetter(self.core, self.label).apply(dict(self.ref.safe_properties))

    def safety(self) -> SafetyReport:
        """Safe when Micro-Manager reports it closed."""
        is_open = bool(self.core.getShutterOpen(self.label))
        return SafetyReport(self.name, not is_open, f"{self.label} {'open' if is_open else 'closed'}")


def _shutter(name: str, spec: Any, core: Any, clock: Any = None) -> MmShutter:
    ref = spec.micromanager or MicroManagerDeviceRef(device=spec.channels.open)
    return MmShutter(name, core, ref)


# kind -> builder(name, spec, core, clock). The camera path registers its builder here; `clock` is the
# rig's SweepClock, which drives the camera's frame-trigger line (write_static(f"{name}.trigger", 0) is safe).
BUILDERS: dict[str, Callable[[str, Any, Any, Any], Any]] = {
    "shutter": _shutter,
    "camera": build_camera,
}


def build_device(name: str, spec: Any, core: Any, clock: Any = None) -> Any:
    """The Micro-Manager device for a profile entry; MicroManagerError for kinds Micro-Manager does not drive."""
    builder = BUILDERS.get(spec.kind)
    if builder is None:
        raise MicroManagerError(f"devices.{name}: a {spec.kind} cannot use the micromanager backend "
                                f"(supported: {', '.join(sorted(BUILDERS))})")
    return builder(name, spec, core, clock)
