"""Parameters of a FRAP step, as an operator writes them in a protocol file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.config.base import StrictModel
from rig.protocols.shared.common import ClampSpec, NeckAssumptionFields, StepBase

Point = tuple[float, float]


class ScanLine(StrictModel):
    """The scan line in the sample plane, across the spine head and its parent dendrite."""

    start_um: Point
    end_um: Point


class Bleach(StrictModel):
    """The bleach pulse: the beam parked on the spine head at high power."""

    point_um: Point = Field(description="centre of the spine head")
    duration_ms: float = Field(default=0.5, gt=0)
    power_fraction: float = Field(default=1.0, gt=0, le=1)


class FrapAnalysisSpec(NeckAssumptionFields):
    """How the online analysis turns recoveries into tau and neck resistance, with its assumptions."""

    head_roi_radius_um: float = Field(default=0.3, gt=0)
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)


class FrapStep(StepBase):
    """A FRAP measurement on one spine, repeated over sweeps."""

    kind: Literal["frap"]
    sweeps: int = Field(default=5, gt=0, le=10000)
    interval_s: float = Field(default=10.0, ge=0)
    scanner: str | None = None
    laser: str | None = None
    shutter: str | None = None
    pmt: str = "red"
    clamp: ClampSpec = ClampSpec()
    line: ScanLine
    line_rate_hz: float = Field(default=500.0, gt=0)
    pixels_per_line: int = Field(default=80, gt=1)
    fill_fraction: float = Field(default=0.8, gt=0.1, le=1)
    imaging_power_fraction: float = Field(default=0.1, gt=0, le=1)
    shutter_lead_ms: float = Field(default=5.0, ge=0)
    baseline_ms: float = Field(default=100.0, gt=0)
    recovery_ms: float = Field(default=1000.0, gt=0)
    bleach: Bleach
    analysis: FrapAnalysisSpec = FrapAnalysisSpec()
