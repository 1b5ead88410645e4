"""Pockels calibration: power fraction at control volts, from power-meter readings or 2P PMT counts.

The cell is stepped through its control range (commanded as the power fractions the profile's table gives
those volts, so the program writes exactly those volts) and, at each step, the power at the sample is
read: with a power meter under the objective (read by software, or typed in by the operator), or from
the PMT counts on a uniform dye slide, which two-photon excitation makes proportional to the power
squared (Denk, Strickler & Webb 1990, Science 248:73), so fraction = sqrt(counts above dark / top counts
above dark). Fractions are normalized as the profile's are: (P - P at the lowest volts) / (P top - P lowest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rig.calibrate.acquisition import run_calibration_sweeps
from rig.calibrate.instruments import PowerReadings, read_holding_light
from rig.calibrate.nominal import nominal_pockels_table
from rig.calibrate.profile_copy import ProfileEdit, dated
from rig.config.device_specs import PockelsLaserSpec
from rig.config.problems import InvalidInput, Problem
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig
from rig.hal.interfaces import PockelsLaser, Shutter

DEFAULT_STEPS = 17
PMT_DWELL_MS = 1.0  # each level's light, then as long dark: no run above the imaging limit exceeds this
PMT_REPEATS = 10
PMT_RATE_HZ = 100_000.0


@dataclass(frozen=True)
class PockelsCalibration:
    """The measured table: control volts and normalized power fractions (strictly rising, 0 to 1)."""

    laser: str
    points: tuple[tuple[float, float], ...]
    raw: tuple[float, ...]  # the readings behind each point (mW, or PMT counts per ms)
    method: str


def control_volts(laser_spec: PockelsLaserSpec, steps: int) -> np.ndarray:
    """The volts stepped: evenly over the table's range."""
    volts, _ = nominal_pockels_table(laser_spec)
    return np.linspace(volts[0], volts[-1], steps)


def commanded_fractions(laser_spec: PockelsLaserSpec, volts: np.ndarray) -> np.ndarray:
    """The power fractions the program turns into exactly these volts (the profile's table inverted)."""
    table_v, table_f = nominal_pockels_table(laser_spec)
    return np.interp(volts, table_v, table_f)


def normalized_table(volts: np.ndarray, power: np.ndarray) -> tuple[tuple[float, float], ...]:
    """(volts, (P - P_first) / (P_last - P_first)), keeping only points that rise strictly (noise at the dark end)."""
    span = float(power[-1] - power[0])
    if span <= 0:
        raise ValueError("the power does not rise over the control range: is the laser on and the shutter open?")
    fraction = (power - power[0]) / span
    points = [(float(volts[0]), 0.0)]
    for v, f in zip(volts[1:-1], fraction[1:-1]):
        if points[-1][1] < f < 1.0:
            points.append((float(v), round(float(f), 5)))
    points.append((float(volts[-1]), 1.0))
    return tuple(points)


def _laser_and_shutters(rig: Rig) -> tuple[str, list[str]]:
    profile = rig.profile.profile
    lasers = list(profile.devices_of_kind("pockels_laser"))
    if not lasers:
        raise InvalidInput([Problem(str(rig.profile.path), "devices", "no pockels_laser to calibrate")])
    return lasers[0], list(profile.devices_of_kind("shutter"))


def calibrate_with_power_meter(rig: Rig, readings: PowerReadings, steps: int = DEFAULT_STEPS) -> PockelsCalibration:
    """Step the cell with the shutter open and read the power meter at each step; the rig is made safe after."""
    laser_name, shutters = _laser_and_shutters(rig)
    spec = rig.profile.profile.laser(laser_name)
    volts = control_volts(spec, steps)
    fractions = commanded_fractions(spec, volts)
    laser = rig.devices[laser_name]
    assert isinstance(laser, PockelsLaser)
    power = []
    try:
        for name in shutters:
            shutter = rig.devices[name]
            assert isinstance(shutter, Shutter)
            shutter.set_open(True)
        for v, f in zip(volts, fractions):
            laser.set_power(float(f))
            power.append(read_holding_light(rig, readings, f"Pockels at {v:.3f} V"))
    finally:
        rig.make_safe()
    return PockelsCalibration(laser_name, normalized_table(volts, np.asarray(power)), tuple(power),
                              f"{readings.method}, {steps} steps")


def pmt_staircase_plan(rig: Rig, laser: str, fractions: np.ndarray) -> SweepPlan:
    """Beam parked at the field centre; each level lit for PMT_DWELL_MS then dark as long, PMT_REPEATS times."""
    profile = rig.profile.profile
    scanners = list(profile.devices_of_kind("galvo_scanner"))
    if not scanners:
        raise InvalidInput([Problem(str(rig.profile.path), "devices", "the PMT method needs a galvo_scanner's PMTs")])
    dwell = int(round(PMT_DWELL_MS * PMT_RATE_HZ / 1000.0))
    pattern = np.concatenate([np.concatenate([np.full(dwell, f), np.zeros(dwell)]) for f in fractions])
    power = np.concatenate([np.tile(pattern, PMT_REPEATS), [0.0, 0.0]])
    n = len(power)
    outputs = {f"{laser}.power": power.astype(np.float32),
               f"{scanners[0]}.x": np.zeros(n, np.float32), f"{scanners[0]}.y": np.zeros(n, np.float32)}
    for shutter in profile.devices_of_kind("shutter"):
        outputs[f"{shutter}.open"] = np.append(np.ones(n - 2), [0.0, 0.0]).astype(np.float32)
    inputs = tuple(f"{scanners[0]}.{p}" for p in profile.scanner(scanners[0]).pmts)
    return SweepPlan(step_index=0, step_name="pockels calibration", kind="calibration", sweep_in_step=0,
                     sample_rate_hz=PMT_RATE_HZ, n_samples=n, outputs=outputs, inputs=inputs)


def calibrate_with_pmt(rig: Rig, steps: int = DEFAULT_STEPS) -> PockelsCalibration:
    """Step the cell on a uniform dye slide and take the power from the 2P counts (sqrt of counts above dark)."""
    laser_name, _ = _laser_and_shutters(rig)
    spec = rig.profile.profile.laser(laser_name)
    volts = control_volts(spec, steps)
    fractions = commanded_fractions(spec, volts)
    plan = pmt_staircase_plan(rig, laser_name, fractions)
    [data] = run_calibration_sweeps(rig, [plan], "pockels")
    counts = np.sum([data[c].astype(np.float64) for c in plan.inputs], axis=0)[: plan.n_samples - 2]
    dwell = int(round(PMT_DWELL_MS * PMT_RATE_HZ / 1000.0))
    blocks = counts.reshape(PMT_REPEATS, len(fractions), 2, dwell)
    lit = blocks[:, :, 0, 1:].mean(axis=(0, 2))  # the first sample of each level straddles the step
    dark = float(blocks[:, :, 1, 1:].mean())
    signal = np.clip(lit - dark, 0.0, None)
    power = np.sqrt(signal)  # 2P excitation: counts ~ power^2
    per_ms = tuple(float(c) * PMT_RATE_HZ / 1000.0 for c in lit)
    return PockelsCalibration(laser_name, normalized_table(volts, power), per_ms,
                              f"2P PMT counts on a uniform slide (fraction = sqrt of counts above dark), {steps} steps")


def calibrate_pockels(rig: Rig, method: Literal["meter", "pmt"], readings: PowerReadings | None = None,
                      steps: int = DEFAULT_STEPS) -> PockelsCalibration:
    """Measure the Pockels table by the chosen method."""
    if method == "pmt":
        return calibrate_with_pmt(rig, steps)
    assert readings is not None
    return calibrate_with_power_meter(rig, readings, steps)


def pockels_edits(result: PockelsCalibration) -> list[ProfileEdit]:
    """The laser's calibration table, replaced."""
    return [ProfileEdit(("devices", result.laser, "calibration", "points"),
                        [[round(v, 5), f] for v, f in result.points], dated(result.method))]
