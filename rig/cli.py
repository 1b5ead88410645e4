"""The `rig` command: run protocols, validate files, summarise run files."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from rig.config.problems import InvalidInput, Problem

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(str(p), file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rig", description="Acquisition for dendritic-spine imaging rigs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a protocol file (on the simulated rig by default)")
    run.add_argument("protocol", type=Path)
    run.add_argument("--profile", type=Path, default=None, help="hardware profile (default: simulated)")
    run.add_argument("--out", type=Path, default=Path("runs"), help="folder for the run file (default: runs)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a protocol value: 'steps.0.sweeps=3' or a step field like 'recovery_ms=800'")
    run.add_argument("--sweeps", type=int, default=None, help="sweeps per step (overrides the protocol)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    val = sub.add_parser("validate", help="check profiles and protocols (protocols also against a profile's limits)")
    val.add_argument("files", type=Path, nargs="+")
    val.add_argument("--profile", type=Path, default=None, help="profile to check protocols against")
    info = sub.add_parser("info", help="summarise a run file")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    doc = sub.add_parser("doctor", help="report what is installed and reachable for a profile")
    doc.add_argument("--profile", type=Path, default=None)
    gui = sub.add_parser("gui", help="open the operator's window")
    gui.add_argument("--profile", type=Path, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rig` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "info":
            return _cmd_info(args)
        if args.command == "doctor":
            from rig.doctor import doctor

            return doctor(args.profile)
        if args.command == "gui":
            from rig.gui.app import main as gui_main

            return gui_main(args.profile)
    except InvalidInput as exc:
        _print_problems(exc.problems)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from rig.validate import validate_files

    ok, problems = validate_files(args.files, args.profile)
    for line in ok:
        print(line)
    _print_problems(problems)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from rig.storage.reader import RunFile

    try:
        run = RunFile(args.file)
    except (OSError, ValueError) as exc:
        raise InvalidInput([Problem(str(args.file), "", f"cannot read as a run file ({exc})")]) from None
    with run:
        summary = run.summary()
    if args.json:
        from rig.storage.reader import json_safe

        print(json.dumps(json_safe(summary), indent=None, default=str, allow_nan=False))
        return EXIT_OK
    _print_summary(summary)
    return EXIT_OK


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{summary['path']}[/bold]  protocol '{summary['protocol']}'  status {summary['status']}  "
                  f"{summary['n_sweeps']}/{summary['n_planned_sweeps']} sweeps")
    if summary.get("message"):
        console.print(f"  {summary['message']}")
    table = Table("step", "estimate", "value", "interval", "unit", "truth")
    has_truth = summary.get("truth") is not None
    steps = summary.get("steps", {})
    trends: list[str] = []
    for step, estimates in summary.get("estimates_by_step", {}).items():
        truth = steps.get(step, {}).get("truth", {}) if has_truth else {}
        for name, e in estimates.items():
            t = truth.get(name)
            table.add_row(step, name, f"{e['value']:.4g}", interval_text(e), e["unit"],
                          "" if t is None else f"{t:.4g}")
            if e.get("trend"):
                trends.append(f"  {step}: {name}: {e['trend']}")
    console.print(table)
    for line in trends:
        console.print(line)
    for n in summary["notices"]:
        console.print(f"  {n['level']}: {n['message']}")


def interval_text(e: dict[str, Any]) -> str:
    """An estimate's interval as shown: '[low, high]', or '≥ low' / '≤ high' for a one-sided bound."""
    return _interval(e.get("bound", ""), e["low"], e["high"])


def _interval(bound: str, low: float | None, high: float | None) -> str:
    if bound == "lower":
        return f"≥ {low:.4g}"
    if bound == "upper":
        return f"≤ {high:.4g}"
    return f"[{low:.4g}, {high:.4g}]"


def _cmd_run(args: argparse.Namespace) -> int:
    from rig.api import execute, prepare_run
    from rig.cli_progress import RunProgress

    prepared = prepare_run(args.protocol, args.profile, args.overrides, args.sweeps)
    progress = RunProgress(len(prepared.compiled.plans), enabled=not args.quiet)
    presses = {"n": 0}

    def attach(runner) -> None:  # first Ctrl-C: stop after this sweep; second: stop now
        def on_signal(signum, frame) -> None:
            presses["n"] += 1
            if presses["n"] == 1 and signum == signal.SIGINT:
                progress.say("Ctrl-C: stopping after this sweep (Ctrl-C again to stop now)")
                runner.request_stop()
            else:
                progress.say("stopping now")
                runner.abort()

        signal.signal(signal.SIGINT, on_signal)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, on_signal)

    with progress:
        result = execute(prepared, args.out, display=progress.handle, on_runner=attach)
    outcome = result.outcome
    print(f"run file: {result.path}")
    print(f"status: {outcome.status}" + (f" ({outcome.message})" if outcome.message else ""))
    for step_estimates in result.estimates_by_step.values():
        for e in step_estimates.values():
            print(f"{e.step_name}: {e.name} = {e.value:.4g} {e.unit}  {_interval(e.bound, e.low, e.high)}"
                  + (f"  ({e.trend})" if e.trend else ""))
    for n in result.notices:
        print(f"{n.level}: {n.message}", file=sys.stderr)
    for f in result.consumer_failures:
        print(f"error: {f}", file=sys.stderr)
    if outcome.status == "completed":
        code = EXIT_RUN_FAILED if result.consumer_failures else EXIT_OK
    else:
        code = EXIT_INTERRUPTED if outcome.status in ("stopped", "aborted") else EXIT_RUN_FAILED
    if result.storage_failed:
        # After a write fault (disk full) HDF5 keeps unflushable buffers and its exit handler crashes
        # trying to write them; every completed sweep is already on disk, so leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
