"""The quantal step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.protocols.shared.ap_scan import CcScanStep


class QuantalVoltageClamp(StrictModel):
    """Voltage clamp of the quantal sweeps: held at `rest_mV`, stepped to `depolarized_mV` around the stimulus.

    At a depolarized potential the NMDA receptors are unblocked, so every release gives the head a CaT however
    little the synapse depolarizes the head at rest (the physiologist's optical quantal analysis); the step is
    kept short so the cell is held depolarized for a fraction of each sweep, not between sweeps."""

    rest_mV: float = Field(default=-70.0, description="holding between the sweeps and before the step")
    depolarized_mV: float = Field(default=0.0, description="holding during the step (relieves the Mg block)")
    step_before_ms: float = Field(default=20.0, ge=0, description="step onset before the stimulus")
    step_ms: float = Field(default=80.0, gt=0, description="duration of the step")


class QuantalStep(CcScanStep):
    """Single synaptic stimuli, one per sweep, many sweeps."""

    kind: Literal["quantal"]
    sweeps: int = Field(default=200, ge=2, le=10000)
    stimulus_ms: float = Field(default=30.0, gt=0)
    sweep_ms: float = Field(default=150.0, gt=0)
    threshold_sd: float = Field(default=2.5, gt=0)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    clamp: Literal["CC", "VC"] = Field(default="CC", description="CC: free-running at cc_holding_pA (Mg block "
                                       "at rest); VC: `voltage_clamp` steps the cell depolarized around the stimulus")
    voltage_clamp: QuantalVoltageClamp = QuantalVoltageClamp()

    @model_validator(mode="after")
    def _timing(self) -> "QuantalStep":
        if self.stimulus_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave at least 20 ms after stimulus_ms")
        if self.clamp == "VC":
            vc = self.voltage_clamp
            if vc.step_before_ms > self.stimulus_ms - 5:
                raise ValueError("voltage_clamp.step_before_ms must leave at least 5 ms before the step")
            if self.stimulus_ms - vc.step_before_ms + vc.step_ms > self.sweep_ms - 5:
                raise ValueError("voltage_clamp: the step must end at least 5 ms before sweep_ms")
        return self

    def step_window_ms(self) -> tuple[float, float] | None:
        """(onset, end) of the depolarizing VC step within the sweep; None in CC."""
        if self.clamp != "VC":
            return None
        onset = self.stimulus_ms - self.voltage_clamp.step_before_ms
        return onset, onset + self.voltage_clamp.step_ms
