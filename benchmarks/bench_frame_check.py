"""The Runner's dropped/duplicate-frame check (`_FrameCollector`) per 10,000 frames, beside the former quadratic one.

The collector takes batches of 40 frames (20 ms at 2 kHz) with their frame numbers, published to a
Stream with one lossless consumer, then `finish` compares them with the plan's frame count. The former check
kept the numbers in a list and ran `list.count` for every number (re-implemented here only to time it
side by side on the same numbers). A duplicated and a missing frame are planted so both are reported.

Usage: python benchmarks/bench_frame_check.py [--frames 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.records import Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.runner import _FrameCollector
from rig.engine.stream import Stream
from rig.hal.interfaces import FrameBatch

BATCH = 40


class _Notices:
    """A lossless consumer that keeps the Notices."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def handle(self, record: object) -> None:
        """Keep a Notice."""
        if isinstance(record, Notice):
            self.notices.append(record)


def plan_for(n_frames: int) -> SweepPlan:
    """A sweep of n frames (one trigger every 10 samples)."""
    trigger = np.zeros(n_frames * 10, dtype=np.float32)
    trigger[::10] = 1.0
    acq = CameraAcquisition("camera", "camera.trigger", n_frames, 0.4, 1, (0, 0, 8, 8))
    return SweepPlan(0, "bench", "bench", 0, 20_000.0, trigger.size, {"camera.trigger": trigger}, (), camera=acq)


def numbers_with_faults(n: int) -> np.ndarray:
    """0..n-1 with frame 7 delivered twice and frame n//2 missing."""
    numbers = np.arange(n, dtype=np.int64)
    numbers[n // 2] = 7
    return numbers


def time_collector(n: int) -> tuple[float, str]:
    """Seconds for take (every batch) + finish of the Runner's collector, and the notice it published."""
    plan = plan_for(n)
    stream = Stream()
    catch = _Notices()
    stream.attach("notices", catch)
    numbers = numbers_with_faults(n)
    frames = np.zeros((BATCH, 8, 8), dtype=np.uint16)
    batches = [FrameBatch(frames[:len(numbers[k:k + BATCH])], numbers[k:k + BATCH],
                          np.zeros(len(numbers[k:k + BATCH]))) for k in range(0, n, BATCH)]
    collector = _FrameCollector(0, plan, stream)
    start = time.perf_counter()
    for batch in batches:
        collector.take(batch)
    collector.finish(camera=None, aborted=lambda: False)
    elapsed = time.perf_counter() - start
    stream.close()
    return elapsed, catch.notices[0].message if catch.notices else "no notice"


def time_former(n: int) -> float:
    """Seconds for the former check on the same numbers: a list and list.count per number."""
    numbers = numbers_with_faults(n)
    start = time.perf_counter()
    seen: list[int] = []
    for k in range(0, n, BATCH):
        seen += [int(x) for x in numbers[k:k + BATCH]]
    missing = sorted(set(range(n)) - set(seen))
    duplicated = sorted({k for k in seen if seen.count(k) > 1})
    elapsed = time.perf_counter() - start
    assert missing == [n // 2] and duplicated == [7]
    return elapsed


def main() -> None:
    """Print both timings and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()
    now, notice = time_collector(args.frames)
    former = time_former(args.frames)
    print(f"frame check, {args.frames} frames in batches of {BATCH}: Runner collector {now * 1e3:.1f} ms "
          f"(take + finish), former list.count check {former * 1e3:.0f} ms; former / now {former / now:.0f}x")
    print(f"collector's notice: {notice[:160]}")


if __name__ == "__main__":
    main()
