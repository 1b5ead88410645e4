"""The hold step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.protocols.shared.common import ClampSpec, StepBase


class HoldStep(StepBase):
    """Hold the soma at a potential or current, recording the amplifier, in segments."""

    kind: Literal["hold"]
    duration_s: float = Field(gt=0, le=3600)
    clamp: ClampSpec = ClampSpec()
    sample_rate_hz: float = Field(default=1000.0, gt=0)
    segment_s: float = Field(default=10.0, gt=0, description="recorded in sweeps of this length")
