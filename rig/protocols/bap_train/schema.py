"""The bap_train step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.ap_scan import (
    CcScanStep,
)
from rig.protocols.shared.calcium_steps import train_onsets_ms


class BapTrainStep(CcScanStep):
    """A train of bAPs per sweep (2 ms current pulses) with a line scan through the spine head."""

    kind: Literal["bap_train"]
    n_aps: int = Field(default=5, ge=1, le=100)
    ap_rate_hz: float = Field(default=50.0, gt=0, le=500)
    first_ap_ms: float = Field(default=40.0, gt=0)
    rise_ms: float = Field(default=2.0, ge=0, description="from an AP to the start of its level window")
    level_window_ms: float = Field(default=6.0, gt=0, description="window of each level before/after an AP")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _windows(self) -> "BapTrainStep":
        if self.n_aps > 1 and self.rise_ms + self.level_window_ms > 1000.0 / self.ap_rate_hz:
            raise ValueError("rise_ms + level_window_ms must fit between two APs")
        return self

    def onsets_ms(self) -> list[float]:
        """AP pulse onsets."""
        return train_onsets_ms(self.first_ap_ms, self.n_aps, self.ap_rate_hz)
