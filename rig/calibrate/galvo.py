"""Galvo calibration: a frame scan of a calibration grid of known pitch gives the volts per um of each axis.

The scan is commanded in the profile's um (so in volts through the profile's volts_per_um); the grid's
lines appear `pitch * (profile um per true um)` apart in the image. The measured volts per um is the
profile's times (apparent pitch / true pitch) per axis. Lines are located to a fraction of a pixel by
the centroid of each peak of the image's column (x) and row (y) means, and the pitch is the slope of a
straight-line fit of their positions against their index, so a missing line or an offset grid does not
bias it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from rig.calibrate.acquisition import run_calibration_sweeps
from rig.calibrate.profile_copy import ProfileEdit, dated
from rig.config.problems import InvalidInput, Problem
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig

FLYBACK_FRACTION = 0.1  # of each line's samples: the beam returns with the laser blanked
MIN_LINES = 3  # grid lines per axis a pitch is fitted to


class GridNotFound(ValueError):
    """The frame shows too few grid lines along an axis to measure the pitch."""


@dataclass(frozen=True)
class GridScanSettings:
    """The frame scan: devices, field, sampling, imaging power and the grid's known pitch."""

    scanner: str
    laser: str
    shutters: tuple[str, ...]
    pitch_um: float
    half_width_um: float
    pixels_per_line: int
    n_lines: int
    line_rate_hz: float
    power_fraction: float

    @property
    def samples_per_line(self) -> int:
        """Active pixels plus the blanked flyback."""
        return self.pixels_per_line + max(2, int(round(self.pixels_per_line * FLYBACK_FRACTION)))

    @property
    def sample_rate_hz(self) -> float:
        """One sample per pixel."""
        return self.line_rate_hz * self.samples_per_line


@dataclass(frozen=True)
class AxisFit:
    """The grid lines found along one axis and the pitch fitted to them (profile um)."""

    positions_um: tuple[float, ...]
    apparent_pitch_um: float
    residual_rms_um: float


@dataclass(frozen=True)
class GalvoCalibration:
    """Measured volts per um of each axis, with the fits they come from."""

    scanner: str
    pitch_um: float
    nominal_volts_per_um: tuple[float, float]
    volts_per_um: tuple[float, float]
    x: AxisFit
    y: AxisFit
    method: str


def grid_scan_settings(profile: HardwareProfile, pitch_um: float, source: str,
                       power_fraction: float | None = None) -> GridScanSettings:
    """Settings of the frame scan for this profile (InvalidInput when it lacks a scanner, laser or room)."""
    problems: list[Problem] = []
    scanners = list(profile.devices_of_kind("galvo_scanner"))
    lasers = list(profile.devices_of_kind("pockels_laser"))
    if not scanners:
        problems.append(Problem(source, "devices", "no galvo_scanner to calibrate"))
    if not lasers:
        problems.append(Problem(source, "devices", "no pockels_laser to image the grid with"))
    if not 1.0 <= pitch_um <= 200.0:
        problems.append(Problem(source, "--pitch-um", f"{pitch_um:g} um; allowed 1 to 200 um (the grid's pitch)"))
    if problems:
        raise InvalidInput(problems)
    scanner = profile.scanner(scanners[0])
    laser = profile.laser(lasers[0])
    half = 0.8 * scanner.limits.field_half_width_um
    if half < MIN_LINES * pitch_um / 2 * 1.25:
        raise InvalidInput([Problem(source, f"devices.{scanners[0]}.limits.field_half_width_um",
                                    f"the field shows fewer than {MIN_LINES} lines of a {pitch_um:g} um grid; "
                                    "allowed: a finer grid (smaller --pitch-um)")])
    pixels = min(scanner.limits.max_pixels_per_line, 512)
    samples = pixels + max(2, int(round(pixels * FLYBACK_FRACTION)))
    line_rate = min(scanner.limits.max_line_rate_hz, 0.9 * profile.daq.max_sample_rate_hz / samples, 1000.0)
    power = power_fraction if power_fraction is not None else min(0.1, laser.limits.max_imaging_power_fraction)
    n_lines = int(min(400, max(64, round(2 * half / 0.25))))  # scan lines 0.25 um apart or closer
    return GridScanSettings(scanners[0], lasers[0], tuple(profile.devices_of_kind("shutter")), pitch_um, half,
                            pixels, n_lines, line_rate, power)


def frame_scan_plan(profile: HardwareProfile, settings: GridScanSettings) -> SweepPlan:
    """A raster over the field: x ramps along each line, y steps per line; light only on the active pixels."""
    spl, px = settings.samples_per_line, settings.pixels_per_line
    n = spl * settings.n_lines + 2
    sample = np.arange(n - 2)
    in_line, line = sample % spl, sample // spl
    hw = settings.half_width_um
    x = np.where(in_line < px, -hw + 2 * hw * in_line / (px - 1), hw - 2 * hw * (in_line - px + 1) / (spl - px + 1))
    y = -hw + 2 * hw * line / (settings.n_lines - 1)
    active = in_line < px
    outputs = {f"{settings.scanner}.x": np.append(x, [0.0, 0.0]).astype(np.float32),
               f"{settings.scanner}.y": np.append(y, [0.0, 0.0]).astype(np.float32),
               f"{settings.laser}.power": np.append(np.where(active, settings.power_fraction, 0.0), [0.0, 0.0])
               .astype(np.float32)}
    for shutter in settings.shutters:
        outputs[f"{shutter}.open"] = np.append(np.ones(n - 2), [0.0, 0.0]).astype(np.float32)
    pmts = tuple(f"{settings.scanner}.{p}" for p in profile.scanner(settings.scanner).pmts)
    return SweepPlan(step_index=0, step_name="galvo calibration", kind="calibration", sweep_in_step=0,
                     sample_rate_hz=settings.sample_rate_hz, n_samples=n, outputs=outputs, inputs=pmts)


def frame_image(counts: np.ndarray, settings: GridScanSettings) -> np.ndarray:
    """The active pixels of a frame scan as an image (rows = scan lines, columns = pixels)."""
    spl = settings.samples_per_line
    frame = counts[: spl * settings.n_lines].reshape(settings.n_lines, spl)
    return frame[:, : settings.pixels_per_line].astype(np.float64)


def fit_grid_axis(profile_counts: np.ndarray, positions_um: np.ndarray, pitch_um: float, what: str) -> AxisFit:
    """Grid lines along one axis of the image (peaks of a mean profile) and the pitch that fits them."""
    step = float(positions_um[1] - positions_um[0])
    smooth = np.convolve(profile_counts, np.ones(3) / 3, mode="same")
    spread = float(np.percentile(smooth, 90) - np.percentile(smooth, 10))
    peaks, _ = find_peaks(smooth, distance=max(1, int(0.6 * pitch_um / step)), prominence=0.3 * spread)
    half_window = max(1, int(round(0.3 * pitch_um / step)))
    centres = []
    for p in peaks:
        lo, hi = max(0, p - half_window), min(len(profile_counts), p + half_window + 1)
        if lo == 0 or hi == len(profile_counts):
            continue  # a line cut by the field's edge has a biased centroid
        w = profile_counts[lo:hi] - np.min(profile_counts[lo:hi])
        if w.sum() <= 0:
            continue
        centres.append(float(np.sum(w * positions_um[lo:hi]) / w.sum()))
    if len(centres) < MIN_LINES:
        raise GridNotFound(f"{what}: {len(centres)} grid line(s) found, {MIN_LINES} needed (is the grid in focus "
                           "and lit?)")
    c = np.asarray(centres)
    first_gap = float(np.median(np.diff(c)))
    index = np.round((c - c[0]) / first_gap)
    slope, intercept = np.polyfit(index, c, 1)
    residual = c - (slope * index + intercept)
    rms = float(np.sqrt(np.mean(residual**2)))
    span = float(positions_um[-1] - positions_um[0])
    expected_lines = span / abs(slope) if slope else 0.0
    if not 0.5 * pitch_um <= abs(slope) <= 2.0 * pitch_um or rms > 0.1 * abs(slope) or len(c) < 0.6 * expected_lines:
        raise GridNotFound(f"{what}: the {len(c)} peaks found do not form a grid of about {pitch_um:g} um pitch "
                           f"(spacing {slope:.3g} um, scatter {rms:.2g} um): is the grid slide under the objective?")
    return AxisFit(tuple(map(float, c)), float(slope), rms)


def measure_grid(image: np.ndarray, settings: GridScanSettings) -> tuple[AxisFit, AxisFit]:
    """The pitch along x (columns) and y (rows) of a frame of the grid, in profile um."""
    hw = settings.half_width_um
    x_um = np.linspace(-hw, hw, image.shape[1])
    y_um = np.linspace(-hw, hw, image.shape[0])
    return (fit_grid_axis(image.mean(axis=0), x_um, settings.pitch_um, "x"),
            fit_grid_axis(image.mean(axis=1), y_um, settings.pitch_um, "y"))


def calibrate_galvo(rig: Rig, pitch_um: float, power_fraction: float | None = None) -> GalvoCalibration:
    """Scan a frame of the grid under the objective and measure each axis's volts per um."""
    profile = rig.profile.profile
    settings = grid_scan_settings(profile, pitch_um, str(rig.profile.path), power_fraction)
    plan = frame_scan_plan(profile, settings)
    [data] = run_calibration_sweeps(rig, [plan], "galvo")
    counts = sum(data[c].astype(np.float64) for c in plan.inputs)
    fit_x, fit_y = measure_grid(frame_image(np.asarray(counts), settings), settings)
    spec = profile.scanner(settings.scanner)
    nominal = (spec.volts_per_um, spec.volts_per_um_y if spec.volts_per_um_y is not None else spec.volts_per_um)
    measured = (nominal[0] * fit_x.apparent_pitch_um / pitch_um, nominal[1] * fit_y.apparent_pitch_um / pitch_um)
    method = (f"frame scan of a {pitch_um:g} um grid, {len(fit_x.positions_um)} x / {len(fit_y.positions_um)} y "
              f"lines")
    return GalvoCalibration(settings.scanner, pitch_um, nominal, measured, fit_x, fit_y, method)


def galvo_edits(result: GalvoCalibration) -> list[ProfileEdit]:
    """The profile values the measurement replaces."""
    base = ("devices", result.scanner)
    comment = dated(result.method)
    return [ProfileEdit(base + ("volts_per_um",), round(result.volts_per_um[0], 7), comment),
            ProfileEdit(base + ("volts_per_um_y",), round(result.volts_per_um[1], 7), comment, after="volts_per_um")]
