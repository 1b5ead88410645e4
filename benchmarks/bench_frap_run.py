"""Speed of a FRAP run on the simulated rig: simulated seconds per wall second, and the run-file
writer against a bare h5py append of the same data (both measured in this run).

Usage: python benchmarks/bench_frap_run.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from rig.api import execute, prepare_run  # noqa: E402
from rig.engine.rig import build_rig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def simulation_only(prepared) -> tuple[float, float]:
    """Drive the simulated clock through every plan with no consumers: (simulated s, wall s)."""
    rig = build_rig(prepared.profile)
    simulated = 0.0
    start = time.perf_counter()
    for plan in prepared.compiled.plans:
        rig.clock.load(plan)
        rig.clock.start()
        while rig.clock.read() is not None:
            pass
        rig.clock.stop()
        simulated += plan.duration_s
    return simulated, time.perf_counter() - start


def bare_h5py(prepared, folder: Path) -> float:
    """Baseline: append the same number of float32 samples per channel with plain h5py, flushing per sweep."""
    start = time.perf_counter()
    with h5py.File(folder / "bare.h5", "w", libver="latest") as f:
        plans = prepared.compiled.plans
        names = list(plans[0].inputs) + list(plans[0].outputs)
        ds = {n: f.create_dataset(n, shape=(0,), maxshape=(None,), dtype="f4", chunks=(65536,)) for n in names}
        f.swmr_mode = True
        for plan in plans:
            chunk = max(1, int(0.02 * plan.sample_rate_hz))
            for first in range(0, plan.n_samples, chunk):
                block = np.zeros(min(chunk, plan.n_samples - first), dtype="f4")
                for d in ds.values():
                    n = d.shape[0]
                    d.resize((n + block.size,))
                    d[n:] = block
            for d in ds.values():
                d.flush()
    return time.perf_counter() - start


def main() -> None:
    """Print the figures."""
    prepared = prepare_run(ROOT / "protocols" / "frap.yaml", overrides=["interval_s=0"], sweeps=10)
    simulated, wall_sim = simulation_only(prepared)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = execute(prepared, Path(tmp))
        wall_run = time.perf_counter() - t0
        wall_bare = bare_h5py(prepared, Path(tmp))
    n_samples = sum(p.n_samples for p in prepared.compiled.plans)
    channels = len(prepared.compiled.plans[0].inputs) + len(prepared.compiled.plans[0].outputs)
    print(f"FRAP, 10 sweeps of {prepared.compiled.plans[0].duration_s * 1000:.0f} ms at "
          f"{prepared.compiled.plans[0].sample_rate_hz / 1000:.0f} kHz, {channels} channels, {n_samples} samples each")
    print(f"simulated rig alone:  {simulated / wall_sim:6.1f}x real time ({wall_sim:.2f} s wall)")
    print(f"full run (sim + storage + online fits): {simulated / wall_run:6.1f}x real time ({wall_run:.2f} s wall, "
          f"status {result.outcome.status})")
    print(f"bare h5py append of the same samples: {wall_bare:.2f} s; run overhead over simulation: "
          f"{wall_run - wall_sim:.2f} s = {(wall_run - wall_sim) / wall_bare:.1f}x the bare write")


if __name__ == "__main__":
    main()
