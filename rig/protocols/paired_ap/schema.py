"""The paired_ap step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.ap_scan import (
    CcScanStep,
)


class PairedApStep(CcScanStep):
    """Two bAPs per sweep, spacing_ms apart; the second increment over the first calibrates the indicator."""

    kind: Literal["paired_ap"]
    first_ap_ms: float = Field(default=40.0, gt=0)
    spacing_ms: float = Field(default=20.0, gt=0)
    rise_ms: float = Field(default=6.0, ge=0, description="from an AP pulse onset to its level window: the AP "
                           "fires at the end of a 2 ms pulse and the dye-bound head Ca rises over ~3 ms more, so the "
                           "window must start ~6 ms after the onset to lie on the plateau (on the rise, F3 and F1 "
                           "depend on sub-ms timing and a comes out low)")
    level_window_ms: float = Field(default=4.0, gt=0)
    rest_ca_nM: float = Field(default=75.0, ge=0, description="resting [Ca] (assumed)")
    kd_nM: float = Field(default=800.0, gt=0, description="indicator Kd (fluo-5F 0.8 uM)")
    indicator_dynamic_range: float = Field(default=15.0, gt=1, description="F_max/F_min of the indicator as imaged")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _windows(self) -> "PairedApStep":
        if self.rise_ms + 2 * self.level_window_ms > self.spacing_ms:
            raise ValueError("spacing_ms must hold rise_ms + two level windows (F1 after AP1, F2 before AP2)")
        if self.level_window_ms > self.first_ap_ms:
            raise ValueError("level_window_ms must fit before the first AP")
        return self

    def onsets_ms(self) -> list[float]:
        """The two AP pulse onsets."""
        return [self.first_ap_ms, self.first_ap_ms + self.spacing_ms]
