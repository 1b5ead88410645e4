"""Simulated neck plasticity over a seeded population of spines, against Grunditz et al. 2008 (SCIENCE.md section 1).

Drives each spine's plasticity with the true drive, as tests/test_specimen_plasticity.py does: the steady
voltage-gated Ca current density at each holding (4 min at 0 mV, a reversal search, an fCaT run) and one
simulated theta train (its signal x 3: the sensor forgets a train long before the next, 10 s later).
Prints the table of docs/specimen.md (plasticity). Usage: python benchmarks/plasticity_table.py [count] [seed]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from simulated_devices.plasticity import NeckPlasticity  # noqa: E402
from simulated_devices.specimen import Specimen  # noqa: E402
from simulated_devices.sweeps import SweepSpec, run_sweep, simulated_rig  # noqa: E402

PROFILE = Path(__file__).resolve().parents[1] / "hardware_profiles" / "simulated.yaml"
THETA_TRAIN = [(b * 200 + a * 10 + 5, 2, 1500) for b in range(10) for a in range(5)]
REVERSAL_LEVELS_MV = [-70, -30, 10, -10, 0, 5, 2.5, 3.75, 3.1, 3.4, 3.25, 3.3]
SWEEP_S = 2.3  # a 300 ms sweep and the 2 s the level is held after it


def fold_after(spec: Specimen, schedule: list[tuple[str, float, float]]) -> np.ndarray:
    """Neck fold of every spine after holding (mode, command, seconds) in turn, from an unchanged neck."""
    p = NeckPlasticity(spec.sim.plasticity, len(spec.spines))
    for mode, command, seconds in schedule:
        p.accumulate_steady(spec.vgcc_density_at(mode, command), seconds * 1000.0)
    return p.fold


def row(label: str, tau0: np.ndarray, fold: np.ndarray) -> str:
    """One table row: tau before and after (median [range]) and the fold (median [range])."""
    after = tau0 * fold
    return (f"| {label} | {np.median(tau0):.0f} [{tau0.min():.0f}-{tau0.max():.0f}] | {np.median(after):.0f} "
            f"[{after.min():.0f}-{after.max():.0f}] | x{np.median(fold):.2f} [{fold.min():.2f}-{fold.max():.2f}] |")


def main(count: int = 17, seed: int = 7) -> None:
    """Print the population table."""
    rig = simulated_rig(PROFILE, population={"count": count, "seed": seed})
    spec: Specimen = rig.extras["specimen"]
    tau0 = spec.tau_frap_ms.copy()
    step = fold_after(spec, [("VC", 0.0, 240.0)])
    steps = {t: fold_after(spec, [("VC", 0.0, t)]) for t in (10.0, 60.0, 120.0)}
    held = fold_after(spec, [("VC", 0.0, 240.0), ("CC", 0.0, 3600.0)])
    reversal = [("VC", v, SWEEP_S) for v in REVERSAL_LEVELS_MV]
    fcat_control = reversal + [("VC", 3.3, 10 * SWEEP_S), ("CC", 0.0, 1.0 + 10 * SWEEP_S)]
    spec.pharmacology.external_ca_mM = 0.0
    ca_free = fold_after(spec, [("VC", 0.0, 240.0)])
    spec.pharmacology.external_ca_mM = 2.0
    rev, fcat = fold_after(spec, reversal), fold_after(spec, fcat_control)
    run_sweep(rig.clock, SweepSpec(duration_ms=2100, sample_rate_hz=20_000, mode="CC", steps=THETA_TRAIN))
    p = NeckPlasticity(spec.sim.plasticity, len(spec.spines))
    p.signal_s = 3.0 * spec.plasticity.signal_s
    theta = p.fold
    sel = (tau0 >= 10) & (tau0 <= 200)
    print(f"{len(spec.spines)} spines (default profile, population count {count} seed {seed}); tau_FRAP in ms\n")
    print("| condition | tau before | tau after | fold |\n|---|---|---|---|")
    print(row("4 min at 0 mV (VC)", tau0, step))
    print(row(f"  same, the {sel.sum()} spines with tau 10-200 ms", tau0[sel], step[sel]))
    print(row("theta burst (3 trains, CC)", tau0, theta))
    print(row(f"  same, the {sel.sum()} spines with tau 10-200 ms", tau0[sel], theta[sel]))
    print(row("4 min at 0 mV in Ca-free saline", tau0, ca_free))
    print(row("10 s at 0 mV", tau0, steps[10.0]))
    print(row("1 min at 0 mV", tau0, steps[60.0]))
    print(row("2 min at 0 mV", tau0, steps[120.0]))
    print(row("4 min at 0 mV, then 1 h at rest", tau0, held))
    print(row("reversal search (12 sweeps, levels held 2.3 s)", tau0, rev))
    print(row("fCaT run in control: search + 10 VC at reversal + 10 CC", tau0, fcat))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
