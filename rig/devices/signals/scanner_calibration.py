"""Scanner calibration: sample-plane micrometres <-> galvo volts, and reference-image pixels -> volts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.config.device_specs import GalvoScannerSpec


@dataclass(frozen=True)
class ScannerCalibration:
    """Linear galvo calibration per axis with a centre offset and a command limit."""

    volts_per_um_x: float
    volts_per_um_y: float
    offset_V: tuple[float, float] = (0.0, 0.0)
    max_command_V: float = 10.0

    @classmethod
    def from_spec(cls, spec: GalvoScannerSpec) -> "ScannerCalibration":
        """The calibration a profile's scanner entry declares."""
        y = spec.volts_per_um_y if spec.volts_per_um_y is not None else spec.volts_per_um
        return cls(spec.volts_per_um, y, spec.offset_V, spec.max_command_V)

    def axis_to_volts(self, axis: str, um: np.ndarray | float) -> np.ndarray:
        """Positions on one axis ('x' or 'y') -> volts; ValueError when beyond the command limit."""
        gain, offset = (self.volts_per_um_x, self.offset_V[0]) if axis == "x" else (self.volts_per_um_y, self.offset_V[1])
        volts = np.asarray(um, dtype=np.float64) * gain + offset
        peak = float(np.max(np.abs(volts))) if volts.size else 0.0
        if peak > self.max_command_V + 1e-12:
            raise ValueError(f"galvo {axis} command reaches {peak:.4g} V, beyond the +-{self.max_command_V:g} V limit")
        return volts

    def to_volts(self, x_um: np.ndarray | float, y_um: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Sample-plane positions -> (x volts, y volts)."""
        return self.axis_to_volts("x", x_um), self.axis_to_volts("y", y_um)

    def to_um(self, x_V: np.ndarray | float, y_V: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Galvo volts -> sample-plane positions."""
        x = (np.asarray(x_V, dtype=np.float64) - self.offset_V[0]) / self.volts_per_um_x
        y = (np.asarray(y_V, dtype=np.float64) - self.offset_V[1]) / self.volts_per_um_y
        return x, y


@dataclass(frozen=True)
class ImageGeometry:
    """Where a reference image (e.g. a frame scan) lies in the sample plane: centre, pixel size, shape."""

    centre_um: tuple[float, float]
    pixel_size_um: float
    shape: tuple[int, int]  # (rows, columns)

    def pixel_to_um(self, column: float, row: float) -> tuple[float, float]:
        """Sample-plane position of a pixel centre (column along x, row along y)."""
        rows, cols = self.shape
        x = self.centre_um[0] + (column - (cols - 1) / 2.0) * self.pixel_size_um
        y = self.centre_um[1] + (row - (rows - 1) / 2.0) * self.pixel_size_um
        return x, y


def image_line_to_volts(geometry: ImageGeometry, start_px: tuple[float, float], end_px: tuple[float, float],
                        calibration: ScannerCalibration) -> tuple[tuple[float, float], tuple[float, float]]:
    """A scan line drawn on a reference image ((column, row) ends) -> galvo volts of its two ends."""
    ends = []
    for column, row in (start_px, end_px):
        x_um, y_um = geometry.pixel_to_um(column, row)
        vx, vy = calibration.to_volts(x_um, y_um)
        ends.append((float(vx), float(vy)))
    return ends[0], ends[1]
