"""Run progress: sweeps done of planned, and the time remaining from the plans and the observed pace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rig.datatypes.sweep_plan import SweepPlan


@dataclass
class RunProgress:
    """Tracks a run's sweeps against its plans."""

    plans: Sequence[SweepPlan] = ()
    done: int = 0
    started_wall_s: float = 0.0
    planned: int = -1  # the Runner's planned sweep count (records carry it); -1: len(plans)

    @property
    def total(self) -> int:
        """Sweeps planned now, never below those done (an adaptive step's count differs from its envelope's)."""
        return max(self.planned if self.planned >= 0 else len(self.plans), self.done)

    def planned_s(self, first: int) -> float:
        """Planned seconds of sweeps and intervals from sweep index `first` to the end."""
        rest = self.plans[first:]
        return sum(p.duration_s for p in rest) + sum(p.interval_after_s for p in rest[:-1])

    def remaining_s(self, now_wall_s: float) -> float:
        """Seconds left: the planned time of what remains, scaled by the pace observed so far."""
        if not self.plans:
            return 0.0
        total = self.planned_s(0)
        left = self.planned_s(self.done) if self.done < len(self.plans) else 0.0
        if self.done == 0 or total <= 0:
            return left
        elapsed_planned = total - left
        pace = (now_wall_s - self.started_wall_s) / elapsed_planned if elapsed_planned > 0 else 1.0
        return max(0.0, left * pace)


def format_duration(seconds: float) -> str:
    """'1 min 05 s' or '12 s'."""
    s = int(round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"
