"""Per-spine session budgets: light dose and time held depolarized, as a profile or protocol sets them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.config.base import StrictModel


class BudgetSpec(StrictModel):
    """Per-spine limits over a session (the run files' folder): light and time held depolarized."""

    two_photon_fraction2_s: float | None = Field(default=None, gt=0, le=3600,
                                                 description="integral of the Pockels power fraction squared (s)")
    led_mJ: float | None = Field(default=None, gt=0, le=1e9, description="LED power x on-time (mW x s)")
    depolarized_s: float | None = Field(default=None, gt=0, le=3600, description="time voltage-clamped above "
                                        "depolarized_above_mV")
    depolarized_above_mV: float = Field(default=-20.0, ge=-200, le=200)
    spine_tolerance_um: float = Field(default=1.0, gt=0, le=50, description="targets this close are one spine")
    on_exceed: Literal["refuse", "stop"] = Field(
        default="refuse", description="refuse a run predicted to exceed a budget before any light, or run it and "
        "stop when a budget is reached (either way a sweep that would exceed it never starts)")
