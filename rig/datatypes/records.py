"""Records that flow from the Runner and the online model to every consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Union

import numpy as np

from rig.datatypes.sweep_plan import SweepPlan


@dataclass(frozen=True)
class RunStarted:
    """A run begins: what was asked, on which rig, with which software, and every plan."""

    protocol_name: str
    protocol_path: str
    protocol_text: str
    profile_path: str
    profile_text: str
    versions: Mapping[str, str]
    plans: tuple[SweepPlan, ...]
    specimen: Mapping[str, Any] | None
    started_unix: float
    run_path: str = ""
    n_planned_sweeps: int = -1  # sweeps expected (adaptive steps may differ from len(plans)); -1: len(plans)

    @property
    def planned_sweeps(self) -> int:
        """The sweeps expected when the run starts."""
        return self.n_planned_sweeps if self.n_planned_sweeps >= 0 else len(self.plans)


@dataclass(frozen=True)
class SweepStarted:
    """A sweep begins; carries its plan, the run's planned sweep count now and, when simulated, the true parameters."""

    sweep_index: int
    plan: SweepPlan
    started_unix: float
    truth: Mapping[str, float] | None = None
    n_planned_sweeps: int = -1  # never below sweep_index + 1 when set by the Runner; -1: unknown


@dataclass(frozen=True)
class DataChunk:
    """A block of samples of one channel ('in:' recorded input or 'out:' commanded output)."""

    sweep_index: int
    channel: str
    first_sample: int
    samples: np.ndarray


@dataclass(frozen=True)
class SweepEnded:
    """A sweep ends; `completed` is False when it was cut short (abort or fault)."""

    sweep_index: int
    n_samples: int
    completed: bool
    ended_unix: float


@dataclass(frozen=True)
class Feature:
    """A per-sweep measurement from the online analysis (e.g. this sweep's tau)."""

    sweep_index: int
    step_name: str
    name: str
    value: float
    low: float
    high: float
    unit: str


BOUND_KINDS = ("", "lower", "upper")  # two-sided interval, one-sided lower bound, one-sided upper bound


@dataclass(frozen=True)
class Estimate:
    """The spine estimate after a sweep, combining all sweeps of the step so far.

    `bound` is "" for a two-sided interval [low, high], "lower" for a one-sided lower bound
    (value >= low; `high` is NaN) or "upper" for a one-sided upper bound (value <= high; `low`
    is NaN). `trend` is a sentence when the per-sweep values drift beyond their intervals
    (e.g. "tau rose x3.1 over sweeps 1-8"), "" otherwise.
    """

    sweep_index: int
    step_name: str
    name: str
    value: float
    low: float
    high: float
    unit: str
    basis: str = ""
    bound: str = ""
    trend: str = ""

    def __post_init__(self) -> None:
        if self.bound not in BOUND_KINDS:
            raise ValueError(f"Estimate.bound must be one of {BOUND_KINDS} (got {self.bound!r})")


@dataclass(frozen=True)
class Notice:
    """Something the operator must see: a failed fit, a failing consumer, a warning."""

    level: str
    source: str
    message: str
    sweep_index: int = -1


@dataclass(frozen=True)
class RunEnded:
    """The run ends: exit status, message, the safe-state report of every device and the final sweep count.

    `n_planned_sweeps` is the planned count as it stands at the end: the sweeps run for a completed run
    (adaptive steps choose their own length), never fewer than the sweeps run; -1 when unknown.
    """

    status: str
    message: str
    ended_unix: float
    safety: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    n_planned_sweeps: int = -1


Record = Union[RunStarted, SweepStarted, DataChunk, SweepEnded, Feature, Estimate, Notice, RunEnded]
