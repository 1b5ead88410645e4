"""The reversal step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.calcium_scan import (
    StimulusSpec,
)
from rig.protocols.shared.common import StepBase


class ReversalStep(StepBase):
    """Find the potential at which stimulation evokes zero synaptic current; later steps read `reversal_mV`."""

    kind: Literal["reversal"]
    start_mV: float = Field(default=-70.0, description="first holding (the evoked current must be inward here)")
    step_mV: float = Field(default=40.0, gt=0, description="largest depolarizing move while no holding has shown an "
                           "outward current (the search bisects towards the highest holding allowed)")
    max_mV: float | None = Field(default=None, description="highest holding; default the profile's limit")
    tolerance_mV: float = Field(default=1.0, gt=0, description="stop when the next holding moves less than half this "
                                "from one measured, or the bracket is this narrow")
    sweeps_per_level: int = Field(default=2, ge=1, le=50, description="measuring sweeps at each holding")
    max_levels: int = Field(default=6, ge=2, le=30, description="most holdings the search may visit")
    fit_window_mV: float = Field(default=15.0, gt=0, description="sweeps within this distance of the reversal enter "
                                 "the straight-line fit (the evoked current is close to linear in the holding there)")
    stimulus: StimulusSpec = StimulusSpec()
    stimulus_ms: float = Field(default=60.0, gt=0)
    sweep_ms: float = Field(default=120.0, gt=0)
    window_ms: tuple[float, float] = Field(default=(1.0, 25.0), description="response window after the stimulus")
    baseline_ms: float = Field(default=30.0, gt=0)
    min_response_pA: float = Field(default=3.0, ge=0, description="smallest mean inward current at start_mV")
    interval_s: float = Field(default=2.0, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"

    @model_validator(mode="after")
    def _windows(self) -> "ReversalStep":
        if self.stimulus_ms + self.window_ms[1] >= self.sweep_ms or self.window_ms[0] >= self.window_ms[1]:
            raise ValueError("window_ms must be increasing and end before sweep_ms")
        if self.baseline_ms >= self.stimulus_ms:
            raise ValueError("baseline_ms must fit before stimulus_ms")
        return self
