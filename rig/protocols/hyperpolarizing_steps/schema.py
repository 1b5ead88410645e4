"""The hyperpolarizing_steps step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.calcium_scan import StimulusSpec
from rig.protocols.shared.common import StepBase


class HyperpolarizingStepsStep(StepBase):
    """Synaptic responses at rest and at the steady state of hyperpolarizing current steps."""

    kind: Literal["hyperpolarizing_steps"]
    steps_pA: list[float] = Field(default=[-300.0, -400.0], min_length=1, description="step amplitudes (< 0)")
    sweeps: int = Field(default=5, ge=2, le=10000, description="sweeps per step amplitude (interleaved)")
    step_ms: float = Field(default=150.0, gt=0)
    stimulus: StimulusSpec = StimulusSpec()
    stimulus_rest_ms: float = Field(default=50.0, gt=0)
    step_onset_ms: float = Field(default=150.0, gt=0)
    stimulus_in_step_ms: float = Field(default=100.0, gt=0, description="from step onset to the second stimulus")
    baseline_ms: float = Field(default=20.0, gt=0)
    window_ms: tuple[float, float] = Field(default=(1.0, 30.0))
    e_syn_mV: float | Literal["reversal"] = Field(
        default=0.0, description="synaptic reversal potential (mV, assumed), or 'reversal': found by an earlier step")
    cc_holding_pA: float = 0.0
    sweep_ms: float = Field(default=400.0, gt=0)
    interval_s: float = Field(default=2.0, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _timing(self) -> "HyperpolarizingStepsStep":
        if any(s >= 0 for s in self.steps_pA):
            raise ValueError("steps_pA must be negative (hyperpolarizing)")
        second = self.step_onset_ms + self.stimulus_in_step_ms
        if self.stimulus_rest_ms + self.window_ms[1] > self.step_onset_ms:
            raise ValueError("the response at rest must end before the step starts")
        if second + self.window_ms[1] > self.step_onset_ms + self.step_ms:
            raise ValueError("the response during the step must end before the step ends")
        if self.step_onset_ms + self.step_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave 20 ms after the step")
        if self.baseline_ms > self.stimulus_rest_ms or self.baseline_ms > self.stimulus_in_step_ms:
            raise ValueError("baseline_ms must fit before each stimulus")
        return self

    def stimuli_ms(self) -> tuple[float, float]:
        """Stimulus at rest and at the step's steady state."""
        return self.stimulus_rest_ms, self.step_onset_ms + self.stimulus_in_step_ms
