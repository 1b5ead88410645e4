"""CPU cost of the specimen's fCaT truth (`calcium_truth`), per spine, against an earlier commit in the same run.

A population of spines in the fCaT regime (hardware_profiles/simulated_fcat.yaml's bath with SNX-482, seed 11, the
spines of simulated_devices.population.physiological_range_spines, as tests/test_fcat_truth.py builds it) gets the fCaT truth of its first N spines, one spine after the other, on a fresh
specimen each repeat; the CPU time of the process is divided by N. With `--baseline COMMIT` (default 3e3873e, before
the evoked responses were simulated side by side) the same is measured on that commit's code in a subprocess,
alternating with this tree's (benchmarks/baseline.py), on the same spines (passed as JSON), and the truths are compared value by value.

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

import yaml  # noqa: E402

from simulated_devices.specimen import Specimen  # noqa: E402
from simulated_devices.specimen_config import SimulationSpec  # noqa: E402

FCAT_PROFILE = Path(__file__).resolve().parents[1] / "hardware_profiles" / "simulated_fcat.yaml"


def spines_json(n: int) -> str:
    """The population as JSON: the baseline subprocess gets the same spines whatever its code has."""
    from simulated_devices.population import physiological_range_spines  # not in the baseline's code

    return json.dumps([s.model_dump(exclude_unset=True) for s in physiological_range_spines(max(n, 2), 11)])


def measure(n: int, spines: str) -> dict[str, object]:
    """fCaT truth of the first n of `spines` (JSON) on a fresh specimen: CPU s per spine and the truths."""
    sim = yaml.safe_load(FCAT_PROFILE.read_text())["simulation"]
    bath = sim["pharmacology"] | {"block_r_type_ca": True}
    spec = SimulationSpec(**{k: sim[k] for k in ("synapse", "stimulation", "soma", "calcium")}
                          | {"pharmacology": bath, "seed": 11, "spines": json.loads(spines),
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
    ap.add_argument("--spines-json", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    spines = args.spines_json or spines_json(args.spines)
    if args.only_now:  # one measurement, as JSON (the baseline subprocess)
        print(json.dumps(measure(args.spines, spines)))
        return
    now, before = [], []
    if args.no_baseline:
        now = [measure(args.spines, spines) for _ in range(args.repeats)]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import BaselineTree

        with BaselineTree(args.baseline) as old:
            for _ in range(args.repeats):
                now.append(measure(args.spines, spines))
                before.append(old.measure(Path(__file__).resolve(), ["--spines", str(args.spines),
                                                                     "--spines-json", spines]))
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
