"""`rig reanalyze` speed-up from 1 to 2 dask workers over an archive of run files, and agreement with online.

Makes an archive of short simulated runs (FRAP and Na/Ca alternating), then re-analyses it on a LocalCluster of
1 and of 2 worker processes (each timed from submission to the last result; the cluster start is timed apart) and
prints the speed-up (ideal 2x on a 2-core machine) and how many estimates equal the online ones bit for bit.

    python benchmarks/bench_reanalyze.py --files 50
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from rig.api import run_protocol
from rig.export.reanalyze import FileResult, agreement, reanalyse_file, run_files_in

ROOT = Path(__file__).resolve().parents[1]
RUNS = ((ROOT / "protocols" / "frap.yaml", None, 3),
        (ROOT / "protocols" / "na_ca_imaging.yaml", ROOT / "hardware_profiles" / "simulated_na_ca.yaml", 2))


def make_archive(folder: Path, n_files: int) -> list[Path]:
    """n short simulated runs in `folder` (alternating kinds)."""
    for i in range(n_files):
        protocol, profile, sweeps = RUNS[i % len(RUNS)]
        run_protocol(protocol, profile, sweeps=sweeps, out_dir=folder / f"day{i % 5}")
    return run_files_in(folder)


def timed_reanalysis(paths: list[Path], workers: int) -> tuple[float, float, list[FileResult]]:
    """(cluster start s, re-analysis s, results) on a fresh LocalCluster of `workers` processes."""
    from dask.distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.submit(sum, [1]).result()  # workers up
        t1 = time.perf_counter()
        results = client.gather(client.map(reanalyse_file, [str(p) for p in paths], pure=False))
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, results


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        paths = make_archive(Path(tmp), args.files)
        print(f"archive: {len(paths)} run files made in {time.perf_counter() - t:.0f} s")
        timings = {}
        for workers in (1, 2):
            start, took, results = timed_reanalysis(paths, workers)
            same, compared = agreement(results)
            failed = sum(1 for r in results if r.error)
            timings[workers] = took
            print(f"{workers} worker(s): {took:.1f} s for {len(paths)} files ({len(paths) / took:.2f} files/s; "
                  f"cluster start {start:.1f} s); {failed} failed; {same}/{compared} estimates identical to online")
        print(f"speed-up 1 -> 2 workers: {timings[1] / timings[2]:.2f}x (ideal 2x on 2 cores)")


if __name__ == "__main__":
    main()
