"""CPU cost of the specimen's fCaT truth (`calcium_truth`), per spine, against an earlier commit in the same run.

A population of spines in the fCaT regime (hardware_profiles/simulated_fcat.yaml's bath with SNX-482, seed 11, as
tests/test_fcat_truth.py builds it) gets the fCaT truth of its first N spines, one spine after the other, on a fresh
specimen each repeat; the CPU time of the process is divided by N. With `--baseline COMMIT` (default 3e3873e, before
the evoked responses were simulated side by side) the same is measured on that commit's code in a subprocess,
alternating with this tree's (benchmarks/baseline.py), and the truths are compared value by value.

Usage: python benchmarks/bench_fcat_truth.py [--spines N] [--repeats N] [--baseline C | --no-baseline]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from simulated_devices.specimen import Specimen  # noqa: E402
from simulated_devices.specimen_config import SimulationSpec  # noqa: E402

FCAT_PROFILE = Path(__file__).resolve().parents[1] / "hardware_profiles" / "simulated_fcat.yaml"
RHO_OHM_UM = 150.0 * 1e4  # cytoplasm 150 Ohm cm (as the tests build the population)


def population(n: int, seed: int) -> list[dict[str, object]]:
    """The listed spines of tests/test_specimen_fcat_physics.population: neck R log-uniform 50-1500 MOhm, neck
    0.3-1.6 um, head 0.03-0.3 um^3, AMPA 0.1-1."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(-28.0, 28.0, n)
    spines = []
    for i in range(n):
        r_MOhm = math.exp(rng.uniform(math.log(50.0), math.log(1500.0)))
        length = math.exp(rng.uniform(math.log(0.3), math.log(1.6)))
        volume = math.exp(rng.uniform(math.log(0.03), math.log(0.3)))
        ampa = math.exp(rng.uniform(math.log(0.1), 0.0))
        radius = math.sqrt(RHO_OHM_UM * length / (math.pi * r_MOhm * 1e6))
        spines.append({"name": f"s{i:02d}", "y_um": float(ys[i]), "side": 1 if i % 2 else -1,
                       "neck_length_um": length, "neck_radius_um": radius, "head_volume_um3": volume,
                       "ampa_scale": ampa})
    return spines


def measure(n: int) -> dict[str, object]:
    """fCaT truth of n spines on a fresh specimen: CPU s per spine and the truths."""
    sim = yaml.safe_load(FCAT_PROFILE.read_text())["simulation"]
    bath = sim["pharmacology"] | {"block_r_type_ca": True}
    spec = SimulationSpec(**{k: sim[k] for k in ("synapse", "stimulation", "soma", "calcium")}
                          | {"pharmacology": bath, "seed": 11, "spines": population(max(n, 2), 11),
                             "plasticity": {"enabled": False}})
    specimen = Specimen(spec)
    start = time.process_time()
    truths = [specimen.calcium_truth(i) for i in range(n)]
    return {"cpu_s_per_spine": (time.process_time() - start) / n, "truths": truths}


def largest_difference(a: list[dict[str, float]], b: list[dict[str, float]]) -> float:
    """Largest relative difference over every value of two truth lists (inf when their names differ)."""
    worst = 0.0
    for x, y in zip(a, b):
        if x.keys() != y.keys():
            return math.inf
        for k in x:
            if not (math.isnan(x[k]) and math.isnan(y[k])):
                worst = max(worst, abs(x[k] - y[k]) / max(abs(x[k]), 1e-12))
    return worst


def main() -> None:
    """Print the CPU time per spine now and on the baseline commit, and how far the truths differ."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spines", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--baseline", default="3e3873e", help="commit to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--only-now", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only_now:  # one measurement, as JSON (the baseline subprocess)
        print(json.dumps(measure(args.spines)))
        return
    now, before = [], []
    if args.no_baseline:
        now = [measure(args.spines) for _ in range(args.repeats)]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import BaselineTree

        with BaselineTree(args.baseline) as old:
            for _ in range(args.repeats):
                now.append(measure(args.spines))
                before.append(old.measure(Path(__file__).resolve(), ["--spines", str(args.spines)]))
    cpu = [r["cpu_s_per_spine"] for r in now]
    print(f"fCaT truth of {args.spines} spines (fCaT regime, seed 11), {args.repeats} repeats")
    print(f"      now: {min(cpu):.3f}-{max(cpu):.3f} s CPU per spine")
    if before:
        cpu0 = [r["cpu_s_per_spine"] for r in before]
        print(f"  {args.baseline}: {min(cpu0):.3f}-{max(cpu0):.3f} s CPU per spine; now/before "
              f"{min(cpu) / max(cpu0):.2f}-{max(cpu) / min(cpu0):.2f}")
        print(f"  largest relative difference of any truth value: "
              f"{largest_difference(now[0]['truths'], before[0]['truths']):.2g}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
