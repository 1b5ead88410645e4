"""Amplifier telegraphs: decode mode and gain from telegraph voltages and check them against the plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping, TypeVar

import numpy as np

from rig.config.device_specs import TelegraphSpec

K = TypeVar("K", bound=Hashable)


class TelegraphError(ValueError):
    """A telegraph voltage matches no level of the table, or the amplifier is not set as the plan expects."""


@dataclass(frozen=True)
class TelegraphReading:
    """What the telegraphs say: mode ('VC', 'CC', 'I0') and primary gain; None where not wired."""

    mode: str | None
    gain: float | None


def decode_level(volts: float, levels: Mapping[K, float], tolerance_V: float, what: str) -> K:
    """The key whose level is nearest the voltage; TelegraphError unless it is within tolerance and unique."""
    if not levels:
        raise TelegraphError(f"{what} telegraph has no levels to decode against")
    ranked = sorted(levels.items(), key=lambda kv: abs(kv[1] - volts))
    key, level = ranked[0]
    if abs(level - volts) > tolerance_V:
        table = ", ".join(f"{k}={v:g} V" for k, v in levels.items())
        raise TelegraphError(f"{what} telegraph reads {volts:.3f} V, which matches no level ({table}) within "
                             f"+-{tolerance_V:g} V: check the cable and the telegraph table")
    if len(ranked) > 1 and abs(ranked[1][1] - volts) <= tolerance_V:
        raise TelegraphError(f"{what} telegraph reads {volts:.3f} V, within tolerance of both {key} and "
                             f"{ranked[1][0]}: narrow tolerance_V")
    return key


def decode(spec: TelegraphSpec, mode_V: float | None, gain_V: float | None) -> TelegraphReading:
    """Decode the mean voltages of the wired telegraph lines."""
    mode = None if mode_V is None else str(decode_level(mode_V, spec.mode_levels_V, spec.tolerance_V, "mode"))
    gains = {g: v for g, v in spec.gain_levels_V}
    gain = None if gain_V is None else float(decode_level(gain_V, gains, spec.tolerance_V, "gain"))
    return TelegraphReading(mode, gain)


def mean_volts(samples: np.ndarray) -> float:
    """Mean of a short telegraph recording (telegraphs are DC levels)."""
    return float(np.mean(np.asarray(samples, dtype=np.float64)))


def check_reading(reading: TelegraphReading, device: str, expected_mode: str | None,
                  expected_gain: float | None) -> list[str]:
    """What differs between the telegraphs and what the plan expects (empty when all agree)."""
    problems: list[str] = []
    if reading.mode is not None and expected_mode is not None and reading.mode != expected_mode:
        problems.append(f"{device} is in {reading.mode} but the protocol expects {expected_mode}: switch the "
                        f"amplifier (MultiClamp Commander) to {expected_mode}")
    if reading.gain is not None and expected_gain is not None and not np.isclose(reading.gain, expected_gain):
        problems.append(f"{device} primary output gain is {reading.gain:g} but the profile expects "
                        f"{expected_gain:g} (scaling.primary_gain): set the gain or the profile")
    return problems
