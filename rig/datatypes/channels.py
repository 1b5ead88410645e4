"""ChannelSpec: what one recorded channel stores per item (dtype, item shape, physical unit)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChannelSpec:
    """One stored channel: numpy dtype string, shape of one item (() for a sample) and its physical unit."""

    dtype: str
    item_shape: tuple[int, ...]
    unit: str

    @property
    def item_bytes(self) -> int:
        """Bytes of one item (sample or frame)."""
        return int(np.prod(self.item_shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


# The plan's unit conventions by output role (SweepPlan docstring); other outputs (LEDs, camera trigger) are TTLs.
OUTPUT_ROLE_UNITS = {"x": "um", "y": "um", "power": "fraction", "open": "ttl", "trigger": "V"}
PMT_UNIT = "counts"


def amplifier_unit(role: str, mode: str | None) -> str:
    """Unit of an amplifier channel: command and secondary in mV (VC) or pA (CC), primary the other way round."""
    voltage = role != "primary"
    if mode == "CC":
        voltage = not voltage
    return "mV" if voltage else "pA"
