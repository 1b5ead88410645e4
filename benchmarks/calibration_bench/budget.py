"""Population sizes from a wall-time budget (--budget-min): as many spines per kind as the budget allows.

Cost of a spine: its kind's CPU seconds per spine (KindSpec.cost_hint_s, measured) times WALL_PER_CPU, the
wall time per CPU second of a calibration run with one worker per core (process start-up, the truth thread,
uneven job ends), divided by the number of workers. Every kind starts at MIN_SPINES; then one spine at a time
goes to the kind whose next spine most reduces the summed sampling variance of the kinds' coverage fractions
(each ~ 1/n) per second it costs, 1 / (n (n + 1) cost), among those whose next spine still fits, up to
MAX_SPINES: the sizes that minimise that sum for the budget, n ~ 1 / sqrt(cost) (cheap kinds get more spines).
A coverage of 90-98 % can pass only from about JUDGEABLE_SPINES spines (19/20 = 95 %; n/n is above 98 %, "n.s.").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from calibration_bench.kinds import KindSpec

WALL_PER_CPU = 1.45  # docs/calibration.md of 2026-12-02 03:32: 9.9 min wall for 814 CPU s of spines on 2 workers
MIN_SPINES = 3
MAX_SPINES = 40
JUDGEABLE_SPINES = 20


@dataclass(frozen=True)
class Sizing:
    """Spines per kind and the wall time they are predicted to take."""

    spines: dict[str, int]
    predicted_wall_s: float

    def describe(self) -> str:
        """E.g. 'frap 40, fcat 9 (predicted 14.8 min; coverage judgeable (>= 20 spines): frap)'."""
        sizes = ", ".join(f"{k} {n}" for k, n in self.spines.items())
        judgeable = [k for k, n in self.spines.items() if n >= JUDGEABLE_SPINES]
        return (f"{sizes} (predicted {self.predicted_wall_s / 60:.1f} min; coverage judgeable (>= "
                f"{JUDGEABLE_SPINES} spines): {', '.join(judgeable) or 'none'})")


def spine_wall_s(kind: KindSpec, workers: int) -> float:
    """Predicted wall seconds one spine of `kind` adds to a run with `workers` workers on as many idle cores."""
    return kind.cost_hint_s * WALL_PER_CPU / workers


def size_populations(kinds: Sequence[KindSpec], budget_min: float, workers: int,
                     fixed: dict[str, int] | None = None) -> Sizing:
    """Spines per kind within `budget_min` minutes of wall time; `fixed` sizes (from --spines) are kept as given
    and spend their share of the budget first."""
    fixed = fixed or {}
    spines = {k.key: fixed.get(k.key, MIN_SPINES) for k in kinds}
    cost = {k.key: spine_wall_s(k, workers) for k in kinds}
    left = budget_min * 60.0 - sum(spines[k] * cost[k] for k in spines)
    free = [k.key for k in kinds if k.key not in fixed]
    while True:
        fits = [k for k in free if spines[k] < MAX_SPINES and cost[k] <= left]
        if not fits:
            break
        k = max(fits, key=lambda key: 1.0 / (spines[key] * (spines[key] + 1) * cost[key]))
        spines[k] += 1
        left -= cost[k]
    return Sizing(spines, sum(spines[k] * cost[k] for k in spines))
