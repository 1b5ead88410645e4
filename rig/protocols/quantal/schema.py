"""The quantal step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.ap_scan import CcScanStep


class QuantalStep(CcScanStep):
    """Single synaptic stimuli, one per sweep, many sweeps."""

    kind: Literal["quantal"]
    sweeps: int = Field(default=200, ge=2, le=10000)
    stimulus_ms: float = Field(default=30.0, gt=0)
    sweep_ms: float = Field(default=150.0, gt=0)
    threshold_sd: float = Field(default=2.5, gt=0)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _timing(self) -> "QuantalStep":
        if self.stimulus_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave at least 20 ms after stimulus_ms")
        return self
