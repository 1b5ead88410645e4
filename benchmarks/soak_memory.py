"""Memory soak: RSS over a long simulated FRAP run, and what grew (tracemalloc) between warm-up and the end.

Usage: python benchmarks/soak_memory.py [--sweeps 1000] [--warmup 50] [--every 50] [--recovery-ms 60]
                                        [--no-tracemalloc] [--out DIR]

Runs one FRAP protocol of `--sweeps` short sweeps in this process through rig.api.execute (the
same path as `rig run`: stream, storage, online model), samples the resident set size after
every `--every` sweeps, and prints the growth after warm-up, the growth per 100 sweeps over the
second half, and the 15 source lines whose allocations grew most between the warm-up snapshot
and the end (tracemalloc, which itself slows the run and adds its own overhead to RSS).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rig.api import execute, prepare_run  # noqa: E402
from rig.datatypes.records import Record, SweepEnded  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class Sampler:
    """A lossless consumer that samples RSS (and takes tracemalloc snapshots) at sweep ends."""

    def __init__(self, warmup: int, every: int, trace: bool):
        self.warmup, self.every, self.trace = warmup, every, trace
        self.samples: list[tuple[int, float, float]] = []  # (sweeps done, seconds, RSS MB)
        self.warm_snapshot: tracemalloc.Snapshot | None = None
        self.t0 = time.monotonic()

    def handle(self, record: Record) -> None:
        if not isinstance(record, SweepEnded):
            return
        done = record.sweep_index + 1
        if done == self.warmup and self.trace:
            gc.collect()
            self.warm_snapshot = tracemalloc.take_snapshot()
        if done % self.every == 0 or done == self.warmup:
            gc.collect()
            self.samples.append((done, time.monotonic() - self.t0, rss_mb()))
            print(f"  sweep {done:5d}  {self.samples[-1][1]:7.1f} s  RSS {self.samples[-1][2]:7.1f} MB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--recovery-ms", type=float, default=60.0)
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames per allocation (more is slower)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    trace = not args.no_tracemalloc
    if trace:
        tracemalloc.start(args.frames)
    print(f"RSS at start {rss_mb():.1f} MB", flush=True)
    prepared = prepare_run(ROOT / "protocols" / "frap.yaml", None,
                           [f"recovery_ms={args.recovery_ms:g}", "interval_s=0"], sweeps=args.sweeps)
    print(f"RSS after compiling {len(prepared.compiled.plans)} plans {rss_mb():.1f} MB", flush=True)
    sampler = Sampler(args.warmup, args.every, trace)
    out = args.out or Path(tempfile.mkdtemp(prefix="soak_"))
    # the sampler is one more lossless consumer of the run's own stream
    result = execute(prepared, out, on_runner=lambda runner: runner.stream.attach("soak-sampler", sampler))
    print(f"status {result.outcome.status}, {result.outcome.sweeps_completed} sweeps, file {result.path} "
          f"({result.path.stat().st_size / 1e6:.0f} MB)")
    s = sampler.samples
    warm = next((x for x in s if x[0] >= args.warmup), s[0])
    last = s[-1]
    growth = 100.0 * (last[2] - warm[2]) / warm[2]
    half = next((x for x in s if x[0] >= last[0] // 2), warm)
    per100 = (last[2] - half[2]) / max(1, last[0] - half[0]) * 100
    print(f"RSS after warm-up (sweep {warm[0]}) {warm[2]:.1f} MB -> sweep {last[0]} {last[2]:.1f} MB: "
          f"{growth:+.1f} % ; second half {per100:+.2f} MB per 100 sweeps; "
          f"{(last[1] - warm[1]) / max(1, last[0] - warm[0]):.2f} s per sweep")
    if trace and sampler.warm_snapshot is not None:
        gc.collect()
        end = tracemalloc.take_snapshot()
        print("largest growth since warm-up (tracemalloc, by line):")
        for stat in end.compare_to(sampler.warm_snapshot, "lineno")[:15]:
            print(f"  {stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
