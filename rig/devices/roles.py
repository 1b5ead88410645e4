"""The devices whose safe state is every output at zero: galvo scanner, Pockels laser, shutter, LEDs, stimulator."""

from __future__ import annotations

from typing import Protocol

from rig.config.device_specs import GalvoScannerSpec, LedSourceSpec, PockelsLaserSpec, ShutterSpec, StimulusIsolatorSpec
from rig.devices.base import DaqDevice
from rig.devices.bus import DeviceBus


class PropertySetter(Protocol):
    """Something that sets named properties on a device of another backend (e.g. Micro-Manager)."""

    def apply(self, properties: dict[str, str]) -> None:
        """Set every property."""


class GalvoScanner(DaqDevice[GalvoScannerSpec]):
    """Galvo scanner; made safe parked at the field centre (0 um), commands beyond the limit refused."""

    kind = "galvo_scanner"

    def park(self, x_um: float, y_um: float) -> None:
        """Move the beam to a point in the sample plane."""
        self.bus.write_static(f"{self.name}.x", x_um)
        self.bus.write_static(f"{self.name}.y", y_um)


class PockelsLaser(DaqDevice[PockelsLaserSpec]):
    """Pockels-gated laser through its power calibration; safe at zero power."""

    kind = "pockels_laser"

    def set_power(self, fraction: float) -> None:
        """Static power fraction (0 is off)."""
        self.bus.write_static(f"{self.name}.power", fraction)


class Shutter(DaqDevice[ShutterSpec]):
    """TTL shutter; safe closed."""

    kind = "shutter"

    def set_open(self, is_open: bool) -> None:
        """Open or close."""
        self.bus.write_static(f"{self.name}.open", 1.0 if is_open else 0.0)


class LedSource(DaqDevice[LedSourceSpec]):
    """TTL-switched LEDs; an optional controller (e.g. intensities via Micro-Manager) is set when built."""

    kind = "led_source"

    def __init__(self, name: str, bus: DeviceBus, spec: LedSourceSpec, controller: PropertySetter | None = None):
        super().__init__(name, bus, spec)
        self.controller = controller
        ref = spec.micromanager
        if controller is not None and ref is not None and ref.properties:
            controller.apply(dict(ref.properties))

    def set_led(self, led: str, on: bool) -> None:
        """Switch one LED."""
        self.bus.write_static(f"{self.name}.{led}", 1.0 if on else 0.0)

    def make_safe(self) -> None:
        """Every TTL low, then the controller's safe properties."""
        super().make_safe()
        ref = self.spec.micromanager
        if self.controller is not None and ref is not None and ref.safe_properties:
            self.controller.apply(dict(ref.safe_properties))


class StimulusIsolator(DaqDevice[StimulusIsolatorSpec]):
    """Stimulus isolator trigger (TTL) or amplitude (AO); safe idle."""

    kind = "stimulus_isolator"
