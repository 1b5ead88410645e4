"""Online analysis cost: the fCaT and quantal steps' per-sweep analysis replayed over recorded runs, this tree
against an earlier commit, alternating in one benchmark run; and whether every estimate is the same.

Records one run of protocols/fcat.yaml and one of protocols/quantal.yaml (200 sweeps) on the simulated fCaT rig,
then re-analyses each file (`rig.export.reanalyze.reanalyse_file`: the online analysis of every stored sweep,
no simulation) in a fresh process of this tree and of the baseline's code (benchmarks/baseline.py), and prints
the CPU time of each, their ratio and how many re-analysed estimates are equal, bit for bit, between the two.

    python benchmarks/bench_online_analysis.py --repeats 3 --baseline 7d82dc1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"fcat": (ROOT / "protocols" / "fcat.yaml", []),
        "quantal": (ROOT / "protocols" / "quantal.yaml", ["sweeps=200", "interval_s=0.3"])}
PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"


def measure_now(path: str) -> dict[str, object]:
    """CPU seconds of one re-analysis of `path` in this process, and its estimates."""
    from rig.export.reanalyze import reanalyse_file

    start = time.process_time()
    result = reanalyse_file(path)
    cpu = time.process_time() - start
    if result.error:
        raise RuntimeError(f"{path}: {result.error}")
    return {"cpu_s": cpu, "estimates": [[e.step, e.name, e.sweep, e.value, e.low, e.high] for e in result.estimates]}


def record(folder: Path) -> dict[str, Path]:
    """One run file per kind, on this tree."""
    from rig.api import run_protocol

    return {kind: run_protocol(protocol, PROFILE, overrides, out_dir=folder / kind).path
            for kind, (protocol, overrides) in RUNS.items()}


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", default="7d82dc1", help="commit to compare with")
    ap.add_argument("--only-now", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only_now:  # the baseline's (or this tree's) subprocess: one measurement as JSON
        print(json.dumps(measure_now(args.only_now)))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baseline import BaselineTree, measure_in

    with tempfile.TemporaryDirectory() as tmp, BaselineTree(args.baseline) as old:
        files = record(Path(tmp))
        print(f"online analysis re-run over recorded sweeps, CPU s per file; this tree against {args.baseline}, "
              f"alternating, {args.repeats} repeats")
        for kind, path in files.items():
            now, before = [], []
            for _ in range(args.repeats):
                now.append(measure_in(ROOT, Path(__file__).resolve(), [str(path)]))  # a fresh process, as the old
                before.append(old.measure(Path(__file__).resolve(), [str(path)]))
            cpu_now = [float(m["cpu_s"]) for m in now]  # type: ignore[arg-type]
            cpu_old = [float(m["cpu_s"]) for m in before]  # type: ignore[arg-type]
            # as JSON text: NaN (a bound's open side) then compares equal to NaN, and floats bit for bit
            same = sum(json.dumps(a) == json.dumps(b)
                       for a, b in zip(now[0]["estimates"], before[0]["estimates"]))  # type: ignore[call-overload]
            total = max(len(now[0]["estimates"]), len(before[0]["estimates"]))  # type: ignore[arg-type]
            print(f"{kind:8s} now {min(cpu_now):6.2f}-{max(cpu_now):6.2f} s  {args.baseline} "
                  f"{min(cpu_old):6.2f}-{max(cpu_old):6.2f} s  ratio (now / before, medians) "
                  f"{statistics.median(cpu_now) / statistics.median(cpu_old):.2f}  estimates equal {same}/{total}")


if __name__ == "__main__":
    main()
