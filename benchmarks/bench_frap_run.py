"""Speed of whole runs on the simulated rig (Runner + storage + online model), as simulated time / wall time.

Each run is measured twice in this process, side by side: with the truth source as it is now (truth only for
what a step measures, cached, probes off the acquisition thread) and with the former truth path (spine, EPSP
and fCaT truth computed at every sweep start on the acquisition thread, fCaT probes for every spine in
`describe()` at run start), rebuilt here as `FormerTruth`. Also: the simulated rig alone (no consumers) and the
run-file writer against a bare h5py append of the same samples. With `--baseline COMMIT` (default fa34f82, before
issue 13's simulator work) the simulated rig alone and the FRAP run are also measured on that commit's code, in
a subprocess, alternating with this tree's (benchmarks/baseline.py); ratios by wall and by CPU time of the process.

Last, where one FRAP run's CPU goes (`cost_breakdown`): the cell's electrical step (`CellDriver.run`, helper
elec's part), the specimen description's unitary-EPSP probes at run start (`describe()`), and the rest (the other
simulation, Runner, storage, online model), with the ratio the run would reach if only the electrical step cost.

Usage: python benchmarks/bench_frap_run.py [--sweeps N] [--fcat-sweeps N] [--repeats N] [--baseline C | --no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from rig.api import execute, prepare_run  # noqa: E402
from rig.engine.rig import build_rig  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402
from simulated_devices.truth import calcium_truth, spine_truth  # noqa: E402
from simulated_devices.truth_source import SpecimenTruth  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import ThreadCpu  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class FormerTruth(SpecimenTruth):
    """The truth path before issue 13: every group for every sweep, computed at the sweep start; describe()
    with the fCaT probes of every spine."""

    def truth_for(self, plan):  # type: ignore[override]
        """Spine, unitary-EPSP and fCaT truth of the target, now, on the calling thread."""
        if plan.target_um is None:
            return {}
        s = self.specimen
        index = s.nearest_spine(plan.target_um)
        return {"spine_index": float(index)} | spine_truth(s, index) | s.epsp_truth(index) | calcium_truth(s, index)

    def describe(self) -> dict[str, object]:
        """The specimen, with every spine's fCaT truth as before."""
        out = self.specimen.describe()
        for i, spine in enumerate(out["spines"]):  # type: ignore[union-attr]
            spine.update(calcium_truth(self.specimen, i))
        return out


def simulation_only(prepared) -> tuple[float, float]:
    """Drive the simulated clock through every plan with no consumers: (simulated s, wall s)."""
    simulated, wall, _ = simulation_only_cpu(prepared)
    return simulated, wall


def simulation_only_cpu(prepared) -> tuple[float, float, float]:
    """As `simulation_only`, also the CPU time of this process: (simulated s, wall s, CPU s)."""
    rig = build_rig(prepared.profile)
    simulated = 0.0
    start, cpu = time.perf_counter(), time.process_time()
    for plan in prepared.compiled.plans:
        rig.clock.load(plan)
        rig.clock.start()
        while rig.clock.read() is not None:
            pass
        rig.clock.stop()
        simulated += plan.duration_s
    return simulated, time.perf_counter() - start, time.process_time() - cpu


def measure_now(prepared) -> dict[str, float]:
    """The simulated rig alone and one FRAP run (truth as now) on the code on sys.path, with CPU times."""
    simulated, wall, cpu = simulation_only_cpu(prepared)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0 = time.process_time()
        run_sim, run_wall, _, _ = whole_run(prepared, "now", Path(tmp))
        run_cpu = time.process_time() - cpu0
    return {"sim_s": simulated, "sim_wall_s": wall, "sim_cpu_s": cpu, "run_sim_s": run_sim, "run_wall_s": run_wall,
            "run_cpu_s": run_cpu}


def print_versus(label: str, runs: list[dict[str, float]]) -> None:
    """Rows of `measure_now` results: ranges over the repeats, by wall and by CPU."""
    def rng(num: str, den: str) -> str:
        r = [m[num] / m[den] for m in runs]
        return f"{min(r):6.2f}-{max(r):6.2f}x"
    print(f"{label}: simulated rig alone {rng('sim_s', 'sim_wall_s')} real time by wall, {rng('sim_s', 'sim_cpu_s')} by "
          f"CPU; FRAP run {rng('run_sim_s', 'run_wall_s')} by wall, {rng('run_sim_s', 'run_cpu_s')} by CPU")


def whole_run(prepared, truth: str, folder: Path) -> tuple[float, float, str, int]:
    """One run with the named truth path ('now' or 'former'): (simulated sweep s, wall s, status, sweeps)."""
    rig = build_rig(prepared.profile)
    if truth == "former":
        rig.truth = FormerTruth(rig.extras["specimen"])
    t0 = time.perf_counter()
    result = execute(prepared, folder, rig_=rig)
    wall = time.perf_counter() - t0
    with RunFile(result.path) as f:
        plans = f.plans()
    simulated = sum(float(p["duration_s"]) for p in plans)
    return simulated, wall, result.outcome.status, len(plans)


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


def cost_breakdown(prepared) -> None:
    """Print where one FRAP run's CPU time goes (after one warm-up run), best of 3 by run CPU."""
    from simulated_devices.cell import CellDriver
    rows = []
    for k in range(4):
        with tempfile.TemporaryDirectory() as tmp, ThreadCpu(CellDriver, "run") as cell, \
                ThreadCpu(SpecimenTruth, "describe") as describe:
            cpu0 = time.process_time()
            simulated, _, _, _ = whole_run(prepared, "now", Path(tmp))
            cpu = time.process_time() - cpu0
        if k:
            rows.append((cpu, cell.cpu_s, describe.cpu_s))
    cpu, cell_s, describe_s = min(rows)
    rest = cpu - cell_s - describe_s
    print(f"FRAP run CPU {cpu:.3f} s for {simulated:.2f} s simulated ({simulated / cpu:.1f}x by CPU): cell electrical "
          f"step {cell_s:.3f} s ({cell_s / cpu:.0%}), describe() EPSP probes {describe_s:.3f} s "
          f"({describe_s / cpu:.0%}), the rest {rest:.3f} s ({rest / cpu:.0%}); the electrical step alone would "
          f"allow {simulated / cell_s:.1f}x")


def side_by_side(label: str, prepared, repeats: int) -> None:
    """Print the run's speed with the truth path now and the former one, each repeated."""
    for truth in ("now", "former"):
        ratios, walls = [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                simulated, wall, status, sweeps = whole_run(prepared, truth, Path(tmp))
            ratios.append(simulated / wall)
            walls.append(wall)
        print(f"{label}, truth {truth:>6}: {min(ratios):6.2f}-{max(ratios):6.2f}x real time "
              f"({sweeps} sweeps, {simulated:.1f} s simulated in {min(walls):.2f}-{max(walls):.2f} s wall, "
              f"status {status})")


def fcat_step_only(folder: Path) -> Path:
    """protocols/fcat.yaml without its reversal search: the fCaT step held at 0 mV."""
    import yaml
    data = yaml.safe_load((ROOT / "protocols" / "fcat.yaml").read_text())
    step = next(s for s in data["steps"] if s["kind"] == "fcat") | {"reversal_holding": 0.0}
    path = folder / "fcat_step.yaml"
    path.write_text(yaml.safe_dump(data | {"steps": [step]}))
    return path


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=10, help="FRAP sweeps")
    ap.add_argument("--fcat-sweeps", type=int, default=4, help="fCaT sweeps per condition (0: skip the fCaT run)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--baseline", default="fa34f82", help="commit to compare with")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--only-now", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    frap = prepare_run(ROOT / "protocols" / "frap.yaml", overrides=["interval_s=0"], sweeps=args.sweeps)
    if args.only_now:  # the baseline subprocess: one measurement as JSON
        print(json.dumps(measure_now(frap)))
        return
    if not args.no_baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import BaselineTree
        now_runs, before_runs = [], []
        with BaselineTree(args.baseline) as old:
            for _ in range(args.repeats):
                now_runs.append(measure_now(frap))
                before_runs.append(old.measure(Path(__file__).resolve(), [f"--sweeps={args.sweeps}"]))
        print(f"FRAP, {args.sweeps} sweeps, this tree against {args.baseline}, alternating, {args.repeats} repeats")
        print_versus(f"{'now':>8}", now_runs)
        print_versus(f"{args.baseline:>8}", before_runs)  # type: ignore[arg-type]
    plan0 = frap.compiled.plans[0]
    channels = len(plan0.inputs) + len(plan0.outputs)
    print(f"FRAP, {args.sweeps} sweeps of {plan0.duration_s * 1000:.0f} ms at {plan0.sample_rate_hz / 1000:.0f} kHz, "
          f"{channels} channels, {plan0.n_samples} samples each")
    simulated, wall_sim = simulation_only(frap)
    print(f"simulated rig alone:  {simulated / wall_sim:6.1f}x real time ({wall_sim:.2f} s wall)")
    side_by_side("FRAP run (sim + storage + online fits)", frap, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        wall_bare = bare_h5py(frap, Path(tmp))
    print(f"bare h5py append of the same samples: {wall_bare:.2f} s")
    cost_breakdown(frap)
    if args.fcat_sweeps > 0:
        with tempfile.TemporaryDirectory() as tmp:
            fcat = prepare_run(fcat_step_only(Path(tmp)), ROOT / "hardware_profiles" / "simulated_fcat.yaml",
                               ["interval_s=0", f"sweeps_per_condition={args.fcat_sweeps}"])
        print(f"fCaT step of protocols/fcat.yaml alone (held at 0 mV, no reversal search), {args.fcat_sweeps} "
              "sweeps per condition and the settle sweeps")
        side_by_side("fCaT run", fcat, args.repeats)


if __name__ == "__main__":
    main()
