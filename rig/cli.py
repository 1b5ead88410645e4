"""The `rig` command: run protocols, validate files, summarise, recover and export run files.

Exit codes: 0 the run completed (or the command succeeded); 1 the run failed (a device, a step or
storage failed, or `rig recover` could not close a file); 2 bad input (one line per problem, nothing
moved, no file written); 128 + N when signal N stopped the run (130 SIGINT, 143 SIGTERM, 129 SIGHUP,
131 SIGQUIT; see rig.cli_signals). This module imports little, so its signal handlers are in place
before the slow imports (numpy, h5py, the protocols) and before the profile is read.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from rig.cli_export import EXPORT_COMMANDS, add_export_commands, run_export_command
from rig.cli_setup import SETUP_COMMANDS, add_setup_commands, run_setup_command
from rig.cli_signals import SignalGuard, deciding_signal, signal_exit_code, signal_name
from rig.engine.stop_flags import StopFlags

if TYPE_CHECKING:
    from rig.config.problems import Problem

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

log = logging.getLogger(__name__)


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(str(p), file=sys.stderr)


def _say(text: str, err: bool = False) -> None:
    """Print a line; a terminal that went away (SIGHUP) is no reason for a traceback."""
    try:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


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
    run.add_argument("--pace", choices=("fast", "realtime"), default=None,
                     help="simulated rig only: 'realtime' paces it to the wall clock (rehearsal), 'fast' as fast as "
                          "it computes (default: the profile's simulation.pace)")
    val = sub.add_parser("validate", help="check profiles and protocols (protocols also against a profile's limits)")
    val.add_argument("files", type=Path, nargs="+")
    val.add_argument("--profile", type=Path, default=None, help="profile to check protocols against")
    info = sub.add_parser("info", help="summarise a run file (closing it first if its writer died)")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    rec = sub.add_parser("recover", help="close run files left open by a killed or crashed run (status interrupted)")
    rec.add_argument("files", type=Path, nargs="+")
    rec.add_argument("--force", action="store_true",
                     help="recover even if the lock names a writer that may live (a lock from another computer)")
    doc = sub.add_parser("doctor", help="report what is installed and reachable for a profile")
    doc.add_argument("--profile", type=Path, default=None)
    gui = sub.add_parser("gui", help="open the operator's window")
    gui.add_argument("--profile", type=Path, default=None)
    gui.add_argument("--out", type=Path, default=Path("runs"), help="folder for run files (default: runs)")
    gui.add_argument("--pace", choices=("fast", "realtime"), default=None,
                     help="simulated rig only (default realtime: sweeps shown as they would happen)")
    add_export_commands(sub)
    add_setup_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rig` console script (argv None: this process is the `rig` command)."""
    flags = StopFlags()
    guard = SignalGuard(flags)
    as_process = argv is None
    if as_process:
        guard.install()  # before the slow imports and the profile: a start-up signal only sets a flag
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command != "run":
        guard.restore()  # no hardware: default signal behaviour (Ctrl-C ends the command with 130)
        if flags.signals:
            return signal_exit_code(flags) or EXIT_INTERRUPTED
    else:
        if not as_process:
            guard.install()
        log.info("signal handlers installed")
    from rig.config.problems import InvalidInput

    try:
        if args.command == "run":
            return _cmd_run(args, flags)
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "info":
            return _cmd_info(args)
        if args.command == "recover":
            return _cmd_recover(args)
        if args.command in EXPORT_COMMANDS:
            return run_export_command(args)
        if args.command in SETUP_COMMANDS:
            return run_setup_command(args)
        if args.command == "doctor":
            from rig.doctor import doctor

            return doctor(args.profile)
        if args.command == "gui":
            from rig.gui.app import main as gui_main

            return gui_main(args.profile, args.out, args.pace)
    except InvalidInput as exc:
        _print_problems(exc.problems)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # only outside `rig run` (there SIGINT sets a flag)
        return EXIT_INTERRUPTED
    finally:
        if args.command == "run":
            if as_process:
                guard.ignore()  # the rig is safe; a late signal must not kill interpreter shutdown
            else:
                guard.restore()
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from rig.validate import validate_files

    ok, problems = validate_files(args.files, args.profile)
    for line in ok:
        print(line)
    _print_problems(problems)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from rig.config.problems import InvalidInput, Problem
    from rig.storage.reader import RunFile
    from rig.storage.recover import RecoveryRefused, needs_recovery, recover

    note = ""
    if args.file.is_file() and needs_recovery(args.file):  # its writer died: close the file first
        try:
            done = recover(args.file)
            note = f"recovered: the writer had died; the file is closed now ({done.n_sweeps} stored sweeps kept)"
        except RecoveryRefused as exc:
            note = f"not recovered: {exc}"
    try:
        run = RunFile(args.file)
    except (OSError, ValueError) as exc:
        raise InvalidInput([Problem(str(args.file), "", f"cannot read as a run file ({exc})")]) from None
    with run:
        summary = run.summary()
    if note:
        summary["recovery"] = note
    if args.json:
        from rig.storage.reader import json_safe

        print(json.dumps(json_safe(summary), indent=None, default=str, allow_nan=False))
        return EXIT_OK
    _print_summary(summary)
    return EXIT_OK


def _cmd_recover(args: argparse.Namespace) -> int:
    from rig.storage.recover import RecoveryRefused, recover

    code = EXIT_OK
    for path in args.files:
        try:
            done = recover(path, force=args.force)
        except RecoveryRefused as exc:
            _say(f"error: {exc}", err=True)
            code = EXIT_RUN_FAILED
            continue
        what = "closed" if done.changed else "already closed"
        _say(f"{done.path}: {what}, status {done.status}, {done.n_sweeps} stored sweeps"
             + (f" ({done.reason})" if done.reason else ""))
    return code


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{summary['path']}[/bold]  protocol '{summary['protocol']}'  status {summary['status']}  "
                  f"{summary['n_sweeps']}/{summary['n_planned_sweeps']} sweeps")
    if summary.get("message"):
        console.print(f"  {summary['message']}")
    if summary.get("recovery"):
        console.print(f"  {summary['recovery']}")
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


def _cmd_run(args: argparse.Namespace, flags: StopFlags) -> int:
    if flags.any:
        return _interrupted_before_start(flags)
    from rig.run_input import prepare_run

    prepared = prepare_run(args.protocol, args.profile, args.overrides, args.sweeps)  # bad input: exit 2, light
    from rig.api import RunInterrupted, execute
    from rig.cli_progress import RunProgress
    from rig.cli_signals import Announcer
    from rig.config.problems import InvalidInput
    if args.pace is not None:
        from dataclasses import replace

        from rig.config.pace import with_pace

        prepared = replace(prepared, profile=with_pace(prepared.profile, args.pace))
    progress = RunProgress(prepared.compiled.planned_sweeps, enabled=not args.quiet)
    runners: list = []
    try:
        with progress, Announcer(flags, progress.say):
            result = execute(prepared, args.out, display=progress.handle, stop_flags=flags,
                             on_runner=runners.append)
    except RunInterrupted:
        return _interrupted_before_start(flags)
    except InvalidInput:
        raise
    except Exception as exc:  # the Runner made the rig safe and closed the run file before this propagated
        log.info("run failure detail", exc_info=True)
        outcome = runners[0].outcome if runners else None
        if outcome is None:
            state = "the rig was not built or no sweep ran"
        elif outcome.all_safe:
            state = "every device reported its safe state"
        else:
            state = "NOT SAFE: " + ", ".join(f"{r.device} ({r.detail})" for r in outcome.safety if not r.safe)
        _say(f"error: the run failed: {exc.__class__.__name__}: {' '.join(str(exc).split())[:300]} "
             f"({state}; -v shows the detail)", err=True)
        return signal_exit_code(flags) or EXIT_RUN_FAILED
    outcome = result.outcome
    _say(f"run file: {result.path}")
    _say(f"status: {outcome.status}" + (f" ({outcome.message})" if outcome.message else ""))
    for step_estimates in result.estimates_by_step.values():
        for e in step_estimates.values():
            _say(f"{e.step_name}: {e.name} = {e.value:.4g} {e.unit}  {_interval(e.bound, e.low, e.high)}"
                 + (f"  ({e.trend})" if e.trend else ""))
    for n in result.notices:
        _say(f"{n.level}: {n.message}", err=True)
    for f in result.consumer_failures:
        _say(f"error: {f}", err=True)
    by_signal = signal_exit_code(flags)
    if by_signal is not None:
        code = by_signal
        _say(f"stopped by {signal_name(deciding_signal(flags) or 0)}", err=True)
    elif outcome.status == "completed":
        code = EXIT_RUN_FAILED if result.consumer_failures else EXIT_OK
    else:
        code = EXIT_INTERRUPTED if outcome.status in ("stopped", "aborted") else EXIT_RUN_FAILED
    if result.storage_failed:
        _say(f"the run file was not closed; `rig recover {result.path}` (after freeing space) marks it interrupted",
             err=True)
        # After a write fault (disk full) HDF5 keeps unflushable buffers and its exit handler crashes
        # trying to write them; every completed sweep is already on disk, so leave without it.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    return code


def _interrupted_before_start(flags: StopFlags) -> int:
    name = signal_name(deciding_signal(flags) or 0)
    _say(f"{name}: interrupted before the run started; nothing moved and no run file was written", err=True)
    return signal_exit_code(flags) or EXIT_INTERRUPTED
