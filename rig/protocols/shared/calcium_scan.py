"""Sweeps of the calcium protocols: line scan (green indicator + red marker), clamp, stimulus, current pulses."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from rig.config.base import StrictModel
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_meta import Bath, SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.common import StepProblem, resolve_device
from rig.protocols.shared.conditions import bath_of, parse_condition
from rig.protocols.shared.sweep_building import gate, line_scan, pulse_train

Point = tuple[float, float]
_TAIL = 2  # dark, closed, stimulator idle at the end: the held outputs are safe


class ImagingSpec(StrictModel):
    """A line scan across the spine head and its parent dendrite, both PMTs recorded."""

    scanner: str | None = None
    laser: str | None = None
    shutter: str | None = None
    start_um: Point
    end_um: Point
    spine_um: Point = Field(description="centre of the spine head (ROI and truth target)")
    green_pmt: str = "green"
    red_pmt: str = "red"
    line_rate_hz: float = Field(default=500.0, gt=0)
    pixels_per_line: int = Field(default=32, gt=1)
    fill_fraction: float = Field(default=0.8, gt=0.1, le=1)
    imaging_power_fraction: float = Field(default=0.1, gt=0, le=1)
    shutter_lead_ms: float = Field(default=5.0, ge=0)
    head_roi_radius_um: float = Field(default=0.3, gt=0)


class StimulusSpec(StrictModel):
    """Extracellular stimulation through the stimulus isolator."""

    stimulator: str | None = None
    amplitude_V: float = Field(default=-4.0, description="pulse amplitude (volts at the trigger output)")
    pulse_ms: float = Field(default=0.2, gt=0)

    @field_validator("amplitude_V")
    @classmethod
    def _nonzero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("a stimulus of 0 V stimulates nothing")
        return v


def check_condition(condition: str, field: str = "condition") -> list[StepProblem]:
    """A known pharmacology condition."""
    try:
        parse_condition(condition)
    except ValueError as exc:
        return [StepProblem(field, str(exc))]
    return []


def check_imaging(profile: HardwareProfile, imaging: ImagingSpec, field: str = "imaging") -> list[StepProblem]:
    """Scanner, PMTs, laser power, line rate, field of view and pixel clock within the profile's limits."""
    problems: list[StepProblem] = []
    scanner, found = resolve_device(profile, "galvo_scanner", imaging.scanner, f"{field}.scanner")
    problems += found
    laser, found = resolve_device(profile, "pockels_laser", imaging.laser, f"{field}.laser")
    problems += found
    problems += resolve_device(profile, "shutter", imaging.shutter, f"{field}.shutter", required=False)[1]
    if scanner is not None:
        spec = profile.scanner(scanner)
        lim, where = spec.limits, f"devices.{scanner}.limits"
        for role in ("green_pmt", "red_pmt"):
            pmt = getattr(imaging, role)
            if pmt not in spec.pmts:
                problems.append(StepProblem(f"{field}.{role}", f"scanner '{scanner}' has no PMT '{pmt}' "
                                            f"(available: {', '.join(sorted(spec.pmts))})"))
        if imaging.line_rate_hz > lim.max_line_rate_hz:
            problems.append(StepProblem(f"{field}.line_rate_hz", f"{imaging.line_rate_hz:g} Hz exceeds "
                                        f"{lim.max_line_rate_hz:g} Hz ({where}.max_line_rate_hz)"))
        if imaging.pixels_per_line > lim.max_pixels_per_line:
            problems.append(StepProblem(f"{field}.pixels_per_line", f"{imaging.pixels_per_line} exceeds "
                                        f"{lim.max_pixels_per_line} ({where}.max_pixels_per_line)"))
        for name in ("start_um", "end_um", "spine_um"):
            point = getattr(imaging, name)
            if max(abs(point[0]), abs(point[1])) > lim.field_half_width_um:
                problems.append(StepProblem(f"{field}.{name}", f"{list(point)} is outside the scan field +-"
                                            f"{lim.field_half_width_um:g} um ({where}.field_half_width_um)"))
    if laser is not None:
        laser_lim = profile.laser(laser).limits
        if imaging.imaging_power_fraction > laser_lim.max_imaging_power_fraction:
            problems.append(StepProblem(f"{field}.imaging_power_fraction", f"{imaging.imaging_power_fraction:g} "
                                        f"exceeds {laser_lim.max_imaging_power_fraction:g} "
                                        f"(devices.{laser}.limits.max_imaging_power_fraction)"))
    rate = round(imaging.pixels_per_line / imaging.fill_fraction) * imaging.line_rate_hz
    if rate > profile.daq.max_sample_rate_hz:
        problems.append(StepProblem(f"{field}.line_rate_hz", f"needs a pixel clock of {rate:g} Hz, above "
                                    f"daq.max_sample_rate_hz = {profile.daq.max_sample_rate_hz:g}"))
    if imaging.start_um == imaging.end_um:
        problems.append(StepProblem(f"{field}.end_um", "the scan line has zero length"))
    return problems


def check_stimulus(profile: HardwareProfile, stimulus: StimulusSpec, field: str = "stimulus") -> list[StepProblem]:
    """Stimulus amplitude and pulse width within the stimulus isolator's limits."""
    name, problems = resolve_device(profile, "stimulus_isolator", stimulus.stimulator, f"{field}.stimulator")
    if name is not None:
        lim = profile.stimulator(name).limits
        if abs(stimulus.amplitude_V) > lim.max_amplitude_V:
            problems.append(StepProblem(f"{field}.amplitude_V", f"|{stimulus.amplitude_V:g}| V exceeds "
                                        f"{lim.max_amplitude_V:g} V (devices.{name}.limits.max_amplitude_V)"))
        if stimulus.pulse_ms > lim.max_pulse_ms:
            problems.append(StepProblem(f"{field}.pulse_ms", f"{stimulus.pulse_ms:g} ms exceeds "
                                        f"{lim.max_pulse_ms:g} ms (devices.{name}.limits.max_pulse_ms)"))
    return problems


def check_current(profile: HardwareProfile, amplifier: str | None, holding_pA: float, pulse_pA: float,
                  field: str) -> list[StepProblem]:
    """CC holding plus current pulses within the amplifier's holding_pA limits."""
    if amplifier is None:
        return []
    low, high = profile.amplifier(amplifier).limits.holding_pA
    total = holding_pA + pulse_pA
    if not (low <= holding_pA <= high and low <= total <= high):
        return [StepProblem(field, f"current reaches {total:g} pA, outside the profile limit [{low:g}, {high:g}] pA "
                            f"(devices.{amplifier}.limits.holding_pA)")]
    return []


def calcium_sweep(profile: HardwareProfile, *, step_index: int, step_name: str, kind: str, sweep_in_step: int,
                  amplifier: str, mode: Literal["VC", "CC"], holding: float, duration_ms: float,
                  imaging: ImagingSpec | None = None, stimulus: StimulusSpec | None = None,
                  stimuli_ms: tuple[float, ...] = (), current_pulses: tuple[tuple[float, float, float], ...] = (),
                  condition: str = "control", meta: SweepMeta = SweepMeta(),
                  interval_after_s: float = 0.0, sample_rate_hz: float = 20_000.0) -> SweepPlan:
    """One sweep: clamp at a holding, optional line scan, stimulus pulses and (onset, width, amplitude) steps.

    Times are from the sweep start; with a line scan the sample clock is the pixel clock.
    """
    outputs: dict[str, np.ndarray] = {}
    inputs: list[str] = []
    layout = None
    target = None
    if imaging is not None:
        scanner = resolve_device(profile, "galvo_scanner", imaging.scanner, "")[0]
        laser = resolve_device(profile, "pockels_laser", imaging.laser, "")[0]
        shutter = resolve_device(profile, "shutter", imaging.shutter, "", required=False)[0]
        n_slots = max(2, math.ceil((duration_ms - imaging.shutter_lead_ms) * imaging.line_rate_hz / 1000.0))
        scan = line_scan(imaging.start_um, imaging.end_um, imaging.pixels_per_line, imaging.fill_fraction,
                         imaging.line_rate_hz, imaging.imaging_power_fraction, imaging.shutter_lead_ms, n_slots,
                         tail_samples=_TAIL)
        rate, n, layout = scan.sample_rate_hz, scan.x_um.size, scan.layout
        outputs[f"{scanner}.x"], outputs[f"{scanner}.y"] = scan.x_um, scan.y_um
        outputs[f"{laser}.power"] = scan.power
        if shutter is not None:
            outputs[f"{shutter}.open"] = gate(n, _TAIL)
        inputs += [f"{scanner}.{imaging.green_pmt}", f"{scanner}.{imaging.red_pmt}"]
        target = (float(imaging.spine_um[0]), float(imaging.spine_um[1]))
    else:
        rate = sample_rate_hz
        n = int(round(duration_ms * rate / 1000.0)) + _TAIL
    command = np.full(n, float(holding))
    for onset, width, amplitude in current_pulses:
        command += pulse_train(n, rate, [onset], width, amplitude)
    command[n - _TAIL:] = holding
    outputs[f"{amplifier}.command"] = command
    amp_spec = profile.amplifier(amplifier)
    inputs += [f"{amplifier}.primary"] + ([f"{amplifier}.secondary"] if amp_spec.channels.secondary else [])
    if stimulus is not None and stimuli_ms:
        stim = resolve_device(profile, "stimulus_isolator", stimulus.stimulator, "")[0]
        outputs[f"{stim}.trigger"] = pulse_train(n, rate, list(stimuli_ms), stimulus.pulse_ms, stimulus.amplitude_V)
    meta = replace(meta, condition=condition, bath=Bath(**bath_of(condition)), holding=float(holding))
    if imaging is not None:
        meta = replace(meta, green_channel=inputs[0], red_channel=inputs[1])
    events = {f"stimulus_{k}": t for k, t in enumerate(stimuli_ms)}
    return SweepPlan(step_index=step_index, step_name=step_name, kind=kind, sweep_in_step=sweep_in_step,
                     sample_rate_hz=rate, n_samples=n, outputs={k: v.astype(np.float32) for k, v in outputs.items()},
                     inputs=tuple(inputs), amplifier=amplifier, amplifier_mode=mode,
                     interval_after_s=interval_after_s, line_scan=layout, events_ms=events, target_um=target,
                     meta=meta)


DEPOLARIZED_ABOVE_MV = -20.0  # holdings above this count as 'held depolarized' (they drive neck plasticity)


def depolarized_ms(plan: SweepPlan, above_mV: float = DEPOLARIZED_ABOVE_MV) -> float:
    """Time (ms) a VC sweep and the interval after it hold the cell above `above_mV` (0 for CC or lower holdings);
    a sweep that steps its command counts the samples above, and the interval when the last one is."""
    holding = plan.meta.holding
    if plan.amplifier_mode != "VC" or holding is None:
        return 0.0
    command = plan.outputs.get(f"{plan.amplifier}.command")
    if command is not None and command.size:
        above = np.asarray(command, float) > above_mV
        return (1000.0 * float(np.count_nonzero(above)) / plan.sample_rate_hz
                + (1000.0 * plan.interval_after_s if above[-1] else 0.0))
    if float(holding) <= above_mV:
        return 0.0
    return 1000.0 * (plan.duration_s + plan.interval_after_s)
