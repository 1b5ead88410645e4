"""MultiClamp 700B class scaling: command units -> DAQ volts and scaled outputs -> pA / mV, by mode and gain."""

from __future__ import annotations

from typing import Literal

import numpy as np

from rig.config.device_specs import AmplifierScaling

Mode = Literal["VC", "CC"]


def command_volts(values: np.ndarray | float, mode: Mode, scaling: AmplifierScaling) -> np.ndarray:
    """Command in mV (VC) or pA (CC) -> DAQ volts; ValueError beyond the command range."""
    v = np.asarray(values, dtype=np.float64)
    volts = v / scaling.vc_command_mV_per_V if mode == "VC" else v / scaling.cc_command_pA_per_V
    low, high = scaling.command_range_V
    if volts.size and (np.min(volts) < low - 1e-12 or np.max(volts) > high + 1e-12):
        unit = "mV" if mode == "VC" else "pA"
        raise ValueError(f"amplifier command {np.min(v):g}..{np.max(v):g} {unit} needs {np.min(volts):.4g}.."
                         f"{np.max(volts):.4g} V, outside the command range [{low:g}, {high:g}] V")
    return volts


def command_units(volts: np.ndarray | float, mode: Mode, scaling: AmplifierScaling) -> np.ndarray:
    """DAQ command volts -> mV (VC) or pA (CC)."""
    v = np.asarray(volts, dtype=np.float64)
    return v * scaling.vc_command_mV_per_V if mode == "VC" else v * scaling.cc_command_pA_per_V


def primary_units(volts: np.ndarray, mode: Mode, scaling: AmplifierScaling, gain: float | None = None) -> np.ndarray:
    """Primary scaled output volts -> membrane current pA (VC) or potential mV (CC), at an output gain."""
    g = scaling.primary_gain if gain is None else gain
    mv = np.asarray(volts, dtype=np.float64) * 1000.0
    per_unit = scaling.vc_primary_mV_per_pA if mode == "VC" else scaling.cc_primary_mV_per_mV
    return mv / (per_unit * g)


def secondary_units(volts: np.ndarray, mode: Mode, scaling: AmplifierScaling, gain: float | None = None) -> np.ndarray:
    """Secondary output volts -> membrane potential mV (VC) or current pA (CC)."""
    g = scaling.secondary_gain if gain is None else gain
    mv = np.asarray(volts, dtype=np.float64) * 1000.0
    per_unit = scaling.vc_secondary_mV_per_mV if mode == "VC" else scaling.cc_secondary_mV_per_pA
    return mv / (per_unit * g)


def safe_command(mode: Mode, safe_holding_mV: float, safe_holding_pA: float) -> float:
    """The safe holding in the unit of the mode the amplifier is in."""
    return safe_holding_mV if mode == "VC" else safe_holding_pA
