"""Parameters of an fCaT step (fractional calcium transient), as an operator writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.protocols.shared.calcium_scan import ImagingSpec, StimulusSpec
from rig.protocols.shared.common import NeckAssumptionFields, StepBase


class FcatAnalysisSpec(NeckAssumptionFields):
    """How sweeps become fCaT, tau_decay, R_neck, release probability and head depolarization (assumptions)."""

    threshold_sd: float = Field(default=2.5, gt=0, description="success: amplitude above this x baseline-noise SD")
    silent_below: float = Field(default=0.05, ge=0, description="fCaT below this: calcium-silent")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    calibrate_to_calcium: bool = Field(
        default=True, description="ratio Ca changes (G/R through the indicator's binding), not dG/R: dG/R "
        "saturates at the reversal and biases fCaT upward")
    indicator_kd_uM: float = Field(default=0.8, gt=0, description="fluo-5F")
    indicator_dynamic_range: float = Field(default=15.0, gt=1, description="F_max/F_min of the indicator as imaged")
    rest_ca_uM: float = Field(default=0.075, ge=0, description="resting head [Ca] (the calibration's anchor)")
    rest_mV: float | None = Field(
        default=None, description="resting potential of the head in CC; None: the CC sweeps' pre-stimulus Vm")
    mg_mM: float = Field(default=1.0, ge=0, description="bath Mg (the NMDA block the inversion assumes)")
    e_ca_mV: float = 130.0
    synaptic_reversal_mV: float = Field(
        default=0.0, ge=-30, le=30, description="the head's potential in the reversal block: the synaptic "
        "(AMPA/NMDA) reversal, ~0 mV. The somatic holding that nulls the evoked current differs from it by the "
        "dendrite's space-clamp error (about +16 mV on the simulated cell), so it is not the head's potential")
    nmda_tau_rise_ms: float = Field(default=13.0, gt=0, description="NMDA conductance: the CaT template's influx")
    nmda_tau_decay_ms: float = Field(default=70.0, gt=0)
    prior_ca_decay_ms: float = Field(default=100.0, gt=0, description="Ca decay of the template before any "
                                     "success is detected (then fitted to the successes)")
    own_shape_alpha: float = Field(
        default=0.01, gt=0, lt=1, description="a condition's CaTs get a template shape of their own only when its "
        "detections beat false positives at this level; else the reversal's shape (noise-fitted shapes biased fCaT)")
    bootstrap_resamples: int = Field(default=400, ge=100, le=20000, description="resamples of the fCaT interval")
    depolarization_tau_rise_ms: float = Field(default=10.0, gt=0, description="head depolarization during the NMDA conductance")
    depolarization_tau_decay_ms: float = Field(default=90.0, gt=0)


class FcatStep(StepBase):
    """Synaptic CaTs in the spine head at the reversal potential (VC) and free-running (CC)."""

    kind: Literal["fcat"]
    imaging: ImagingSpec
    stimulus: StimulusSpec = StimulusSpec()
    sweeps_per_condition: int = Field(default=10, ge=2, le=1000)
    min_reversal_releases: int = Field(
        default=0, ge=0, le=1000, description="CaTs to detect at the reversal: after sweeps_per_condition of each "
        "condition, the step adds blocks of both conditions (a third of sweeps_per_condition each) while fewer "
        "are detected, up to max_sweeps_per_condition (a synapse that rarely releases needs more sweeps for an "
        "fCaT); 0: no extension")
    max_sweeps_per_condition: int | None = Field(
        default=None, ge=2, le=1000, description="sweeps of each condition at most, extensions included "
        "(required with min_reversal_releases)")
    order: Literal["blocks", "blocks_cc_first", "interleaved"] = Field(
        default="blocks", description="blocks: reversal then CC; blocks_cc_first: CC on the rested cell, then the "
        "reversal; interleaved: alternating (a settle sweep at every switch)")
    reversal_holding: Literal["reversal"] | float = Field(
        default="reversal", description="VC holding (mV) of the reversal sweeps, or 'reversal': found by an earlier step")
    holding_range_mV: tuple[float, float] = Field(default=(-20.0, 20.0), description="allowed reversal holdings")
    cc_holding_pA: float = 0.0
    stimulus_ms: float = Field(default=30.0, gt=0)
    sweep_ms: float = Field(default=150.0, gt=0)
    interval_s: float = Field(default=2.0, ge=0)
    condition: str = "control"
    analysis: FcatAnalysisSpec = FcatAnalysisSpec()

    @model_validator(mode="after")
    def _timing(self) -> "FcatStep":
        if self.stimulus_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave at least 20 ms after stimulus_ms")
        if self.stimulus_ms - self.imaging.shutter_lead_ms < 10:
            raise ValueError("stimulus_ms must leave at least 10 ms of imaged baseline after the shutter lead")
        low, high = self.holding_range_mV
        if low >= high:
            raise ValueError("holding_range_mV must be [low, high] with low < high")
        if isinstance(self.reversal_holding, float) and not low <= self.reversal_holding <= high:
            raise ValueError("reversal_holding must lie inside holding_range_mV")
        if self.min_reversal_releases > 0:
            if self.max_sweeps_per_condition is None:
                raise ValueError("min_reversal_releases needs max_sweeps_per_condition (the most sweeps to extend to)")
            if self.until is not None:
                raise ValueError("min_reversal_releases and until: are two stopping rules; use one")
        if self.max_sweeps_per_condition is not None and self.max_sweeps_per_condition < self.sweeps_per_condition:
            raise ValueError("max_sweeps_per_condition must be at least sweeps_per_condition")
        return self
