"""`rig calibrate ...` and `rig check-wiring`: the first-day commands on a new rig (docs/hardware.md).

Imports only argparse at module level (the `rig` command stays quick to start); each command loads what it
needs. Bad input (profile, options, an --out that is the profile) is reported one line per problem with
exit 2 before any output moves; a procedure that runs but cannot measure exits 1 with one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SETUP_COMMANDS = ("calibrate", "check-wiring")
CALIBRATIONS = ("galvo", "pockels", "leds", "telegraph")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_setup_commands(sub: argparse._SubParsersAction) -> None:
    """Add `calibrate` and `check-wiring` to the `rig` command's subcommands."""
    cal = sub.add_parser("calibrate", help="measure a calibration on the rig and write it into a copy of the profile")
    cal.add_argument("what", choices=CALIBRATIONS)
    cal.add_argument("--profile", type=Path, required=True, help="the rig's hardware profile (never overwritten)")
    cal.add_argument("--out", type=Path, required=True, help="the calibrated copy to write (.yaml)")
    cal.add_argument("--method", choices=("meter", "typed", "pmt"), default=None,
                     help="pockels/leds: 'meter' a power meter the rig reads, 'typed' readings typed in, 'pmt' "
                          "(pockels) PMT counts on a uniform dye slide (default: meter when the rig has one, else typed)")
    cal.add_argument("--pitch-um", type=float, default=10.0, help="galvo: the calibration grid's pitch (default 10)")
    cal.add_argument("--steps", type=int, default=17, help="pockels: control-voltage steps (default 17)")
    wire = sub.add_parser("check-wiring", help="drive every non-light output with a test tone and show where each "
                                               "came back (light held off)")
    wire.add_argument("--profile", type=Path, required=True)
    wire.add_argument("--json", action="store_true", help="print the table as JSON")


def run_setup_command(args: argparse.Namespace) -> int:
    """Run `calibrate` or `check-wiring`; the exit code."""
    from rig.config.problems import InvalidInput

    try:
        if args.command == "calibrate":
            return _calibrate(args)
        return _check_wiring(args)
    except InvalidInput as exc:
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        return EXIT_BAD_INPUT


def _calibrate(args: argparse.Namespace) -> int:
    from rig.calibrate.acquisition import CalibrationRunFailed
    from rig.calibrate.galvo import GridNotFound
    from rig.calibrate.procedures import CalibrationRequest, request_problems, run_procedure
    from rig.calibrate.profile_copy import out_path_problems, write_calibrated_copy
    from rig.config.problems import InvalidInput
    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig

    request = CalibrationRequest(args.what, args.method, args.pitch_um, args.steps)
    problems = out_path_problems(args.profile, args.out) + request_problems(request)
    try:
        loaded = load_profile(args.profile)
    except InvalidInput as exc:
        raise InvalidInput(exc.problems + problems) from None
    if problems:
        raise InvalidInput(problems)
    rig = build_rig(loaded)
    try:
        outcome = run_procedure(rig, request, input)
    except (GridNotFound, CalibrationRunFailed, ValueError) as exc:
        print(f"rig calibrate {args.what}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        rig.make_safe()
    write_calibrated_copy(loaded, outcome.edits, args.out, args.what)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rig calibrate {args.what}: {args.profile.name} -> {args.out}")
    for column in ("value", "profile", "measured"):
        table.add_column(column)
    for row in outcome.rows:
        table.add_row(*row)
    Console().print(table)
    print(f"wrote {args.out} (the profile {args.profile} is unchanged)")
    return EXIT_OK


def _check_wiring(args: argparse.Namespace) -> int:
    from rig.calibrate.acquisition import CalibrationRunFailed
    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig
    from rig.wiring.check import LightNotLockedOut, check_wiring
    from rig.wiring.report import print_wiring_report, wiring_json

    loaded = load_profile(args.profile)
    rig = build_rig(loaded)
    try:
        report = check_wiring(rig)
    except (LightNotLockedOut, CalibrationRunFailed) as exc:
        print(f"rig check-wiring: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        rig.make_safe()
    if args.json:
        print(wiring_json(report))
    else:
        print_wiring_report(report)
    return EXIT_OK if report.ok else EXIT_FAILED
