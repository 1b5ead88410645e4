"""Calibration benchmark: every online estimator scored against the simulated truth over a spine population.

For each protocol kind (FRAP, fCaT, Na/Ca, VSD, quantal, Feller paired APs, theta-burst and
step-depolarization FRAP) a seeded population of spines is drawn over the physiological range, each spine
is run end to end on the simulated rig (rig.api.prepare_run/execute: the real Runner, run file and online
model, as `rig run` does), and the run file's final estimates are compared with its per-sweep truth.
Prints, per estimate: delivery, median bias, 95 % coverage, median interval width, the issue-11 target
and PASS/FAIL. Definitions: docs/calibration.md (written with --markdown).

Usage:
  python benchmarks/calibration.py [--kinds frap,fcat,...] [--spines N] [--budget-min M] [--seed S]
                                   [--workers K] [--markdown docs/calibration.md] [--runs DIR] [--json FILE]
                                   [--plain]
--budget-min sizes every kind not named in --spines from the measured cost per spine to fit M minutes of wall
time with K workers on K idle cores (calibration_bench/budget.py); --spines N (every kind) then sets nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration_bench.budget import Sizing, size_populations  # noqa: E402
from calibration_bench.kinds import KINDS, KindSpec, default_kinds, parse_kinds  # noqa: E402
from calibration_bench.population import DrawnSpine, PopulationRanges, draw_spines  # noqa: E402
from calibration_bench.report import RunInfo, markdown_document, print_table  # noqa: E402
from calibration_bench.runner import jobs_for, run_jobs  # noqa: E402
from calibration_bench.spine_rig import KindTarget, find_target  # noqa: E402
from calibration_bench.summary import FAIL, Row, SpineResult, summarise  # noqa: E402
from rig.config.problems import InvalidInput  # noqa: E402
from rig.protocols.protocol_file import load_protocol  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = 11


def _whole(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{what}: must be at least 1 (got {value})")
    return value


def _positive(text: str) -> int:
    return _whole(text, "value")


def _spines(text: str) -> dict[str, int]:
    """'N' (every kind), 'kind=N' items, or both: '4,step_depolarization_frap=2'; '' key is every kind."""
    out: dict[str, int] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, sep, value = item.rpartition("=")
        if sep and key not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown kind {key!r}; allowed: {', '.join(KINDS)}")
        out[key if sep else ""] = _whole(value, key or "spines")
    if not out:
        raise argparse.ArgumentTypeError("expected N or kind=N items")
    return out


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes (a number), got {text!r}") from None
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError(f"minutes must be above 0 and below 10000 (got {value:g})")
    return value


def population_sizes(kinds: list[KindSpec], spines: dict[str, int], budget_min: float | None,
                     workers: int) -> tuple[dict[str, int], Sizing | None]:
    """Spines per kind: --spines items, else the budget's sizes, else --spines N, else each kind's default."""
    if budget_min is None:
        return spines, None
    fixed = {k.key: spines[k.key] for k in kinds if k.key in spines}
    sizing = size_populations(kinds, budget_min, workers, fixed)
    return dict(sizing.spines), sizing


def _kinds(text: str) -> list[KindSpec]:
    try:
        return parse_kinds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", type=_kinds, default=default_kinds(),
                        help="comma-separated kinds, 'default' (issue 11's: "
                             f"{', '.join(k.key for k in default_kinds())})"
                             f" or 'all' (also {', '.join(k.key for k in KINDS.values() if not k.in_default)})")
    parser.add_argument("--spines", type=_spines, default={},
                        help="spines per kind: N, kind=N items, or both ('4,step_depolarization_frap=2'); "
                             "default: each kind's own, sized for ~20 min on 2 idle cores")
    parser.add_argument("--budget-min", type=_minutes, default=None,
                        help="size every kind not named in --spines to fit this many minutes of wall time with "
                             "--workers workers on as many idle cores (from the measured cost per spine)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"population seed (default {DEFAULT_SEED})")
    parser.add_argument("--workers", type=_positive, default=2, help="worker processes (default 2)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table and its notes here")
    parser.add_argument("--runs", type=Path, default=None, help="keep the run files here (default: temporary)")
    parser.add_argument("--json", type=Path, default=None, help="write every spine's scored estimates here")
    parser.add_argument("--plain", action="store_true", help="plain-text table (no rich)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any row fails its target")
    return parser.parse_args(argv)


def _revision() -> str:
    """The checkout's commit, marked when tracked files differ from it (others' work in progress)."""
    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=20,
                                 check=False)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""
    head = git("rev-parse", "--short", "HEAD")
    if not head:
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _progress(result: SpineResult) -> None:
    status = result.error or (result.score.status if result.score else "?")
    print(f"[{time.strftime('%H:%M:%S')}] {result.kind} spine {result.spine.label()}: {status} "
          f"({result.wall_s:.0f} s wall, {result.cpu_s:.0f} s CPU)", file=sys.stderr, flush=True)


def _steps(kind: KindSpec) -> list[tuple[str, str]]:
    steps = load_protocol(kind.protocol, list(kind.overrides)).protocol.steps
    return [(s.name or s.kind, s.kind) for s in steps]


def run_benchmark(kinds: list[KindSpec], n_spines: int | dict[str, int] | None, seed: int, workers: int,
                  runs_dir: Path,
                  ranges: PopulationRanges = PopulationRanges()
                  ) -> tuple[list[Row], list[SpineResult], dict[str, KindTarget]]:
    """Draw, run and score every kind's population; returns the rows, every spine's result and the targets."""
    targets: dict[str, KindTarget] = {}
    steps: dict[str, list[tuple[str, str]]] = {}
    spines: dict[str, list[DrawnSpine]] = {}
    failed: list[SpineResult] = []
    runnable = []
    counts = n_spines if isinstance(n_spines, dict) else {"": n_spines} if n_spines else {}
    for kind in kinds:
        drawn = draw_spines(counts.get(kind.key, counts.get("", kind.default_spines)), seed, ranges)
        spines[kind.key] = drawn
        try:
            targets[kind.key] = find_target(kind)
            steps[kind.key] = _steps(kind)
            runnable.append(kind)
        except (InvalidInput, ValueError) as exc:
            message = "; ".join(str(p) for p in exc.problems) if isinstance(exc, InvalidInput) else str(exc)
            print(f"{kind.key}: cannot prepare the protocol: {message}", file=sys.stderr)
            steps[kind.key] = []
            failed += [SpineResult(kind.key, s, None, f"cannot prepare: {message}", 0.0) for s in drawn]
    results = run_jobs(jobs_for(runnable, spines, targets, runs_dir), workers, _progress) + failed
    rows: list[Row] = []
    for kind in kinds:
        rows += summarise(kind.key, steps[kind.key], [r for r in results if r.kind == kind.key])
    return rows, results, targets


def _unwritable(path: Path | None, option: str, is_dir: bool) -> list[str]:
    """One line if `path` cannot be written, else none; tried now (folders made, a new file made and removed)
    so that a long run never ends unable to write its result."""
    if path is None:
        return []
    try:
        if is_dir:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".calibration_write_test"
            probe.touch()
            probe.unlink()
        else:
            if path.is_dir():
                return [f"{option} {path}: is a folder, expected a file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            existed = path.exists()
            with path.open("a", encoding="utf-8"):
                pass
            if not existed:
                path.unlink()
    except OSError as exc:
        return [f"{option} {path}: cannot write there ({exc.strerror or exc})"]
    return []


def _strict(value: object) -> object:
    """JSON-able with null for NaN and infinities (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    problems = (_unwritable(args.markdown, "--markdown", False) + _unwritable(args.json, "--json", False)
                + _unwritable(args.runs, "--runs", True))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    started = time.perf_counter()
    counts, sizing = population_sizes(args.kinds, args.spines, args.budget_min, args.workers)
    if sizing is not None:
        print(f"--budget-min {args.budget_min:g}: {sizing.describe()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="calibration_") as tmp:
        runs_dir = args.runs if args.runs is not None else Path(tmp)
        rows, results, targets = run_benchmark(args.kinds, counts, args.seed, args.workers, runs_dir)
    wall = time.perf_counter() - started
    print_table(rows, plain=args.plain)
    print(f"{len(results)} runs in {wall / 60:.1f} min", file=sys.stderr)
    command = "python benchmarks/calibration.py" + (" " + shlex.join(sys.argv[1:] if argv is None else argv)
                                                     if (sys.argv[1:] if argv is None else argv) else "")
    if args.markdown is not None:
        info = RunInfo(command, time.strftime("%Y-%m-%d %H:%M %Z"), _revision(), args.seed, args.workers, wall,
                       PopulationRanges(), sizing.describe() if sizing is not None else "")
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_document(info, args.kinds, targets, rows, results), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_strict([dataclasses.asdict(r) for r in results]), indent=1, default=str,
                                        allow_nan=False), encoding="utf-8")
    return 1 if args.strict and any(r.status == FAIL for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
