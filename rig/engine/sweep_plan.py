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
class CameraAcquisition:
    """Camera frames of a sweep: one frame per rising edge of the trigger output, all on the master clock."""

    camera: str
    trigger_channel: str
    n_frames: int
    exposure_ms: float
    binning: int
    roi_px: tuple[int, int, int, int]  # x, y, width, height on the sensor (unbinned pixels)
    pixel_size_um: float = 0.4
    sensor_px: tuple[int, int] = (80, 80)  # width, height
    field_center_um: tuple[float, float] = (0.0, 0.0)  # sample-plane point at the sensor centre

    def pixel_centers_um(self) -> tuple[np.ndarray, np.ndarray]:
        """Sample-plane x (columns) and y (rows) of the centre of every delivered pixel."""
        h, w = self.frame_shape
        x0, y0 = self.roi_px[0], self.roi_px[1]
        cols = (x0 + (np.arange(w) + 0.5) * self.binning - self.sensor_px[0] / 2) * self.pixel_size_um
        rows = (y0 + (np.arange(h) + 0.5) * self.binning - self.sensor_px[1] / 2) * self.pixel_size_um
        return self.field_center_um[0] + cols, self.field_center_um[1] + rows

    def um_to_pixel(self, point_um: tuple[float, float]) -> tuple[float, float]:
        """(row, col) pixel coordinates of a sample-plane point."""
        xs, ys = self.pixel_centers_um()
        step = self.pixel_size_um * self.binning
        return (point_um[1] - ys[0]) / step, (point_um[0] - xs[0]) / step

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(height, width) of a delivered frame after binning."""
        return self.roi_px[3] // self.binning, self.roi_px[2] // self.binning

    @property
    def channels(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Recorded channels of the camera: name -> (dtype, shape of one item)."""
        return {f"{self.camera}.frames": ("u2", self.frame_shape), f"{self.camera}.frame_number": ("i8", ()),
                f"{self.camera}.timestamp_ms": ("f8", ())}


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
    parameters: Mapping[str, Any] = field(default_factory=dict)
    camera: CameraAcquisition | None = None

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
            "camera": None if self.camera is None else self.camera.__dict__ | {},
        }

    def recorded_channels(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Every channel a run file stores for this plan: 'in:'/'out:' name -> (dtype, item shape)."""
        out = {f"in:{n}": ("f4", ()) for n in self.inputs}
        out |= {f"out:{n}": ("f4", ()) for n in self.outputs}
        if self.camera is not None:
            out |= {f"in:{n}": spec for n, spec in self.camera.channels.items()}
        return out
