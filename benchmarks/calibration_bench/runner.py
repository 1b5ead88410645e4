"""Run the population: one real run (rig.api prepare_run/execute, as `rig run` does) per spine and kind,
spread over worker processes, each scored from its run file."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from calibration_bench.kinds import KindSpec
from calibration_bench.population import DrawnSpine
from calibration_bench.scoring import score_run
from calibration_bench.spine_rig import KindTarget, protocol_overrides, write_spine_profile
from calibration_bench.summary import SpineResult
from rig.api import execute, prepare_run
from rig.config.problems import InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpineJob:
    """One spine to run with one kind's protocol, writing into `folder`."""

    kind: KindSpec
    spine: DrawnSpine
    target: KindTarget
    folder: Path


def run_spine(job: SpineJob) -> SpineResult:
    """Build the spine's profile, run the protocol end to end, score the run file; never raises."""
    kind = job.kind
    start, cpu = time.perf_counter(), time.process_time()
    folder = job.folder / f"{kind.key}_{job.spine.index:03d}"
    try:
        profile = write_spine_profile(kind, job.target, job.spine, folder)
        prepared = prepare_run(kind.protocol, profile, protocol_overrides(kind, job.spine))
        result = execute(prepared, folder)
        score = score_run(result.path)
        return SpineResult(kind.key, job.spine, score, "", time.perf_counter() - start, time.process_time() - cpu,
                           str(result.path))
    except InvalidInput as exc:
        error = "invalid input: " + "; ".join(str(p) for p in exc.problems)
    except Exception as exc:  # a benchmark records a failing run and goes on with the others
        log.exception("%s spine %d failed", kind.key, job.spine.index)
        error = f"{type(exc).__name__}: {exc}"
    return SpineResult(kind.key, job.spine, None, error, time.perf_counter() - start, time.process_time() - cpu)


def _worker_init() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.basicConfig(level=logging.WARNING)


def run_jobs(jobs: Iterable[SpineJob], workers: int,
             on_done: Callable[[SpineResult], None] | None = None) -> list[SpineResult]:
    """Run every job (in this process when workers == 1, else in a spawn pool); results in job order."""
    jobs = list(jobs)
    results: dict[int, SpineResult] = {}
    if workers <= 1:
        for i, job in enumerate(jobs):
            results[i] = run_spine(job)
            if on_done:
                on_done(results[i])
    else:
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i].kind.cost_hint_s)  # longest first
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(run_spine, jobs[i]): i for i in order}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # the worker process died (run_spine itself never raises)
                    results[i] = SpineResult(jobs[i].kind.key, jobs[i].spine, None,
                                             f"worker failed: {type(exc).__name__}: {exc}", 0.0)
                if on_done:
                    on_done(results[i])
    return [results[i] for i in range(len(jobs))]


def jobs_for(kinds: list[KindSpec], spines: dict[str, list[DrawnSpine]], targets: dict[str, KindTarget],
             folder: Path) -> list[SpineJob]:
    """Every (kind, spine) pair."""
    return [SpineJob(k, s, targets[k.key], folder) for k in kinds for s in spines[k.key]]
