"""The membrane_test step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.common import StepBase


class MembraneTestStep(StepBase):
    """Current-clamp test pulses: holding_pA, a step of step_pA for step_ms, repeated `sweeps` times."""

    kind: Literal["membrane_test"]
    holding_pA: float = 0.0
    step_pA: float = Field(default=-50.0, description="test current step, not 0 (negative: hyperpolarizing)")
    baseline_ms: float = Field(default=20.0, gt=0, description="before the step")
    step_ms: float = Field(default=100.0, gt=0)
    after_ms: float = Field(default=30.0, gt=0, description="after the step, back at holding_pA")
    steady_ms: float = Field(default=20.0, gt=0, description="the steady-state window: the step's last this long")
    sweeps: int = Field(default=3, ge=1, le=1000)
    interval_s: float = Field(default=0.5, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)

    @model_validator(mode="after")
    def _windows(self) -> "MembraneTestStep":
        if self.step_pA == 0:
            raise ValueError("step_pA must not be 0 (the input resistance is the voltage change per pA)")
        if self.steady_ms > self.step_ms:
            raise ValueError("steady_ms must fit in step_ms")
        return self

    @property
    def duration_ms(self) -> float:
        """One sweep: baseline, step and the time after it."""
        return self.baseline_ms + self.step_ms + self.after_ms
