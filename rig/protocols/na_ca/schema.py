"""Parameters of simultaneous Na+/Ca2+ imaging with one camera and alternating LED excitation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.protocols.shared.common import ClampSpec, StepBase
from rig.protocols.shared.conditions import parse_condition

Point = tuple[float, float]

# Indicator properties the analysis needs (SCIENCE.md section 4); the simulated specimen has its own copy.
SODIUM_INDICATORS = {"ANG-2": {"kd_mM": 84.0, "dynamic_range": 3.7}, "SBFI": {"kd_mM": 24.5, "dynamic_range": 0.56}}
CALCIUM_INDICATORS = {"bis-fura-2": {"falls_with_ca": True}, "OGB-1": {"falls_with_ca": False},
                      "fluo-5F": {"falls_with_ca": False}}


class LedIndicator(StrictModel):
    """One LED of the pair and the indicator it excites."""

    led: str
    indicator: str
    ion: Literal["sodium", "calcium"]


class Stimulus(StrictModel):
    """Extracellular stimulation: pulses of the stimulus isolator."""

    onsets_ms: list[float] = Field(default=[50.0, 61.0], min_length=1)
    width_ms: float = Field(default=0.2, gt=0)
    amplitude_V: float = Field(default=-4.0)


class Rois(StrictModel):
    """Regions in the sample plane (um): head, neck, parent dendrite, background (>= 10 um away), fiducial."""

    head_um: Point
    neck_um: Point
    dendrite_um: Point
    background_um: Point
    local_background_um: list[Point] | None = Field(
        default=None, description="points beside the dendrite at the head's distance, away from spines (e.g. two "
        "each side along the dendrite): the head ROI's own pixel footprint, moved by whole pixels to each point, "
        "is the background, so it samples the dendrite's blurred edge and the local haze exactly as the head ROI "
        "does (widefield); the far background is used if absent")
    reference_um: list[Point] | None = Field(
        default=None, description="points on the parent dendrite away from the imaged spine whose fluorescence "
        "the stimulus does not change: each frame is divided by their intensity over the far background (LED "
        "intensity and indicator bleaching, frame by frame); the darkest image corner is used if absent")
    reference_radius_um: float = Field(default=1.0, gt=0)
    radius_um: float = Field(default=0.6, gt=0)
    profile_start_um: Point = Field(description="line through the spine for the spatial extent")
    profile_end_um: Point


class NaCaAnalysisSpec(StrictModel):
    """Assumptions of the online analysis."""

    resting_sodium_mM: float = Field(default=4.0, ge=0)
    sodium_diffusion_um2_per_ms: float = Field(default=0.6, gt=0)
    cytoplasm_resistivity_ohm_cm: float = Field(default=150.0, gt=0)
    resistivity_rel_sd: float = Field(default=0.0, ge=0)
    head_volume_um3: float = Field(default=0.1, gt=0)
    head_volume_rel_sd: float = Field(default=0.2, ge=0)
    head_volume_source: str = "operator's estimate in the protocol"
    corner_px: int = Field(default=8, gt=1)
    subtract_no_stimulus_drift: bool = Field(
        default=True, description="subtract the no-stimulus sweep's smooth dF/F drift (bleaching); with a "
        "reference region the drift is already divided out frame by frame and this only adds that sweep's noise")
    weighted_head_roi: bool = Field(
        default=True, description="weight head pixels by the head's own light in the mean image (the no-stimulus "
        "sweep's, else the sweep's pre-stimulus frames) instead of a hard disc: needs local background points")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)


class NaCaStep(StepBase):
    """Na/Ca imaging of one spine: LED pair alternating frame by frame, paired stimuli, one camera."""

    kind: Literal["na_ca"]
    sweeps: int = Field(default=8, gt=0, le=50, description="stimulated sweeps (5-10 before photodamage)")
    no_stimulus_sweep: bool = True
    interval_s: float = Field(default=10.0, ge=0)
    camera: str | None = None
    led_source: str | None = None
    stimulator: str | None = None
    shutter: str | None = None
    leds: list[LedIndicator] = Field(min_length=2, max_length=2)
    frame_rate_hz: float = Field(default=500.0, gt=0)
    exposure_ms: float = Field(default=1.8, gt=0)
    binning: int = 1
    roi_px: tuple[int, int, int, int] = (0, 0, 80, 80)
    field_center_um: Point = Field(description="sample-plane position of the image centre")
    duration_ms: float = Field(default=200.0, gt=0)
    sample_rate_hz: float = Field(default=20000.0, gt=0)
    stimulus: Stimulus = Stimulus()
    clamp: ClampSpec = ClampSpec(mode="CC")
    condition: str = Field(default="control", description="bath, e.g. 'CPP' to isolate AMPA-mediated Na entry")
    rois: Rois
    analysis: NaCaAnalysisSpec = NaCaAnalysisSpec()

    @model_validator(mode="after")
    def _one_of_each(self) -> "NaCaStep":
        parse_condition(self.condition)
        ions = sorted(li.ion for li in self.leds)
        if ions != ["calcium", "sodium"]:
            raise ValueError("leds must pair one sodium and one calcium indicator")
        for li in self.leds:
            known = SODIUM_INDICATORS if li.ion == "sodium" else CALCIUM_INDICATORS
            if li.indicator not in known:
                raise ValueError(f"unknown {li.ion} indicator '{li.indicator}' (known: {', '.join(known)})")
        return self
