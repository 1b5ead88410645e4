"""Shared pydantic base for every configuration schema: strict keys, finite numbers, immutable values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A schema section where unknown keys are errors, every float is finite and values are immutable.

    `allow_inf_nan=False` refuses NaN and +-inf in every float field of every schema that derives
    from this one (profiles, simulation specs, protocol steps): a non-finite limit switches a
    safety check off (`x > inf` is never true, `x > nan` neither).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
