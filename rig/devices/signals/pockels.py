"""Pockels cell: power-fraction waveforms with flyback blanking and a sample-exact bleach gate, and volts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.config.device_specs import PockelsCalibrationSpec


@dataclass(frozen=True)
class PockelsCalibration:
    """Measured power fraction at control volts; converts in both directions by linear interpolation."""

    volts: tuple[float, ...]
    power_fraction: tuple[float, ...]

    @classmethod
    def from_spec(cls, spec: PockelsCalibrationSpec) -> "PockelsCalibration":
        """The table of a profile's laser entry."""
        return cls(tuple(v for v, _ in spec.points), tuple(p for _, p in spec.points))

    @property
    def range_V(self) -> tuple[float, float]:
        """Lowest and highest control voltage of the table."""
        return self.volts[0], self.volts[-1]

    def to_volts(self, fraction: np.ndarray | float) -> np.ndarray:
        """Power fraction (0..1) -> control volts; ValueError outside [0, 1]."""
        f = np.asarray(fraction, dtype=np.float64)
        if f.size and (np.min(f) < 0.0 or np.max(f) > 1.0 or not np.all(np.isfinite(f))):
            raise ValueError(f"power fraction must be within [0, 1] (got {np.min(f):g} to {np.max(f):g})")
        return np.interp(f, self.power_fraction, self.volts)

    def to_power(self, volts: np.ndarray | float) -> np.ndarray:
        """Control volts -> power fraction (clamped to the table's ends)."""
        return np.interp(np.asarray(volts, dtype=np.float64), self.volts, self.power_fraction)


def gate_samples(duration_ms: float, sample_rate_hz: float, tolerance: float = 1e-6) -> int:
    """Samples of a gate of duration_ms; ValueError unless it is a whole number of samples."""
    exact = duration_ms * 1e-3 * sample_rate_hz
    count = int(round(exact))
    if count < 1 or abs(exact - count) > tolerance * max(1.0, exact):
        raise ValueError(f"{duration_ms:g} ms at {sample_rate_hz:g} Hz is {exact:g} samples, not a whole number: "
                         f"use {count / sample_rate_hz * 1e3:g} ms or a rate that divides it")
    return count


def bleach_gate(n_samples: int, start_sample: int, duration_ms: float, sample_rate_hz: float) -> np.ndarray:
    """Boolean gate, True for exactly the samples of the bleach pulse."""
    count = gate_samples(duration_ms, sample_rate_hz)
    if start_sample < 0 or start_sample + count > n_samples:
        raise ValueError(f"bleach [{start_sample}, {start_sample + count}) does not fit in {n_samples} samples")
    gate = np.zeros(n_samples, dtype=bool)
    gate[start_sample:start_sample + count] = True
    return gate


def line_scan_beam_mask(n_samples: int, first_sample: int, samples_per_line: int, active_samples: int,
                        n_slots: int, park_slots: tuple[int, ...] = ()) -> np.ndarray:
    """True on the active (pixel) samples of every scanned line; False in flybacks, parked slots and outside."""
    mask = np.zeros(n_samples, dtype=bool)
    for k in range(n_slots):
        if k not in park_slots:
            a = first_sample + k * samples_per_line
            mask[a:a + active_samples] = True
    return mask


def power_waveform(beam_mask: np.ndarray, imaging_fraction: float, bleach: np.ndarray | None = None,
                   bleach_fraction: float = 0.0) -> np.ndarray:
    """Power fraction per sample: imaging power on pixels, 0 in flybacks (blanked), bleach power in the gate."""
    power = np.where(beam_mask, imaging_fraction, 0.0)
    if bleach is not None:
        power = np.where(bleach, bleach_fraction, power)
    return power
