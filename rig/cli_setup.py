"""`rig calibrate ...` and `rig check-wiring`: the first-day commands on a new rig (docs/hardware.md).

Imports only argparse at module level (the `rig` command stays quick to start); each command loads what it
needs. Bad input (profile, options, an --out that is the profile) is reported one line per problem with
exit 2 before any output moves; a procedure that runs but cannot measure exits 1 with one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rig.calibrate.profile_copy import ProfileEdit
    from rig.engine.rig import Rig

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


def _option_problems(args: argparse.Namespace) -> list:
    from rig.calibrate.profile_copy import out_path_problems
    from rig.config.problems import Problem

    problems = out_path_problems(args.profile, args.out)
    if args.what == "galvo" and not 1.0 <= args.pitch_um <= 200.0:
        problems.append(Problem("rig calibrate", "--pitch-um", f"{args.pitch_um:g}; allowed 1 to 200 um"))
    if not 3 <= args.steps <= 101:
        problems.append(Problem("rig calibrate", "--steps", f"{args.steps}; allowed 3 to 101"))
    if args.method == "pmt" and args.what == "leds":
        problems.append(Problem("rig calibrate", "--method", "'pmt' is for pockels only; allowed for leds: meter, typed"))
    if args.method is not None and args.what in ("galvo", "telegraph"):
        problems.append(Problem("rig calibrate", "--method", f"{args.what} has no --method (allowed: leave it out)"))
    return problems


def _calibrate(args: argparse.Namespace) -> int:
    from rig.calibrate.acquisition import CalibrationRunFailed
    from rig.calibrate.galvo import GridNotFound
    from rig.calibrate.profile_copy import write_calibrated_copy
    from rig.config.problems import InvalidInput
    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig

    problems = _option_problems(args)
    try:
        loaded = load_profile(args.profile)
    except InvalidInput as exc:
        problems = exc.problems + problems
        raise InvalidInput(problems) from None
    if problems:
        raise InvalidInput(problems)
    rig = build_rig(loaded)
    try:
        edits, lines = _measure(rig, args)
    except (GridNotFound, CalibrationRunFailed, ValueError) as exc:
        print(f"rig calibrate {args.what}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        rig.make_safe()
    write_calibrated_copy(loaded, edits, args.out, args.what)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rig calibrate {args.what}: {args.profile.name} -> {args.out}")
    for column in ("value", "profile", "measured"):
        table.add_column(column)
    for row in lines:
        table.add_row(*row)
    Console().print(table)
    print(f"wrote {args.out} (the profile {args.profile} is unchanged)")
    return EXIT_OK


def _readings(rig: Rig, args: argparse.Namespace):  # noqa: ANN202 - PowerReadings
    from rig.calibrate.instruments import MeterReadings, TypedReadings, rig_power_meter
    from rig.config.problems import InvalidInput, Problem

    meter = rig_power_meter(rig)
    method = args.method or ("meter" if meter is not None else "typed")
    if method == "meter":
        if meter is None:
            raise InvalidInput([Problem(str(args.profile), "--method", "this rig has no power meter the software "
                                        "reads; allowed: typed (type each reading in)")])
        return MeterReadings(meter)
    return TypedReadings(input)


def _measure(rig: Rig, args: argparse.Namespace) -> tuple[list[ProfileEdit], list[tuple[str, str, str]]]:
    """Run the chosen procedure: the profile edits and a table of (value, profile's, measured)."""
    profile = rig.profile.profile
    if args.what == "galvo":
        from rig.calibrate.galvo import calibrate_galvo, galvo_edits

        g = calibrate_galvo(rig, args.pitch_um)
        return galvo_edits(g), [("volts_per_um (x)", f"{g.nominal_volts_per_um[0]:.6g}", f"{g.volts_per_um[0]:.6g}"),
                                ("volts_per_um_y", f"{g.nominal_volts_per_um[1]:.6g}", f"{g.volts_per_um[1]:.6g}")]
    if args.what == "pockels":
        from rig.calibrate.nominal import nominal_pockels_table
        from rig.calibrate.pockels import calibrate_pockels, pockels_edits

        method = "pmt" if args.method == "pmt" else "meter"
        p = calibrate_pockels(rig, method, None if method == "pmt" else _readings(rig, args), args.steps)
        volts, fractions = nominal_pockels_table(profile.laser(p.laser))
        import numpy as np

        return pockels_edits(p), [(f"power fraction at {v:.3f} V", f"{float(np.interp(v, volts, fractions)):.4f}",
                                   f"{f:.4f}") for v, f in p.points]
    if args.what == "leds":
        from rig.calibrate.leds import calibrate_leds, led_edits

        r = calibrate_leds(rig, _readings(rig, args))
        return led_edits(r), [(f"{p.source}.{p.led} power_mW", _mW(profile.led_source(p.source).leds[p.led].power_mW),
                               f"{p.power_mW:.4g}") for p in r.leds]
    from rig.calibrate.instruments import rig_telegraphs
    from rig.calibrate.telegraph import (
        OperatorStepper,
        SimulatedStepper,
        calibrate_telegraph,
        telegraph_amplifier,
        telegraph_edits,
    )

    amplifier = telegraph_amplifier(rig)
    stepper = SimulatedStepper(rig, amplifier) if rig_telegraphs(rig) is not None else OperatorStepper(rig, input)
    t = calibrate_telegraph(rig, stepper, amplifier)
    spec = profile.amplifier(amplifier).telegraph
    assert spec is not None
    rows = [(f"mode {m} (V)", f"{spec.mode_levels_V.get(m, float('nan')):.4g}", f"{v:.4g}")  # type: ignore[call-overload]
            for m, v in t.mode_levels_V.items()]
    old_gains = dict(spec.gain_levels_V)
    rows += [(f"gain {g:g} (V)", f"{old_gains.get(float(g), float('nan')):.4g}", f"{v:.4g}") for g, v in t.gain_levels_V]
    return telegraph_edits(t), rows


def _mW(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _check_wiring(args: argparse.Namespace) -> int:
    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig
    from rig.wiring.check import check_wiring
    from rig.wiring.report import print_wiring_report, wiring_json

    loaded = load_profile(args.profile)
    rig = build_rig(loaded)
    try:
        report = check_wiring(rig)
    finally:
        rig.make_safe()
    if args.json:
        print(wiring_json(report))
    else:
        print_wiring_report(report)
    return EXIT_OK if report.ok else EXIT_FAILED
