"""Run-file storage against `ndarray.tofile` of the same sample bytes, side by side in one run.

The records are what the Runner publishes for a run, generated once before any timing:
  frap:   FRAP-like sweeps (50 kHz, 1.107 s, 4 inputs in 20 ms chunks of 1000 samples = 4 KB, the 5
          output waveforms whole at sweep start, a plan summary, truth rows, a few features and estimates);
  camera: 80x80 frames at 2 kHz with 20 kHz ephys (40 frames = 512 KB per 20 ms chunk).
Each repeat (after one warm-up) times (a) the Hdf5RunWriter handling every record from RunStarted to RunEnded (file closed) and
(b) the same sample arrays written with `tofile` into one raw file, flushed at every sweep end, in
alternating order. The ratio is writer throughput / tofile throughput of the same sample bytes (>= 0.5 wanted).

Usage: python benchmarks/bench_storage.py [--kind frap|camera|both] [--sweeps 20] [--repeats 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.records import DataChunk, Estimate, Feature, Record, RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.storage.writer import Hdf5RunWriter

CHUNK_MS = 20.0  # the simulated and the NI clock deliver inputs in 20 ms chunks


def frap_plan(index: int) -> SweepPlan:
    """A FRAP-shaped sweep: 50 kHz, 55352 samples, 4 inputs, 5 outputs."""
    n = 55352
    rng = np.random.default_rng(index)
    outputs = {name: rng.standard_normal(n).astype(np.float32)
               for name in ("scanner.x", "scanner.y", "laser.power", "shutter.open", "amplifier.command")}
    return SweepPlan(0, "frap", "frap", index, 50_000.0, n, outputs,
                     ("scanner.green", "scanner.red", "amplifier.primary", "amplifier.secondary"),
                     amplifier="amplifier", amplifier_mode="VC")


def camera_plan(index: int) -> SweepPlan:
    """A Na/Ca-imaging-shaped sweep: 1 s at 20 kHz, 2000 camera frames of 80x80."""
    n = 20_000
    n_frames = 2000
    trigger = np.zeros(n, dtype=np.float32)
    trigger[np.arange(n_frames) * 10] = 1.0
    acq = CameraAcquisition("camera", "camera.trigger", n_frames, 0.4, 1, (0, 0, 80, 80))
    return SweepPlan(0, "na_ca", "na_ca_imaging", index, 20_000.0, n, {"camera.trigger": trigger},
                     ("amplifier.primary", "amplifier.secondary"), amplifier="amplifier", amplifier_mode="CC",
                     camera=acq)


def sweep_records(index: int, plan: SweepPlan, rng: np.random.Generator) -> list[Record]:
    """The records of one sweep in the Runner's order, then the online model's results."""
    out: list[Record] = [SweepStarted(index, plan, time.time(), {f"truth_{k}": float(k) for k in range(12)})]
    out += [DataChunk(index, f"out:{name}", 0, wave) for name, wave in plan.outputs.items()]
    step = int(round(CHUNK_MS * plan.sample_rate_hz / 1000.0))
    frames_done = 0
    for start in range(0, plan.n_samples, step):
        k = min(step, plan.n_samples - start)
        out += [DataChunk(index, f"in:{name}", start, rng.standard_normal(k).astype(np.float32))
                for name in plan.inputs]
        if plan.camera is not None:
            n_frames = min(plan.camera.n_frames, (start + k) // 10) - frames_done
            if n_frames > 0:
                frames = rng.integers(0, 4096, (n_frames, *plan.camera.frame_shape), dtype=np.uint16)
                numbers = np.arange(frames_done, frames_done + n_frames, dtype=np.int64)
                out += [DataChunk(index, "in:camera.frames", frames_done, frames),
                        DataChunk(index, "in:camera.frame_number", frames_done, numbers),
                        DataChunk(index, "in:camera.timestamp_ms", frames_done, numbers * 0.5)]
                frames_done += n_frames
    out.append(SweepEnded(index, plan.n_samples, True, time.time()))
    out += [Feature(index, plan.step_name, f"feature_{k}", 1.0, 0.5, 1.5, "ms") for k in range(3)]
    out += [Estimate(index, plan.step_name, f"estimate_{k}", 1.0, 0.5, 1.5, "ms", "bench") for k in range(2)]
    return out


def run_records(kind: str, n_sweeps: int) -> list[Record]:
    """Every record of an n-sweep run of the given kind."""
    make = frap_plan if kind == "frap" else camera_plan
    plans = [make(k) for k in range(n_sweeps)]
    rng = np.random.default_rng(1)
    records: list[Record] = [RunStarted(kind, "bench.yaml", "name: bench\n", "profile.yaml", "name: bench\n",
                                        {"spinerig": "bench"}, tuple(plans), None, time.time())]
    for k, plan in enumerate(plans):
        records += sweep_records(k, plan, rng)
    records.append(RunEnded("completed", "", time.time()))
    return records


def sample_bytes(records: list[Record]) -> int:
    """Bytes of sample data in the records (what tofile writes)."""
    return sum(r.samples.nbytes for r in records if isinstance(r, DataChunk))


def time_writer(records: list[Record], path: Path) -> float:
    """Seconds for the run writer to store every record and close the file."""
    start = time.perf_counter()
    writer = Hdf5RunWriter(path)
    try:
        for record in records:
            writer.handle(record)
    finally:
        writer.close()
    return time.perf_counter() - start


def time_tofile(records: list[Record], path: Path) -> float:
    """Seconds to write the same sample arrays with ndarray.tofile, flushed at every sweep end."""
    start = time.perf_counter()
    with open(path, "wb") as fh:
        for record in records:
            if isinstance(record, DataChunk):
                record.samples.tofile(fh)
            elif isinstance(record, SweepEnded):
                fh.flush()
    return time.perf_counter() - start


def bench(kind: str, n_sweeps: int, repeats: int, folder: Path) -> tuple[float, float]:
    """Print each repeat's figures; return (ratio of the best times, median of the paired ratios).

    One unreported warm-up of each comes first: on a fresh machine (a VM especially) the first
    writes touch new page-cache memory, which costs either method several times its usual time.
    """
    records = run_records(kind, n_sweeps)
    mb = sample_bytes(records) / 1e6
    times_h5: list[float] = []
    times_raw: list[float] = []
    for rep in range(-1, repeats):
        h5, raw = folder / f"{kind}_{rep}.h5", folder / f"{kind}_{rep}.bin"
        if rep % 2 == 0:
            t_raw, t_h5 = time_tofile(records, raw), time_writer(records, h5)
        else:
            t_h5, t_raw = time_writer(records, h5), time_tofile(records, raw)
        size_mb = h5.stat().st_size / 1e6
        h5.unlink()
        raw.unlink()
        if rep < 0:
            continue
        times_h5.append(t_h5)
        times_raw.append(t_raw)
        print(f"{kind:6s} repeat {rep + 1}: {mb:6.1f} MB of samples in {n_sweeps} sweeps; run writer "
              f"{mb / t_h5:7.1f} MB/s ({t_h5:.3f} s, file {size_mb:.1f} MB), tofile "
              f"{mb / t_raw:7.1f} MB/s ({t_raw:.3f} s); ratio writer / tofile {t_raw / t_h5:.2f}")
    paired = statistics.median(r / h for r, h in zip(times_raw, times_h5))
    return min(times_raw) / min(times_h5), paired


def main() -> None:
    """Print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("frap", "camera", "both"), default="both")
    parser.add_argument("--sweeps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="folder for the files (default: a temporary one)")
    args = parser.parse_args()
    kinds = ("frap", "camera") if args.kind == "both" else (args.kind,)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for kind in kinds:
            best, paired = bench(kind, args.sweeps if kind == "frap" else max(1, args.sweeps // 4), args.repeats,
                                 Path(tmp))
            print(f"{kind:6s} ratio writer / tofile: {best:.2f} (best times of {args.repeats}), median of the "
                  f"paired repeats {paired:.2f}")


if __name__ == "__main__":
    main()
