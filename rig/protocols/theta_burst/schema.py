"""The theta_burst step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.calcium_steps import ApPulseSpec, train_onsets_ms
from rig.protocols.shared.common import StepBase

_LEAD_MS = 20.0


_TAIL_MS = 50.0


class ThetaBurstStep(StepBase):
    """Trains of bursts of bAPs in current clamp (no imaging)."""

    kind: Literal["theta_burst"]
    trains: int = Field(default=3, ge=1, le=100)
    train_rate_hz: float = Field(default=0.1, gt=0, le=1)
    bursts_per_train: int = Field(default=10, ge=1, le=100)
    burst_rate_hz: float = Field(default=5.0, gt=0, le=50)
    aps_per_burst: int = Field(default=5, ge=1, le=20)
    ap_rate_hz: float = Field(default=100.0, gt=0, le=500)
    ap_pulse: ApPulseSpec = ApPulseSpec()
    cc_holding_pA: float = 0.0
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"

    @model_validator(mode="after")
    def _nesting(self) -> "ThetaBurstStep":
        burst_ms = (self.aps_per_burst - 1) * 1000.0 / self.ap_rate_hz + self.ap_pulse.width_ms
        if self.bursts_per_train > 1 and burst_ms >= 1000.0 / self.burst_rate_hz:
            raise ValueError("a burst (aps_per_burst at ap_rate_hz) must end before the next burst starts")
        if self.ap_pulse.width_ms >= 1000.0 / self.ap_rate_hz:
            raise ValueError("ap_pulse.width_ms must be shorter than the AP interval")
        if self.trains > 1 and self.train_ms() / 1000.0 >= 1.0 / self.train_rate_hz:
            raise ValueError("a train must end before the next train starts (lower train_rate_hz)")
        return self

    def ap_onsets_ms(self) -> list[float]:
        """AP pulse onsets within one train sweep."""
        onsets: list[float] = []
        for burst in train_onsets_ms(_LEAD_MS, self.bursts_per_train, self.burst_rate_hz):
            onsets += train_onsets_ms(burst, self.aps_per_burst, self.ap_rate_hz)
        return onsets

    def train_ms(self) -> float:
        """Duration of one train sweep (lead, bursts, tail)."""
        return self.ap_onsets_ms()[-1] + self.ap_pulse.width_ms + _TAIL_MS
