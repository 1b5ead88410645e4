"""Shared pydantic base for every configuration schema: strict keys, immutable values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A schema section where unknown keys are errors and values are immutable after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
