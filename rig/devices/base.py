"""The common shape of a DAQ-driven device: its outputs on the bus, zero is safe unless the role says otherwise."""

from __future__ import annotations

from typing import Generic, TypeVar

from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.bus import DeviceBus
from rig.hal.interfaces import SafetyReport

SpecT = TypeVar("SpecT")


class DaqDevice(Generic[SpecT]):
    """A device whose outputs are DAQ channels: configured for a sweep, made safe by static writes."""

    kind = ""

    def __init__(self, name: str, bus: DeviceBus, spec: SpecT):
        self.name = name
        self.bus = bus
        self.spec = spec

    def outputs(self) -> list[str]:
        """This device's output channels on the DAQ."""
        return self.bus.device_outputs(self.name)

    def configure(self, plan: SweepPlan) -> None:
        """No static settings by default."""

    def make_safe(self) -> None:
        """Every output to zero."""
        for channel in self.outputs():
            self.bus.write_static(channel, 0.0)

    def safety(self) -> SafetyReport:
        """Safe when every output is known to hold zero (an unknown, NaN, value is not safe)."""
        live = {c: self.bus.held[c] for c in self.outputs() if self.bus.held[c] != 0.0}
        return SafetyReport(self.name, not live, "all outputs 0" if not live else f"outputs not at 0: {live}")
