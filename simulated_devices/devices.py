"""Simulated devices: each drives its channels on the shared simulated DAQ."""

from __future__ import annotations

from rig.config.profile import (
    GalvoScannerSpec,
    LedSourceSpec,
    PatchAmplifierSpec,
    PockelsLaserSpec,
    ShutterSpec,
    StimulusIsolatorSpec,
)
from rig.datatypes.sweep_plan import SweepPlan
from rig.hal.interfaces import SafetyReport
from simulated_devices.daq import SimulatedDaq


class _SimDevice:
    """Common shape of a simulated device: name, kind, shared DAQ, zero-is-safe outputs."""

    kind = ""

    def __init__(self, name: str, daq: SimulatedDaq):
        self.name = name
        self.daq = daq

    def _outputs(self) -> list[str]:
        return [c for c, info in self.daq.channels.items() if info.device == self.name and info.direction == "out"]

    def configure(self, plan: SweepPlan) -> None:
        """Nothing static to set by default."""

    def make_safe(self) -> None:
        """Drive every output of the device to zero."""
        for channel in self._outputs():
            self.daq.write_static(channel, 0.0)

    def safety(self) -> SafetyReport:
        """Safe when every output is at zero."""
        live = {c: self.daq.held[c] for c in self._outputs() if self.daq.held[c] != 0.0}
        return SafetyReport(self.name, not live, "all outputs 0" if not live else f"outputs live: {live}")


class SimulatedAmplifier(_SimDevice):
    """Patch amplifier clamping the specimen's soma."""

    kind = "patch_amplifier"

    def __init__(self, name: str, daq: SimulatedDaq, spec: PatchAmplifierSpec):
        super().__init__(name, daq)
        self.spec = spec
        self.daq.amplifier_modes[name] = spec.safe_mode
        self.daq.held[f"{name}.command"] = self._safe_value()

    def _safe_value(self) -> float:
        return self.spec.safe_holding_mV if self.spec.safe_mode == "VC" else self.spec.safe_holding_pA

    @property
    def mode(self) -> str:
        """Current clamp mode."""
        return self.daq.amplifier_modes[self.name]

    def set_mode(self, mode: str) -> None:
        """Switch VC/CC."""
        self.daq.amplifier_modes[self.name] = mode
        self.daq.journal("mode", device=self.name, mode=mode)

    def set_holding(self, value: float) -> None:
        """Static holding on the command output."""
        self.daq.write_static(f"{self.name}.command", value)

    def configure(self, plan: SweepPlan) -> None:
        """Set the clamp mode the plan asks for."""
        if plan.amplifier == self.name and plan.amplifier_mode is not None:
            self.set_mode(plan.amplifier_mode)

    def make_safe(self) -> None:
        """Safe mode and holding."""
        self.set_mode(self.spec.safe_mode)
        self.set_holding(self._safe_value())

    def safety(self) -> SafetyReport:
        """Safe in the safe mode at the safe holding."""
        held = self.daq.held[f"{self.name}.command"]
        ok = self.mode == self.spec.safe_mode and held == self._safe_value()
        unit = "mV" if self.mode == "VC" else "pA"
        return SafetyReport(self.name, ok, f"{self.mode} holding {held:g} {unit}")


class SimulatedScanner(_SimDevice):
    """Galvo scanner; safe when parked at the field centre (no light reaches it anyway)."""

    kind = "galvo_scanner"

    def __init__(self, name: str, daq: SimulatedDaq, spec: GalvoScannerSpec):
        super().__init__(name, daq)
        self.spec = spec

    def park(self, x_um: float, y_um: float) -> None:
        """Move the beam to a point."""
        self.daq.write_static(f"{self.name}.x", x_um)
        self.daq.write_static(f"{self.name}.y", y_um)


class SimulatedLaser(_SimDevice):
    """Pockels-gated laser; safe at zero power."""

    kind = "pockels_laser"

    def __init__(self, name: str, daq: SimulatedDaq, spec: PockelsLaserSpec):
        super().__init__(name, daq)
        self.spec = spec

    def set_power(self, fraction: float) -> None:
        """Static power."""
        self.daq.write_static(f"{self.name}.power", fraction)


class SimulatedShutter(_SimDevice):
    """Shutter; safe closed."""

    kind = "shutter"

    def __init__(self, name: str, daq: SimulatedDaq, spec: ShutterSpec):
        super().__init__(name, daq)

    def set_open(self, is_open: bool) -> None:
        """Open or close."""
        self.daq.write_static(f"{self.name}.open", 1.0 if is_open else 0.0)


class SimulatedLeds(_SimDevice):
    """TTL LEDs; safe all off."""

    kind = "led_source"

    def __init__(self, name: str, daq: SimulatedDaq, spec: LedSourceSpec):
        super().__init__(name, daq)

    def set_led(self, led: str, on: bool) -> None:
        """Switch one LED."""
        self.daq.write_static(f"{self.name}.{led}", 1.0 if on else 0.0)


class SimulatedStimulator(_SimDevice):
    """Stimulus isolator; safe idle (no pulse)."""

    kind = "stimulus_isolator"

    def __init__(self, name: str, daq: SimulatedDaq, spec: StimulusIsolatorSpec):
        super().__init__(name, daq)


DEVICE_CLASSES = {
    "patch_amplifier": SimulatedAmplifier,
    "galvo_scanner": SimulatedScanner,
    "pockels_laser": SimulatedLaser,
    "shutter": SimulatedShutter,
    "led_source": SimulatedLeds,
    "stimulus_isolator": SimulatedStimulator,
}
