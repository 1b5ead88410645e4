"""Light delivered to a spine, from a sweep's commanded outputs (two-photon weighted: power fraction squared x ms)."""

from __future__ import annotations

import numpy as np

from rig.engine.sweep_plan import SweepPlan


def spine_dose_p2ms(plan: SweepPlan, target_um: tuple[float, float], radius_um: float = 0.5,
                    n_samples: int | None = None) -> float:
    """Sum of power^2 x dt over samples with the beam within radius of the target and the shutter open."""
    n = plan.n_samples if n_samples is None else min(n_samples, plan.n_samples)
    power = np.zeros(n)
    x = y = None
    gate = np.ones(n)
    for name, wave in plan.outputs.items():
        role = name.rpartition(".")[2]
        if role == "power":
            power = power + np.asarray(wave[:n], dtype=float)
        elif role == "open":
            gate = gate * np.asarray(wave[:n], dtype=float)
        elif role == "x":
            x = np.asarray(wave[:n], dtype=float)
        elif role == "y":
            y = np.asarray(wave[:n], dtype=float)
    if x is None or y is None:
        return 0.0
    near = np.hypot(x - target_um[0], y - target_um[1]) <= radius_um
    return float(np.sum((power * gate) ** 2 * near) * 1000.0 / plan.sample_rate_hz)


def spine_key(target_um: tuple[float, float] | None) -> str:
    """A label for a spine: its head position rounded to 0.1 um."""
    if target_um is None:
        return ""
    return f"({target_um[0]:.1f}, {target_um[1]:.1f}) um"
