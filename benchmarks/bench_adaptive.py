"""Adaptive FRAP (`until:`) against the fixed protocol, over a seeded spine population (issue 16 item 4).

For each drawn spine (the calibration benchmark's population and spine placement) it runs FRAP with a fixed
number of sweeps, then FRAP with an `until:` rule whose target is a relative half width the fixed protocol
reaches on most of that population (`--quantile` of its widths, default the 75th percentile), with a budget of
3x the fixed sweeps: the adaptive runs spend sweeps (and light) only where a spine needs them. It prints, side by side: sweeps
used, laser dose (integral of the Pockels command, power fraction x s), the final interval's half width, how
often the 95 % interval holds the truth (coverage), the median bias, and the specimen's true damage factor at
the end (1 = undamaged).

    python benchmarks/bench_adaptive.py --spines 12 --fixed-sweeps 10
    python benchmarks/bench_adaptive.py --kind fcat --spines 4 --workers 2   # fCaT: bench_adaptive_fcat.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_adaptive_fcat import ReleasesRule, compare_fcat  # noqa: E402

from calibration_bench.kinds import KINDS  # noqa: E402
from calibration_bench.population import draw_spines  # noqa: E402
from calibration_bench.spine_rig import find_target, protocol_overrides, write_spine_profile  # noqa: E402
from rig.api import run_protocol  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402


@dataclass(frozen=True)
class Outcome:
    """One FRAP run on one spine."""

    sweeps: int
    laser_dose: float
    half_width: float
    covered: bool
    bias: float
    damage_factor: float


def _outcome(path: Path) -> Outcome:
    with RunFile(path) as run:
        tau = [e for e in run.estimates() if e.name == "tau_frap_ms"][-1]
        truth = {name: v for sweep, name, v in run.truth_rows() if sweep == tau.sweep}
        last = max(s for s, _, _ in run.truth_rows())
        damage = [v for s, name, v in run.truth_rows() if s == last and name == "damage_factor"]
        dose = 0.0
        for row in run.sweeps():
            samples = run.sweep_data(int(row["sweep"]), "out:laser.power")
            dose += float(np.sum(samples)) / float(row["sample_rate_hz"])
        t = truth["tau_frap_ms"]
        return Outcome(run.n_sweeps, dose, (tau.high - tau.low) / 2 / tau.value, tau.low <= t <= tau.high,
                       tau.value / t - 1, damage[0] if damage else float("nan"))


def _summary(label: str, outs: list[Outcome], goal: float) -> dict[str, float]:
    row = {"reached": 0.0, "sweeps": statistics.mean(o.sweeps for o in outs), "laser_dose": statistics.mean(o.laser_dose for o in outs),
           "half_width": statistics.median(o.half_width for o in outs),
           "coverage": sum(o.covered for o in outs) / len(outs), "bias": statistics.median(o.bias for o in outs),
           "damage_factor": statistics.mean(o.damage_factor for o in outs)}
    row["reached"] = sum(o.half_width <= goal * (1 + 1e-9) for o in outs) / len(outs)
    print(f"{label:<10} sweeps {row['sweeps']:6.1f}  laser dose {row['laser_dose']:7.4f}  half width "
          f"{100 * row['half_width']:5.1f} %  coverage {100 * row['coverage']:5.1f} %  bias {100 * row['bias']:+5.1f} %"
          f"  damage factor {row['damage_factor']:.4f}  at target {100 * row['reached']:5.1f} %")
    return row


def main() -> None:
    """Run both protocols on every spine and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spines", type=int, default=12)
    parser.add_argument("--fixed-sweeps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quantile", type=float, default=0.75, help="target: this quantile of the fixed widths")
    parser.add_argument("--kind", choices=("frap", "fcat"), default="frap")
    parser.add_argument("--goal", type=float, help="fcat: the relative half width to reach (default: --quantile "
                        "of the fixed runs')")
    parser.add_argument("--fixed-per-condition", type=int, default=30, help="fcat: the fixed protocol's sweeps")
    parser.add_argument("--budget-factor", type=float, default=1.5, help="fcat: adaptive budget / fixed sweeps")
    parser.add_argument("--workers", type=int, default=1, help="fcat: runs at once")
    parser.add_argument("--rule", choices=("width", "releases"), default="width",
                        help="fcat: adaptive by until: on fcat's width, or by the count of reversal CaTs")
    parser.add_argument("--base-per-condition", type=int, default=20, help="fcat --rule releases: base sweeps")
    parser.add_argument("--min-releases", type=int, default=6, help="fcat --rule releases: reversal CaTs wanted")
    parser.add_argument("--max-per-condition", type=int, default=45, help="fcat --rule releases: most sweeps")
    parser.add_argument("--absolute", action="store_true", help="fcat --rule width: on fcat's absolute half width "
                        "(--goal in fcat's units) instead of the relative one")
    args = parser.parse_args()
    if args.kind == "fcat":
        releases = (ReleasesRule(args.base_per_condition, args.min_releases, args.max_per_condition)
                    if args.rule == "releases" else None)
        compare_fcat(args.spines, args.seed, args.goal, args.quantile, args.fixed_per_condition, args.budget_factor,
                     args.workers, releases, args.absolute)
        return
    kind = KINDS["frap"]
    target = find_target(kind)
    spines = draw_spines(args.spines, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fixed, profiles = [], {}
        for spine in spines:
            profiles[spine.index] = write_spine_profile(kind, target, spine, folder / "profiles")
            result = run_protocol(kind.protocol, profiles[spine.index],
                                  protocol_overrides(kind, spine) + [f"sweeps={args.fixed_sweeps}"],
                                  out_dir=folder / "fixed")
            fixed.append(_outcome(result.path))
        goal = float(np.quantile([o.half_width for o in fixed], args.quantile))
        adaptive = []
        for spine in spines:
            rule = f"until={{estimate: tau_frap_ms, relative_half_width: {goal:.4f}}}"
            result = run_protocol(kind.protocol, profiles[spine.index],
                                  protocol_overrides(kind, spine) + [f"sweeps={3 * args.fixed_sweeps}", rule],
                                  out_dir=folder / "adaptive")
            adaptive.append(_outcome(result.path))
    print(f"{args.spines} spines (seed {args.seed}); fixed: {args.fixed_sweeps} sweeps; adaptive: until tau's "
          f"half width <= {100 * goal:.1f} % ({args.quantile:.0%} quantile of the fixed runs'), budget "
          f"{3 * args.fixed_sweeps}")
    f, a = _summary("fixed", fixed, goal), _summary("adaptive", adaptive, goal)
    print(f"ratios adaptive/fixed: sweeps {a['sweeps'] / f['sweeps']:.2f}, laser dose "
          f"{a['laser_dose'] / f['laser_dose']:.2f}, median half width {a['half_width'] / f['half_width']:.2f}")


if __name__ == "__main__":
    main()
