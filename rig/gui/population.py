"""The session's spines as the population plot draws them: every step's neck resistance and diffusional tau (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rig.datatypes.records import Estimate

# estimates that measure the neck, whatever kind of step published them (a bound is drawn as a bound)
R_NECK_NAMES = ("neck_resistance_MOhm", "neck_resistance_lower_bound_MOhm")
TAU_NAMES = ("tau_frap_ms", "tau_frap_lower_bound_ms", "tau_na_ms", "tau_decay_quantum_ms")
# symbol of each step kind in the plot (others: a square); pyqtgraph symbol names
KIND_SYMBOLS = {"frap": "o", "na_ca": "t", "fcat": "d", "theta_burst_frap": "s", "frap_step_depolarization": "p"}
BOUND_SYMBOLS = {"lower": "t1", "upper": "t"}  # a triangle pointing where the true value may lie


@dataclass(frozen=True)
class StepSpine:
    """Which spine a step of a run measured, and with what kind of step."""

    run: int
    step: str
    kind: str
    target_um: tuple[float, float] | None


@dataclass(frozen=True)
class PopulationPoint:
    """One step's latest estimate of R_neck or tau on one spine."""

    spine: StepSpine
    quantity: str  # "R_neck" or "tau"
    estimate: Estimate

    @property
    def drawable(self) -> bool:
        """True when the value can go on a log axis."""
        return math.isfinite(self.estimate.value) and self.estimate.value > 0


def population_points(latest: dict[tuple[int, str, str], Estimate],
                      steps: dict[tuple[int, str], StepSpine]) -> list[PopulationPoint]:
    """Every (run, step) estimate of R_neck or tau, in run and step order (latest: (run, step, name) -> estimate)."""
    out = []
    for (run, step, name), e in latest.items():
        quantity = "R_neck" if name in R_NECK_NAMES else "tau" if name in TAU_NAMES else ""
        if not quantity:
            continue
        spine = steps.get((run, step), StepSpine(run, step, "", None))
        out.append(PopulationPoint(spine, quantity, e))
    return sorted(out, key=lambda p: (p.spine.run, p.estimate.sweep_index, p.spine.step, p.estimate.name))


def same_spine(a: tuple[float, float] | None, b: tuple[float, float] | None, tolerance_um: float) -> bool:
    """True when two targets are within the tolerance (the session record's rule); no target matches no target."""
    if a is None or b is None:
        return a is None and b is None
    return math.hypot(a[0] - b[0], a[1] - b[1]) <= tolerance_um


def spine_order(points: list[PopulationPoint], tolerance_um: float) -> list[tuple[float, float] | None]:
    """The distinct spines of the points, in the order they were first measured."""
    spines: list[tuple[float, float] | None] = []
    for p in points:
        if not any(same_spine(p.spine.target_um, s, tolerance_um) for s in spines):
            spines.append(p.spine.target_um)
    return spines


def spine_label(target_um: tuple[float, float] | None) -> str:
    """'(1.3, 0.0)' or 'no target'."""
    return "no target" if target_um is None else f"({target_um[0]:.1f}, {target_um[1]:.1f})"
