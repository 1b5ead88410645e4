"""What every step shares: clamp settings, neck assumptions, step base, device resolution, problems, updates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from pydantic import Field, model_validator

from rig.config.base import StrictModel
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.model.neck_resistance import NeckAssumptions
from rig.protocols.stopping import StoppingRule


class ClampSpec(StrictModel):
    """Amplifier mode and holding for a step: VC with holding_mV, or CC with holding_pA."""

    mode: Literal["VC", "CC"] = "VC"
    holding_mV: float | None = None
    holding_pA: float | None = None

    @model_validator(mode="after")
    def _unit_matches_mode(self) -> "ClampSpec":
        if self.mode == "VC" and self.holding_pA is not None:
            raise ValueError("VC takes holding_mV, not holding_pA")
        if self.mode == "CC" and self.holding_mV is not None:
            raise ValueError("CC takes holding_pA, not holding_mV")
        return self

    @property
    def holding(self) -> float:
        """Holding value in the mode's unit (VC default -70 mV, CC default 0 pA)."""
        if self.mode == "VC":
            return -70.0 if self.holding_mV is None else self.holding_mV
        return 0.0 if self.holding_pA is None else self.holding_pA

    @property
    def field_name(self) -> str:
        """The holding field that applies to the mode."""
        return "holding_mV" if self.mode == "VC" else "holding_pA"


class NeckAssumptionFields(StrictModel):
    """What converting a diffusional tau to neck resistance assumes (R = rho_i tau D / V), with uncertainties."""

    dye_diffusion_um2_per_ms: float = Field(default=0.12, gt=0, description="diffusing dye (assumed)")
    dye_diffusion_rel_sd: float = Field(default=0.0, ge=0)
    cytoplasm_resistivity_ohm_cm: float = Field(default=150.0, gt=0)
    resistivity_rel_sd: float = Field(default=0.0, ge=0)
    head_volume_um3: float = Field(default=0.1, gt=0)
    head_volume_rel_sd: float = Field(default=0.2, ge=0)
    head_volume_source: str = "operator's estimate in the protocol"

    def neck_assumptions(self) -> NeckAssumptions:
        """The assumptions as the neck-resistance model takes them."""
        return NeckAssumptions(self.cytoplasm_resistivity_ohm_cm, self.resistivity_rel_sd,
                               self.dye_diffusion_um2_per_ms, self.dye_diffusion_rel_sd, self.head_volume_um3,
                               self.head_volume_rel_sd, self.head_volume_source)


class StepBase(StrictModel):
    """Fields every step has."""

    name: str = Field(default="", description="label of the step; defaults to its kind")
    amplifier: str | None = Field(default=None, description="amplifier device; default: the profile's only one")
    until: StoppingRule | None = Field(default=None, description="stop the step once an estimate is this precise "
                                       "(its sweeps are then the budget)")


@dataclass(frozen=True)
class StepProblem:
    """A limit or device problem of one step, at a field path inside the step."""

    field: str
    message: str


@dataclass
class AnalysisUpdate:
    """What one sweep's online analysis produced."""

    features: list[Feature] = field(default_factory=list)
    estimates: list[Estimate] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class SweepAnalysis(Protocol):
    """Online analysis of one step: fed each completed sweep, returns features and estimates."""

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Analyse one sweep and update the spine estimate."""


def resolve_device(profile: HardwareProfile, kind: str, requested: str | None, field: str,
                   required: bool = True) -> tuple[str | None, list[StepProblem]]:
    """The device name a step uses for a role: the requested one, or the profile's only one of that kind."""
    available = sorted(profile.devices_of_kind(kind))
    if requested is not None:
        if requested in available:
            return requested, []
        return None, [StepProblem(field, f"no {kind} named '{requested}' in the profile (available: "
                                         f"{', '.join(available) or 'none'})")]
    if len(available) == 1:
        return available[0], []
    if not available:
        return None, [StepProblem(field, f"the profile has no {kind}")] if required else []
    return None, [StepProblem(field, f"the profile has several of kind {kind} ({', '.join(available)}): name one")]


def check_clamp(profile: HardwareProfile, amplifier: str | None, clamp: ClampSpec, field: str) -> list[StepProblem]:
    """Holding value within the amplifier's limits."""
    if amplifier is None:
        return []
    limits = profile.amplifier(amplifier).limits
    low, high = limits.holding_mV if clamp.mode == "VC" else limits.holding_pA
    if not low <= clamp.holding <= high:
        unit = "mV" if clamp.mode == "VC" else "pA"
        return [StepProblem(f"{field}.{clamp.field_name}", f"{clamp.holding:g} {unit} is outside the profile limit "
                            f"[{low:g}, {high:g}] {unit} (devices.{amplifier}.limits.{clamp.field_name})")]
    return []
