"""One entry point for every calibration, shared by `rig calibrate` and the window's Calibrate menu: run the
procedure asked for on a rig and return the profile edits with a table of (value, profile's, measured)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from rig.calibrate.instruments import MeterReadings, PowerReadings, TypedReadings, rig_power_meter, rig_telegraphs
from rig.calibrate.profile_copy import ProfileEdit
from rig.config.problems import InvalidInput, Problem
from rig.engine.rig import Rig

Procedure = Literal["galvo", "pockels", "leds", "telegraph"]
PROCEDURES: tuple[Procedure, ...] = ("galvo", "pockels", "leds", "telegraph")
Method = Literal["meter", "typed", "pmt"]
METHODS: tuple[Method, ...] = ("meter", "typed", "pmt")


@dataclass(frozen=True)
class CalibrationRequest:
    """What to calibrate and how: the procedure, the power-reading method, the grid pitch, the Pockels steps."""

    what: Procedure
    method: Method | None = None
    pitch_um: float = 10.0
    steps: int = 17


@dataclass(frozen=True)
class CalibrationOutcome:
    """The values to write into the copy, and a table of what changed (value, profile's, measured)."""

    what: Procedure
    edits: tuple[ProfileEdit, ...]
    rows: tuple[tuple[str, str, str], ...]


def request_problems(request: CalibrationRequest, source: str = "rig calibrate") -> list[Problem]:
    """Options that do not fit the procedure, one Problem each."""
    problems: list[Problem] = []
    if request.what == "galvo" and not 1.0 <= request.pitch_um <= 200.0:
        problems.append(Problem(source, "--pitch-um", f"{request.pitch_um:g}; allowed 1 to 200 um"))
    if not 3 <= request.steps <= 101:
        problems.append(Problem(source, "--steps", f"{request.steps}; allowed 3 to 101"))
    if request.method == "pmt" and request.what == "leds":
        problems.append(Problem(source, "--method", "'pmt' is for pockels only; allowed for leds: meter, typed"))
    if request.method is not None and request.what in ("galvo", "telegraph"):
        problems.append(Problem(source, "--method", f"{request.what} has no --method (allowed: leave it out)"))
    return problems


def power_readings(rig: Rig, method: Method | None, ask: Callable[[str], str]) -> PowerReadings:
    """The rig's power meter ('meter', the default when it has one) or the operator's typed readings."""
    meter = rig_power_meter(rig)
    chosen = method or ("meter" if meter is not None else "typed")
    if chosen == "meter":
        if meter is None:
            raise InvalidInput([Problem(str(rig.profile.path), "--method", "this rig has no power meter the software "
                                        "reads; allowed: typed (type each reading in)")])
        return MeterReadings(meter)
    return TypedReadings(ask)


def _mW(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def run_procedure(rig: Rig, request: CalibrationRequest, ask: Callable[[str], str]) -> CalibrationOutcome:
    """Run one calibration on the rig (made safe afterwards by each procedure); `ask` prompts the operator."""
    profile = rig.profile.profile
    if request.what == "galvo":
        from rig.calibrate.galvo import calibrate_galvo, galvo_edits

        g = calibrate_galvo(rig, request.pitch_um)
        rows: tuple[tuple[str, str, str], ...] = (("volts_per_um (x)", f"{g.nominal_volts_per_um[0]:.6g}", f"{g.volts_per_um[0]:.6g}"),
                ("volts_per_um_y", f"{g.nominal_volts_per_um[1]:.6g}", f"{g.volts_per_um[1]:.6g}"))
        return CalibrationOutcome("galvo", tuple(galvo_edits(g)), rows)
    if request.what == "pockels":
        from rig.calibrate.nominal import nominal_pockels_table
        from rig.calibrate.pockels import calibrate_pockels, pockels_edits

        pmt = request.method == "pmt"
        p = calibrate_pockels(rig, "pmt" if pmt else "meter", None if pmt else power_readings(rig, request.method, ask),
                              request.steps)
        volts, fractions = nominal_pockels_table(profile.laser(p.laser))
        rows = tuple((f"power fraction at {v:.3f} V", f"{float(np.interp(v, volts, fractions)):.4f}", f"{f:.4f}")
                     for v, f in p.points)
        return CalibrationOutcome("pockels", tuple(pockels_edits(p)), rows)
    if request.what == "leds":
        from rig.calibrate.leds import calibrate_leds, led_edits

        r = calibrate_leds(rig, power_readings(rig, request.method, ask))
        rows = tuple((f"{p.source}.{p.led} power_mW", _mW(profile.led_source(p.source).leds[p.led].power_mW),
                      f"{p.power_mW:.4g}") for p in r.leds)
        return CalibrationOutcome("leds", tuple(led_edits(r)), rows)
    from rig.calibrate.telegraph import (
        OperatorStepper,
        SimulatedStepper,
        calibrate_telegraph,
        telegraph_amplifier,
        telegraph_edits,
    )

    amplifier = telegraph_amplifier(rig)
    stepper = SimulatedStepper(rig, amplifier) if rig_telegraphs(rig) is not None else OperatorStepper(rig, ask)
    t = calibrate_telegraph(rig, stepper, amplifier)
    spec = profile.amplifier(amplifier).telegraph
    assert spec is not None
    old_modes: dict[str, float] = {str(k): v for k, v in spec.mode_levels_V.items()}
    old_gains = dict(spec.gain_levels_V)
    rows_list = [(f"mode {m} (V)", _mW(old_modes.get(m)), f"{v:.4g}") for m, v in t.mode_levels_V.items()]
    rows_list += [(f"gain {g:g} (V)", _mW(old_gains.get(float(g))), f"{v:.4g}") for g, v in t.gain_levels_V]
    return CalibrationOutcome("telegraph", tuple(telegraph_edits(t)), tuple(rows_list))
