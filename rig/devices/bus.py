"""DeviceBus: what a device class asks of the rig's DAQ clock outside a sweep (channel units, not volts).

Both the NI clock (rig.backends.ni.clock.NiDaqClock) and the simulated DAQ
(simulated_devices.daq.SimulatedDaq) implement it, each scaling through the shared ChannelMap
and writing through its driver (rig.devices.driver), so one device class per role serves both.
"""

from __future__ import annotations

from typing import Literal, Mapping, Protocol

from rig.devices.channel_map import AmplifierState

Mode = Literal["VC", "CC"]


class DeviceBus(Protocol):
    """Static outputs and inputs of the DAQ, with what each output is known to hold."""

    @property
    def held(self) -> Mapping[str, float]:
        """What each output holds, in its unit (NaN when not known)."""

    @property
    def switches_amplifier_mode(self) -> bool:
        """True when the rig itself sets the amplifier's mode (the simulated amplifier); False on a DAQ."""

    def device_outputs(self, device: str) -> list[str]:
        """The DAQ-wired output channels of one device."""

    def write_static(self, channel: str, value: float) -> None:
        """Drive one output to a constant value in its unit (scaled and range-checked; never during a sweep)."""

    def read_static_volts(self, address: str, n_samples: int = 100, rate_hz: float = 10_000.0) -> float:
        """Mean volts of a short recording of an AI address outside a sweep (telegraphs)."""

    def amplifier_state(self, device: str) -> AmplifierState:
        """Mode and gains the scaling of this amplifier's channels uses."""

    def set_amplifier_mode(self, device: str, mode: Mode) -> None:
        """Scale this amplifier's channels for a mode (and switch the amplifier where the rig can)."""
