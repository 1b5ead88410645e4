"""SweepPlan: everything one sweep does, on one timebase, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np

from rig.datatypes.channels import OUTPUT_ROLE_UNITS, PMT_UNIT, ChannelSpec, amplifier_unit
from rig.datatypes.layouts import CameraAcquisition, LineScanLayout
from rig.datatypes.sweep_meta import SweepMeta


def rising_edges(ttl: np.ndarray) -> np.ndarray:
    """Sample indices where a TTL waveform goes from low to high (a high first sample counts)."""
    high = np.asarray(ttl) > 0.5
    return np.flatnonzero(high & ~np.concatenate(([False], high[:-1])))


@dataclass(frozen=True)
class SweepPlan:
    """One sweep: duration, sample rate, every output waveform and every input to record.

    Outputs are keyed by logical channel (`<device>.<role>`, e.g. `laser.power`) in
    physical units: mV or pA for the amplifier command (by `amplifier_mode`), um for galvo
    positions, power fraction for the laser, 0/1 for TTLs, volts for stimulus amplitude.
    """

    step_index: int
    step_name: str
    kind: str
    sweep_in_step: int
    sample_rate_hz: float
    n_samples: int
    outputs: Mapping[str, np.ndarray]
    inputs: tuple[str, ...]
    amplifier: str | None = None
    amplifier_mode: Literal["VC", "CC"] | None = None
    interval_after_s: float = 0.0
    line_scan: LineScanLayout | None = None
    events_ms: Mapping[str, float] = field(default_factory=dict)
    target_um: tuple[float, float] | None = None
    meta: SweepMeta = field(default_factory=SweepMeta)
    camera: CameraAcquisition | None = None

    @property
    def duration_s(self) -> float:
        """Sweep duration in seconds."""
        return self.n_samples / self.sample_rate_hz

    def channel_unit(self, channel: str) -> str:
        """Physical unit of one of the plan's logical channels (the conventions of this class's docstring)."""
        device, _, role = channel.partition(".")
        if device == self.amplifier:
            return amplifier_unit(role, self.amplifier_mode)
        if channel in self.inputs:
            return PMT_UNIT
        if self.camera is not None and channel == self.camera.trigger_channel:
            return "ttl"
        return OUTPUT_ROLE_UNITS.get(role, "ttl")

    def recorded_channels(self) -> dict[str, ChannelSpec]:
        """Every channel a run file stores for this plan: 'in:'/'out:' name -> spec of one item."""
        out = {f"in:{n}": ChannelSpec("f4", (), self.channel_unit(n)) for n in self.inputs}
        out |= {f"out:{n}": ChannelSpec("f4", (), self.channel_unit(n)) for n in self.outputs}
        if self.camera is not None:
            out |= {f"in:{n}": spec for n, spec in self.camera.channels.items()}
        return out
