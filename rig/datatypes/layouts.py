"""Layouts of a sweep's imaging: how PMT samples fold into scan lines, and the camera frames it takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.datatypes.channels import ChannelSpec


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
    def channels(self) -> dict[str, ChannelSpec]:
        """Recorded channels of the camera: name -> spec of one item (a frame in ADU, its number, its time)."""
        return {f"{self.camera}.frames": ChannelSpec("u2", self.frame_shape, "ADU"),
                f"{self.camera}.frame_number": ChannelSpec("i8", (), "1"),
                f"{self.camera}.timestamp_ms": ChannelSpec("f8", (), "ms")}
