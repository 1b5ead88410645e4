"""Parameters of a voltage-imaging step (voltage-sensitive dye line scans through spine and dendrite)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.protocols.shared.calcium_scan import ImagingSpec, StimulusSpec
from rig.protocols.shared.calcium_steps import ApPulseSpec
from rig.protocols.shared.common import StepBase

SweepRole = Literal["synaptic", "ap", "hyperpolarizing"]
ROLES: tuple[str, ...] = ("synaptic", "ap", "hyperpolarizing")
Point = tuple[float, float]


class VsdRois(StrictModel):
    """Which PMT carries the dye and where the parent-dendrite ROI is (the head ROI is imaging.spine_um)."""

    vsd_pmt: str = Field(default="red", description="PMT that sees the voltage-sensitive dye (one of the imaging PMTs)")
    dendrite_um: Point = Field(description="point of the parent dendrite on the scan line (dendrite ROI centre)")
    dendrite_roi_radius_um: float = Field(default=0.4, gt=0, le=5)


class HyperpolarizingStepSpec(StrictModel):
    """The long hyperpolarizing current step whose steady state normalizes each ROI's dye sensitivity."""

    amplitude_pA: float = Field(default=-300.0, lt=0, ge=-2000)
    duration_ms: float = Field(default=150.0, gt=0, le=2000)
    steady_window_ms: float = Field(default=30.0, gt=0, description="last ms of the step averaged as steady state")

    @model_validator(mode="after")
    def _window(self) -> "HyperpolarizingStepSpec":
        if self.steady_window_ms >= self.duration_ms:
            raise ValueError("steady_window_ms must be shorter than duration_ms")
        return self


class VsdCalibrationSpec(StrictModel):
    """How normalized signals become mV: the hyperpolarizing step's steady state at the imaged site, or a bAP of
    known amplitude in the parent dendrite (each an assumption with its uncertainty, carried into the intervals)."""

    scale: Literal["step", "bap"] = Field(
        default="step", description="step: 1 normalized unit is the somatic steady-state step times "
                                    "steady_state_attenuation; bap: the dendrite's bAP is bap_amplitude_mV")
    steady_state_attenuation: float = Field(
        default=0.9, gt=0, le=1, description="steady-state step at the imaged site / at the soma (a passive sealed-end "
                                             "cable: cosh((L - x)/lambda)/cosh(L/lambda); ~0.85-0.95 at 150-200 um)")
    steady_state_attenuation_rel_sd: float = Field(default=0.05, ge=0, le=0.5,
                                                   description="relative SD of steady_state_attenuation")
    bap_amplitude_mV: float | None = Field(
        default=None, gt=0, le=200, description="bAP amplitude in the parent dendrite (scale: bap), e.g. from a "
                                                "dendritic recording at the same distance")
    bap_amplitude_rel_sd: float = Field(default=0.1, ge=0, le=0.5, description="relative SD of bap_amplitude_mV")
    ap_window_ms: tuple[float, float] = Field(default=(-1.0, 6.0), description="bAP search window from the somatic peak")

    @model_validator(mode="after")
    def _window(self) -> "VsdCalibrationSpec":
        if self.ap_window_ms[0] >= self.ap_window_ms[1]:
            raise ValueError("ap_window_ms must be [start, stop] with start < stop")
        if self.scale == "bap" and self.bap_amplitude_mV is None:
            raise ValueError("scale 'bap' needs bap_amplitude_mV (the bAP amplitude in the parent dendrite)")
        return self

    @property
    def rel_sd(self) -> float:
        """Relative SD of the mV scale's assumption."""
        return self.steady_state_attenuation_rel_sd if self.scale == "step" else self.bap_amplitude_rel_sd


class VsdAnalysisSpec(StrictModel):
    """Detection and intervals of the averaged responses."""

    response_window_ms: tuple[float, float] = Field(
        default=(0.5, 8.0), description="EPSP peak search after the stimulus (AMPA EPSPs in head and dendrite peak "
                                        "within ~3 ms; a longer window only adds noise lines to pick from)")
    threshold_sd: float = Field(default=2.5, gt=0, description="clear response: peak above this x baseline-noise SD")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap_samples: int = Field(default=200, ge=20, le=10000, description="resamplings of the sweeps (intervals)")
    seed: int = Field(default=0, ge=0, description="of the bootstrap's random numbers (reproducible intervals)")

    @model_validator(mode="after")
    def _window(self) -> "VsdAnalysisSpec":
        if not 0 <= self.response_window_ms[0] < self.response_window_ms[1]:
            raise ValueError("response_window_ms must be [start, stop] with 0 <= start < stop")
        return self


class VsdStep(StepBase):
    """Synaptic, somatic-AP and hyperpolarizing CC sweeps interleaved, each with a VSD line scan."""

    kind: Literal["vsd"]
    imaging: ImagingSpec
    rois: VsdRois
    cycle: list[SweepRole] = Field(default=["synaptic", "ap", "synaptic", "hyperpolarizing"], min_length=3,
                                   description="sweep types in the order they repeat")
    sweeps: int = Field(default=240, ge=3, le=10000, description="sweeps in all (types taken from the cycle in turn)")
    sweep_rate_hz: float = Field(default=0.3, gt=0, le=5, description="sweep starts per second")
    sweep_ms: float = Field(default=220.0, gt=0, le=5000)
    event_ms: float = Field(default=50.0, gt=0, description="onset of the stimulus, AP pulse or step in each sweep")
    stimulus: StimulusSpec = StimulusSpec()
    ap_pulse: ApPulseSpec = ApPulseSpec()
    hyperpolarizing_step: HyperpolarizingStepSpec = HyperpolarizingStepSpec()
    cc_holding_pA: float = 0.0
    condition: str = "control"
    calibration: VsdCalibrationSpec = VsdCalibrationSpec()
    analysis: VsdAnalysisSpec = VsdAnalysisSpec()

    @model_validator(mode="after")
    def _consistent(self) -> "VsdStep":
        missing = [r for r in ROLES if r not in self.cycle]
        if missing:
            raise ValueError(f"cycle must contain every sweep type (missing: {', '.join(missing)})")
        if self.sweeps < len(self.cycle):
            raise ValueError(f"sweeps ({self.sweeps}) must run the cycle at least once ({len(self.cycle)} sweeps)")
        if self.rois.vsd_pmt not in (self.imaging.green_pmt, self.imaging.red_pmt):
            raise ValueError(f"rois.vsd_pmt '{self.rois.vsd_pmt}' must be imaging.green_pmt or imaging.red_pmt")
        if self.event_ms - self.imaging.shutter_lead_ms < 10:
            raise ValueError("event_ms must leave at least 10 ms of imaged baseline after the shutter lead")
        ends = [self.event_ms + self.hyperpolarizing_step.duration_ms, self.event_ms + self.analysis.response_window_ms[1],
                self.event_ms + self.ap_pulse.width_ms + self.calibration.ap_window_ms[1] + 10]
        if max(ends) + 10 > self.sweep_ms:
            raise ValueError(f"sweep_ms ({self.sweep_ms:g}) must leave 10 ms after the step and the response "
                             f"windows (needs {max(ends) + 10:g} ms)")
        return self

    def role(self, sweep_in_step: int) -> str:
        """Sweep type of the k-th sweep."""
        return self.cycle[sweep_in_step % len(self.cycle)]

    def count(self, role: str) -> int:
        """How many sweeps of a type the step runs."""
        return sum(1 for k in range(self.sweeps) if self.role(k) == role)

    @property
    def interval_after_s(self) -> float:
        """Pause after each sweep so sweeps start at sweep_rate_hz."""
        return max(0.0, 1.0 / self.sweep_rate_hz - self.sweep_ms / 1000.0)
