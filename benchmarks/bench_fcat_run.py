"""Speed of a whole fCaT protocol on the simulated rig (Runner + storage + online model + truth), x real time.

protocols/fcat.yaml on hardware_profiles/simulated_fcat.yaml (reversal search, then the fCaT step), with fewer
sweeps (`--sweeps-per-condition`, `--max-levels`) and no intervals, measured as simulated sweep time / wall
time and / CPU time of this process, side by side in one run (alternating repeats):
  now       this tree, truth as the run writes it;
  no truth  this tree, the rig's truth source removed (what the truth costs);
  before    the code of `--baseline` (default fa34f82, before issue 13's simulator work), truth as then.
Also: how many truth groups were computed and their total compute time (this tree).

Usage: python benchmarks/bench_fcat_run.py [--sweeps-per-condition N] [--max-levels N] [--repeats N]
                                           [--baseline COMMIT | --no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import yaml  # noqa: E402

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
DEFAULT_BASELINE = "1cea8df"  # its rig reads today's protocols/fcat.yaml (fa34f82's and ba46ded's do not)


def fcat_protocol(folder: Path, sweeps_per_condition: int, max_levels: int) -> Path:
    """protocols/fcat.yaml with fewer sweeps and no intervals."""
    data = yaml.safe_load((ROOT / "protocols" / "fcat.yaml").read_text())
    steps = []
    for step in data["steps"]:
        if step["kind"] == "reversal":
            step = step | {"max_levels": max_levels}
        if step["kind"] == "fcat":
            step = step | {"sweeps_per_condition": sweeps_per_condition, "interval_s": 0}
        steps.append(step)
    path = folder / "fcat_small.yaml"
    path.write_text(yaml.safe_dump(data | {"steps": steps}))
    return path


def measure(truth: bool, sweeps_per_condition: int, max_levels: int) -> dict[str, float | int | str]:
    """One whole run on the code on sys.path: simulated s, wall s, CPU s, sweeps, status, truth statistics."""
    from rig.api import execute, prepare_run
    from rig.engine.rig import build_rig
    from rig.storage.reader import RunFile

    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare_run(fcat_protocol(Path(tmp), sweeps_per_condition, max_levels),
                               ROOT / "hardware_profiles" / "simulated_fcat.yaml")
        rig = build_rig(prepared.profile)
        source = rig.truth
        if not truth:
            rig.truth = None
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = execute(prepared, Path(tmp), rig_=rig)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        with RunFile(result.path) as f:
            plans = f.plans()
    return {"simulated_s": sum(float(p["duration_s"]) for p in plans), "wall_s": wall, "cpu_s": cpu,
            "sweeps": len(plans), "status": result.outcome.status,
            "truth_groups": int(getattr(source, "computed", -1)) if truth else 0,
            "truth_compute_s": float(getattr(source, "compute_s", float("nan"))) if truth else 0.0}


def line(label: str, runs: list[dict[str, float | int | str]]) -> str:
    """One printed row: ranges over the repeats."""
    rw = [float(r["simulated_s"]) / float(r["wall_s"]) for r in runs]
    rc = [float(r["simulated_s"]) / float(r["cpu_s"]) for r in runs]
    r0 = runs[0]
    extra = ""
    if int(r0["truth_groups"]) > 0:
        extra = f", truth groups {r0['truth_groups']} computed in {float(r0['truth_compute_s']):.2f} s"
    return (f"{label:>9}: {min(rw):6.2f}-{max(rw):6.2f}x real time by wall, {min(rc):6.2f}-{max(rc):6.2f}x by CPU "
            f"({r0['sweeps']} sweeps, {float(r0['simulated_s']):.2f} s simulated, "
            f"wall {min(float(r['wall_s']) for r in runs):.2f}-{max(float(r['wall_s']) for r in runs):.2f} s, "
            f"status {r0['status']}{extra})")


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps-per-condition", type=int, default=3)
    ap.add_argument("--max-levels", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, help="commit to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--only-now", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-truth", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = (args.sweeps_per_condition, args.max_levels)
    if args.only_now:  # one measurement, as JSON (the baseline subprocess)
        print(json.dumps(measure(not args.no_truth, *sizes)))
        return
    print(f"fCaT protocol (reversal search up to {args.max_levels} levels, {args.sweeps_per_condition} sweeps per "
          f"condition, no intervals) on simulated_fcat.yaml, {args.repeats} repeats")
    rows: dict[str, list[dict[str, float | int | str]]] = {"now": [], "no truth": [], "before": []}
    sub_args = [f"--sweeps-per-condition={args.sweeps_per_condition}", f"--max-levels={args.max_levels}"]
    if args.no_baseline:
        for _ in range(args.repeats):
            rows["now"].append(measure(True, *sizes))
            rows["no truth"].append(measure(False, *sizes))
    else:
        sys.path.insert(0, str(HERE.parent))
        from baseline import BaselineTree
        with BaselineTree(args.baseline) as old:
            for _ in range(args.repeats):
                rows["now"].append(measure(True, *sizes))
                rows["no truth"].append(measure(False, *sizes))
                rows["before"].append(old.measure(HERE, sub_args))  # type: ignore[arg-type]
    for label, runs in rows.items():
        if runs:
            print(line(label if label != "before" else f"{args.baseline}", runs))


if __name__ == "__main__":
    main()
