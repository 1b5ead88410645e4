"""SweepPlan: everything one sweep does, on one timebase, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np


@dataclass(frozen=True)
class LineScanLayout:
    """How PMT samples of a sweep fold into scan lines.

    Slot k spans samples [first_sample + k*samples_per_line, ... + samples_per_line); its
    first `pixels_per_line` samples are the line's pixels, the rest the flyback. Slots in
    `park_slots` are not lines: the beam is parked (e.g. for a bleach pulse).
    """

    first_sample: int
    samples_per_line: int
    pixels_per_line: int
    n_slots: int
    park_slots: tuple[int, ...]
    start_um: tuple[float, float]
    end_um: tuple[float, float]
    line_rate_hz: float

    @property
    def line_length_um(self) -> float:
        """Length of the scan line in the sample plane."""
        return float(np.hypot(self.end_um[0] - self.start_um[0], self.end_um[1] - self.start_um[1]))

    def pixel_positions_um(self) -> np.ndarray:
        """Distance along the line of each pixel centre."""
        return (np.arange(self.pixels_per_line) + 0.5) / self.pixels_per_line * self.line_length_um


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
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Sweep duration in seconds."""
        return self.n_samples / self.sample_rate_hz

    def summary(self) -> dict[str, Any]:
        """A JSON-able description of the plan (waveforms as ranges; the arrays are stored as data)."""
        return {
            "step_index": self.step_index,
            "step_name": self.step_name,
            "kind": self.kind,
            "sweep_in_step": self.sweep_in_step,
            "sample_rate_hz": self.sample_rate_hz,
            "n_samples": self.n_samples,
            "duration_s": self.duration_s,
            "amplifier": self.amplifier,
            "amplifier_mode": self.amplifier_mode,
            "interval_after_s": self.interval_after_s,
            "inputs": list(self.inputs),
            "outputs": {
                name: {"min": float(np.min(w)), "max": float(np.max(w))} for name, w in self.outputs.items()
            },
            "line_scan": None if self.line_scan is None else self.line_scan.__dict__ | {},
            "events_ms": dict(self.events_ms),
            "target_um": self.target_um,
            "parameters": dict(self.parameters),
        }
