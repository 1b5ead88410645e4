"""Does stopping on the interval bias the estimate (optional stopping)? FRAP trajectories scored offline (issue 16).

Runs FRAP with a fixed budget of sweeps on every drawn spine (the calibration benchmark's population) and keeps
tau_frap_ms's combined estimate and 95 % interval after every sweep, with the specimen's truth at that sweep. A run
stopped by an `until:` rule after n sweeps publishes exactly the estimate this run had after n sweeps (same seed,
same sweeps), so every stopping rule can be scored on the same trajectories: the sweep it stops at, the median
bias (estimate / truth - 1) and the coverage there, against stopping at a fixed count.

    python benchmarks/bench_stopping_bias.py --spines 24 --budget 30 --targets 0.05,0.08
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration_bench.kinds import KINDS  # noqa: E402
from calibration_bench.population import draw_spines  # noqa: E402
from calibration_bench.spine_rig import find_target, protocol_overrides, write_spine_profile  # noqa: E402
from rig.api import run_protocol  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402

ESTIMATE = "tau_frap_ms"


@dataclass(frozen=True)
class Point:
    """The combined estimate after one sweep, and the truth then."""

    sweeps: int
    value: float
    low: float
    high: float
    truth: float


def trajectory(path: Path) -> list[Point]:
    """tau_frap_ms after every sweep of one run (the last estimate published in each sweep)."""
    with RunFile(path) as run:
        truth = {s: v for s, name, v in run.truth_rows() if name == ESTIMATE}
        last: dict[int, Point] = {}
        for e in run.estimates():
            if e.name == ESTIMATE and e.sweep in truth:
                last[e.sweep] = Point(e.sweep + 1, e.value, e.low, e.high, truth[e.sweep])
    return [last[k] for k in sorted(last)]


def collect(spines: int, seed: int, budget: int) -> list[list[Point]]:
    """One trajectory per drawn spine, FRAP with `budget` sweeps."""
    kind = KINDS["frap"]
    target = find_target(kind)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for spine in draw_spines(spines, seed):
            profile = write_spine_profile(kind, target, spine, Path(tmp) / "profiles")
            result = run_protocol(kind.protocol, profile, protocol_overrides(kind, spine) + [f"sweeps={budget}"],
                                  out_dir=Path(tmp) / "runs")
            out.append(trajectory(result.path))
            print(f"spine {spine.index}: {len(out[-1])} estimates", file=sys.stderr, flush=True)
    return out


Rule = Callable[[list[Point]], Point | None]


def relative_rule(target: float, min_sweeps: int) -> Rule:
    """Stop at the first sweep whose (high - low) / 2 / value is at or below the target (the current rule)."""
    def stop(points: list[Point]) -> Point | None:
        for p in points:
            if p.sweeps >= min_sweeps and (p.high - p.low) / 2 / abs(p.value) <= target:
                return p
        return points[-1] if points else None
    return stop


def two_stage_rule(target: float, pilot: int, budget: int) -> Rule:
    """Stein-style two stages: after `pilot` sweeps, fix the count from the pilot's width (width ~ 1/sqrt(n)) and
    stop there, whatever the estimate does meanwhile (the stop no longer follows the estimate's later values)."""
    def stop(points: list[Point]) -> Point | None:
        at = [p for p in points if p.sweeps == pilot]
        if not at:
            return points[-1] if points else None
        p0 = at[0]
        width = (p0.high - p0.low) / 2 / abs(p0.value)
        n = min(budget, max(pilot, math.ceil(pilot * (width / target) ** 2)))
        hit = [p for p in points if p.sweeps <= n]
        return hit[-1]
    return stop


def fixed_rule(sweeps: int) -> Rule:
    """Stop after a fixed count."""
    def stop(points: list[Point]) -> Point | None:
        hit = [p for p in points if p.sweeps <= sweeps]
        return hit[-1] if hit else None
    return stop


def score(label: str, rule: Rule, runs: list[list[Point]], low_ms: float, high_ms: float) -> None:
    """Print the stopping sweep, bias and coverage of a rule over the runs whose truth is in [low_ms, high_ms]."""
    stops = [p for p in (rule(r) for r in runs) if p is not None and low_ms <= p.truth <= high_ms]
    if not stops:
        print(f"{label:<34} no runs")
        return
    bias = [p.value / p.truth - 1 for p in stops]
    covered = sum(p.low <= p.truth <= p.high for p in stops) / len(stops)
    se = statistics.stdev(bias) / math.sqrt(len(bias)) if len(bias) > 1 else math.nan
    print(f"{label:<30} n {len(stops):3d}  sweeps {statistics.mean(p.sweeps for p in stops):5.1f}  "
          f"bias median {100 * statistics.median(bias):+5.1f} %  mean {100 * statistics.mean(bias):+5.1f} % "
          f"(SE {100 * se:.1f} %)  coverage {100 * covered:5.1f} %")


def main() -> None:
    """Collect (or load) the trajectories and score the rules."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spines", type=int, default=24)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--targets", default="0.05", help="relative half widths, comma separated")
    parser.add_argument("--json", type=Path, help="keep (or, when it exists, reuse) the trajectories here")
    args = parser.parse_args()
    if args.json is not None and args.json.is_file():
        runs = [[Point(**p) for p in r] for r in json.loads(args.json.read_text())]
    else:
        runs = collect(args.spines, args.seed, args.budget)
        if args.json is not None:
            args.json.write_text(json.dumps([[asdict(p) for p in r] for r in runs]))
    print(f"{len(runs)} FRAP runs of {args.budget} sweeps (seed {args.seed}); spines with truth tau 20-1000 ms")
    for n in (3, 10, args.budget):
        score(f"fixed {n} sweeps", fixed_rule(n), runs, 20.0, 1000.0)
    for target in (float(t) for t in args.targets.split(",")):
        for min_sweeps in (3, 5, 10):
            score(f"relative <= {target:g}, min {min_sweeps}", relative_rule(target, min_sweeps), runs, 20.0, 1000.0)
            score(f"two-stage {target:g}, pilot {min_sweeps}", two_stage_rule(target, min_sweeps, args.budget), runs,
                  20.0, 1000.0)


if __name__ == "__main__":
    main()
