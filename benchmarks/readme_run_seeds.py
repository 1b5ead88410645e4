"""A README run repeated over simulation seeds, end to end through `rig run` and `rig info --json` (issue 11 item 7).

One README run is one draw of release, quantal sizes and noise: whether its interval contains the truth says
little about the estimator. This runs the same protocol on the same simulated spine with the profile's
`simulation.seed` replaced, and counts per estimate how often the final 95 % interval (or one-sided bound)
contains the run file's truth of the same name, with the median relative bias and the median interval width.

    python benchmarks/readme_run_seeds.py --seeds 1-17 --workers 2
    python benchmarks/readme_run_seeds.py --protocol protocols/frap.yaml --profile hardware_profiles/simulated.yaml
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_LINE = re.compile(r"^(\s+seed:\s*)\d+\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Scored:
    """One estimate of one run against its truth."""

    seed: int
    name: str
    value: float
    low: float  # -inf for an upper bound
    high: float  # inf for a lower bound
    truth: float

    @property
    def covered(self) -> bool:
        """True when the interval (or bound) contains the truth."""
        return self.low <= self.truth <= self.high

    @property
    def relative_bias(self) -> float:
        """(value - truth) / truth (NaN for a zero truth)."""
        return (self.value - self.truth) / self.truth if self.truth else math.nan

    @property
    def relative_width(self) -> float:
        """(high - low) / truth (inf for a bound)."""
        return (self.high - self.low) / abs(self.truth) if self.truth else math.nan


def seeded_profile(profile: Path, seed: int, folder: Path) -> Path:
    """A copy of the profile with simulation.seed replaced."""
    text = profile.read_text()
    if not SEED_LINE.search(text):
        raise SystemExit(f"{profile}: no 'seed:' line under simulation to replace")
    path = folder / f"seed{seed}_{profile.name}"
    path.write_text(SEED_LINE.sub(lambda m: f"{m.group(1)}{seed}", text, count=1))
    return path


def run_one(protocol: Path, profile: Path, seed: int, folder: Path) -> list[Scored]:
    """Run the protocol with one seed; score the final estimates that have a truth."""
    out = folder / f"run{seed}"
    out.mkdir()
    subprocess.run([sys.executable, "-m", "rig", "run", str(protocol), "--profile",
                    str(seeded_profile(profile, seed, folder)), "--out", str(out), "--quiet"],
                   check=True, cwd=ROOT, capture_output=True)
    (path,) = out.glob("*.h5")
    info = json.loads(subprocess.run([sys.executable, "-m", "rig", "info", "--json", str(path)], check=True,
                                     cwd=ROOT, capture_output=True, text=True).stdout)
    truth, scored = info["truth"], []
    for name, e in info["estimates"].items():
        if name not in truth or e["value"] is None:
            continue
        low = -math.inf if e["low"] is None else float(e["low"])
        high = math.inf if e["high"] is None else float(e["high"])
        scored.append(Scored(seed, name, float(e["value"]), low, high, float(truth[name])))
    return scored


def parse_seeds(text: str) -> list[int]:
    """'1-5,9' -> [1, 2, 3, 4, 5, 9]."""
    seeds: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        seeds += list(range(int(a), int(b or a) + 1))
    return seeds


def main() -> None:
    """Run every seed, print one line per run and one summary row per estimate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", type=Path, default=ROOT / "protocols/fcat.yaml")
    parser.add_argument("--profile", type=Path, default=ROOT / "hardware_profiles/simulated_fcat.yaml")
    parser.add_argument("--seeds", default="1-17", help="e.g. 1-17 or 1,4,9")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(lambda s: run_one(args.protocol.resolve(), args.profile.resolve(), s, Path(tmp)), seeds))
    for scored in runs:
        print(f"seed {scored[0].seed if scored else '?'}: " + "; ".join(
            f"{s.name} {s.value:.3g} [{s.low:.3g}, {s.high:.3g}] / {s.truth:.3g}{'' if s.covered else ' MISS'}"
            for s in scored))
    names = sorted({s.name for scored in runs for s in scored})
    print(f"\n{args.protocol.name} on {args.profile.name}, seeds {args.seeds} ({len(seeds)} runs)")
    print("| estimate | delivered | covered | median bias | median width |")
    print("|---|---|---|---|---|")
    for name in names:
        rows = [s for scored in runs for s in scored if s.name == name]
        widths = [s.relative_width for s in rows if math.isfinite(s.relative_width)]
        width = f"{statistics.median(widths):.0%}" if widths else "bound"
        print(f"| {name} | {len(rows)}/{len(seeds)} | {sum(s.covered for s in rows)}/{len(rows)} | "
              f"{statistics.median(s.relative_bias for s in rows):+.1%} | {width} |")


if __name__ == "__main__":
    main()
