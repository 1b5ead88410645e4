"""Check every SweepPlan against the profile's limits before any output moves."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from rig.config.bounds import MAX_COUNT, MAX_SWEEP_MS
from rig.config.channels import ChannelInfo, logical_channels
from rig.config.device_specs import GalvoScannerSpec
from rig.config.problems import Problem
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan, rising_edges

MAX_SWEEP_S = MAX_SWEEP_MS / 1000.0
# Waveforms (and camera frames) a protocol may plan: far below what a rig PC holds, far above any
# real protocol (a 60 s sweep of 12 channels at 500 kHz is 2.9 GB; the shipped ones are < 100 MB).
MAX_PLANNED_BYTES = 2 * 1024**3
_CLOCK_RATES = ("sample_rate_hz", "line_rate_hz", "frame_rate_hz")
_BYTES_PER_SAMPLE = 8  # kinds build waveforms in float64 before storing them as float32


@dataclass(frozen=True)
class StepMemoryEstimate:
    """Upper estimate of one step's planned memory, from its fields, before anything is allocated."""

    n_bytes: float
    sample_rate_hz: float
    rate_from: str
    duration_s: float
    n_channels: int
    frame_bytes: float = 0.0

    def describe(self) -> str:
        """One line: the estimate, how it was made, and the bound."""
        gib = 1024**3
        frames = f" + frames {self.frame_bytes / gib:.2g} GiB" if self.frame_bytes else ""
        return (f"plans ~{self.n_bytes / gib:.3g} GiB, allowed at most {MAX_PLANNED_BYTES / gib:g} GiB "
                f"({self.sample_rate_hz:g} Hz {self.rate_from} x {self.duration_s:.3g} s x {self.n_channels} "
                f"channels{frames}): shorten times or lower rates")


def estimate_step_bytes(step: BaseModel, profile: HardwareProfile) -> StepMemoryEstimate:
    """Estimate a step's waveform memory as sample rate x duration x channels x 8 bytes (+ frames).

    Generic over kinds, by the units in field names: the duration is the sum of the step's
    `*_ms` times (the largest of a list of onsets), its `*_s` times other than intervals and one
    period of each event rate (`*_rate_hz` other than sample, line and frame rates);
    the rate is the step's largest `sample_rate_hz`, else a line scan's pixel clock
    (pixels_per_line / fill_fraction x line_rate_hz, as rig.protocols.shared.sweep_building.line_scan
    makes it), else the DAQ's maximum; channels are every channel of the profile, plus one
    working copy. Camera frames add frame_rate_hz x duration x ROI pixels x 2 bytes.
    """
    fields = _numeric_fields(step)
    duration_s = 0.0
    for name, value in fields:
        if "_per_" in name:
            continue
        vals = [abs(float(v)) for v in (value if isinstance(value, (list, tuple)) else [value])]
        if not vals:
            continue
        if name.endswith("_ms"):
            duration_s += (max(vals) if isinstance(value, (list, tuple)) else vals[0]) / 1000.0
        elif name.endswith("_s") and not name.startswith("interval"):
            duration_s += sum(vals)
        elif name.endswith("_rate_hz") and name not in _CLOCK_RATES and vals[0] > 0:
            duration_s += 1.0 / vals[0]  # one period of a train/burst/sweep rate
    rates = [float(v) for n, v in fields if n == "sample_rate_hz" and isinstance(v, (int, float))]
    rate_from = "sample_rate_hz"
    scan_rates = [r for r in (_line_scan_rate(m) for m in _models(step)) if r is not None]
    if not rates and scan_rates:
        rates, rate_from = scan_rates, "line-scan pixel clock"
    if not rates:
        rates, rate_from = [profile.daq.max_sample_rate_hz], "daq maximum"
    rate = max(rates + scan_rates)
    n_channels = len(logical_channels(profile)) + 1
    frame_bytes = 0.0
    for model in _models(step):
        frame_rate = getattr(model, "frame_rate_hz", None)
        roi = getattr(model, "roi_px", None)
        if isinstance(frame_rate, (int, float)) and isinstance(roi, tuple) and len(roi) == 4:
            binning = max(1, int(getattr(model, "binning", 1) or 1))
            frame_bytes += frame_rate * duration_s * (abs(roi[2]) // binning + 1) * (abs(roi[3]) // binning + 1) * 2
    n_bytes = rate * duration_s * n_channels * _BYTES_PER_SAMPLE + frame_bytes
    return StepMemoryEstimate(n_bytes, rate, rate_from, duration_s, n_channels, frame_bytes)


def _models(model: BaseModel) -> list[BaseModel]:
    """The model and every sub-model inside it (fields, lists and dicts of models)."""
    found = [model]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, BaseModel):
                found += _models(item)
    return found


def _numeric_fields(model: BaseModel) -> list[tuple[str, Any]]:
    """(field name, value) of every number or list of numbers in the model, recursively."""
    out: list[tuple[str, Any]] = []
    for sub in _models(model):
        for name in type(sub).model_fields:
            value = getattr(sub, name)
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                out.append((name, value))
            elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          for v in value):
                out.append((name, value))
    return out


def _line_scan_rate(model: BaseModel) -> float | None:
    pixels = getattr(model, "pixels_per_line", None)
    fill = getattr(model, "fill_fraction", None)
    line_rate = getattr(model, "line_rate_hz", None)
    if not (isinstance(pixels, (int, float)) and isinstance(fill, (int, float)) and isinstance(line_rate, (int, float))
            and fill):
        return None
    return float(round(pixels / fill)) * float(line_rate)


def segments_problem(step: BaseModel) -> str | None:
    """A step recorded in segments (`duration_s` in sweeps of `segment_s`) may plan at most MAX_COUNT of them."""
    duration, segment = getattr(step, "duration_s", None), getattr(step, "segment_s", None)
    if isinstance(duration, (int, float)) and isinstance(segment, (int, float)) and segment > 0:
        n = math.ceil(duration / segment)
        if n > MAX_COUNT:
            return f"{n:,} segments of segment_s = {segment:g} s, allowed at most {MAX_COUNT:,}: raise segment_s"
    return None


def check_plans(plans: list[SweepPlan], profile: HardwareProfile, source: str, max_problems: int = 50
                ) -> list[Problem]:
    """check_plan over many plans, each distinct plan once: sweeps that share their waveform arrays
    (a kind building one set for every sweep, as FRAP does) and timing get one verdict, reported for
    the first of them. Arrays are compared by identity: every plan stays alive in `plans`, and plans
    are not mutated after compile, so the same array object means the same samples."""
    seen: set[Any] = set()
    problems: list[Problem] = []
    for plan in plans:
        key = (plan.step_index, plan.sample_rate_hz, plan.n_samples, tuple(plan.inputs), plan.amplifier_mode,
               tuple((name, id(w)) for name, w in plan.outputs.items()), repr(plan.camera), repr(plan.line_scan))
        if key in seen:
            continue
        seen.add(key)
        problems += check_plan(plan, profile, source)
        if len(problems) >= max_problems:
            break
    return problems


def check_planned_memory(plans: list[SweepPlan], source: str) -> list[Problem]:
    """The waveforms of all plans (each array counted once) within MAX_PLANNED_BYTES."""
    seen: dict[int, int] = {}
    for plan in plans:
        for wave in plan.outputs.values():
            seen[id(wave)] = int(getattr(wave, "nbytes", 0))
    total = sum(seen.values())
    if total > MAX_PLANNED_BYTES:
        return [Problem(source, "steps", f"the plans hold {total / 1024**3:.3g} GiB of waveforms, allowed at most "
                                         f"{MAX_PLANNED_BYTES / 1024**3:g} GiB")]
    return []


def longest_run_above(values: np.ndarray, threshold: float) -> int:
    """Length (samples) of the longest contiguous run of values strictly above threshold."""
    above = np.concatenate(([0], (values > threshold).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(above))
    if edges.size == 0:
        return 0
    return int(np.max(edges[1::2] - edges[::2]))


def check_plan(plan: SweepPlan, profile: HardwareProfile, source: str) -> list[Problem]:
    """All limit violations of one plan, each naming the protocol source, the step and the limit."""
    where = f"steps.{plan.step_index} (sweep {plan.sweep_in_step + 1} of '{plan.step_name}')"
    problems: list[Problem] = []

    def fail(message: str) -> None:
        problems.append(Problem(source, where, message))

    channels = logical_channels(profile)
    if plan.n_samples <= 0:
        fail("sweep has no samples")
    if plan.sample_rate_hz > 0 and plan.n_samples / plan.sample_rate_hz > MAX_SWEEP_S:
        fail(f"sweep of {plan.n_samples / plan.sample_rate_hz:g} s, allowed at most {MAX_SWEEP_S:g} s")
    if plan.sample_rate_hz > profile.daq.max_sample_rate_hz:
        fail(f"sample rate {plan.sample_rate_hz:g} Hz exceeds daq.max_sample_rate_hz = {profile.daq.max_sample_rate_hz:g}")
    for name in plan.inputs:
        info = channels.get(name)
        if info is None or info.direction != "in":
            fail(f"input channel '{name}' is not an input of this profile (inputs: {_names(channels, 'in')})")
    for name, wave in plan.outputs.items():
        info = channels.get(name)
        if info is None or info.direction != "out":
            fail(f"output channel '{name}' is not an output of this profile (outputs: {_names(channels, 'out')})")
            continue
        if wave.shape != (plan.n_samples,):
            fail(f"output '{name}' has {wave.shape} samples, expected ({plan.n_samples},)")
            continue
        if not np.all(np.isfinite(wave)):
            fail(f"output '{name}' contains non-finite values")
            continue
        problems.extend(Problem(source, where, m) for m in _check_output(info, wave, plan, profile))
    if plan.camera is not None:
        problems.extend(Problem(source, where, m) for m in _check_camera(plan, profile))
    if plan.line_scan is not None:
        scanner = next(iter(profile.devices_of_type(GalvoScannerSpec).values()), None)
        if scanner is not None and plan.line_scan.line_rate_hz > scanner.limits.max_line_rate_hz:
            fail(
                f"line rate {plan.line_scan.line_rate_hz:g} Hz exceeds the scanner limit "
                f"max_line_rate_hz = {scanner.limits.max_line_rate_hz:g}"
            )
    return problems


def _names(channels: dict[str, ChannelInfo], direction: str) -> str:
    return ", ".join(sorted(n for n, c in channels.items() if c.direction == direction))


def _check_output(info: ChannelInfo, wave: np.ndarray, plan: SweepPlan, profile: HardwareProfile) -> list[str]:
    """Limit checks of one output waveform by the kind of device it drives."""
    spec = profile.devices[info.device]
    lo, hi = float(np.min(wave)), float(np.max(wave))
    msgs: list[str] = []
    dt_ms = 1000.0 / plan.sample_rate_hz
    if spec.kind == "patch_amplifier":
        mode = plan.amplifier_mode or spec.safe_mode
        low, high = spec.limits.holding_mV if mode == "VC" else spec.limits.holding_pA
        unit = "mV" if mode == "VC" else "pA"
        if lo < low or hi > high:
            msgs.append(f"{info.name}: command spans [{lo:g}, {hi:g}] {unit}, allowed [{low:g}, {high:g}] {unit} "
                        f"(devices.{info.device}.limits.holding_{unit})")
    elif spec.kind == "galvo_scanner":
        half = spec.limits.field_half_width_um
        if lo < -half or hi > half:
            msgs.append(f"{info.name}: beam position spans [{lo:g}, {hi:g}] um, allowed [-{half:g}, {half:g}] um "
                        f"(devices.{info.device}.limits.field_half_width_um)")
    elif spec.kind == "pockels_laser":
        lim = spec.limits
        if lo < 0 or hi > lim.max_bleach_power_fraction:
            msgs.append(f"{info.name}: power fraction reaches {hi:g}, allowed [0, {lim.max_bleach_power_fraction:g}] "
                        f"(devices.{info.device}.limits.max_bleach_power_fraction)")
        run_ms = longest_run_above(wave, lim.max_imaging_power_fraction) * dt_ms
        if run_ms > lim.max_bleach_duration_ms + 1e-9:
            msgs.append(f"{info.name}: power above imaging limit {lim.max_imaging_power_fraction:g} for {run_ms:g} ms, "
                        f"allowed {lim.max_bleach_duration_ms:g} ms (devices.{info.device}.limits.max_bleach_duration_ms)")
    elif spec.kind in ("shutter", "camera") or (spec.kind == "led_source"):
        if not np.all((wave == 0) | (wave == 1)):
            msgs.append(f"{info.name}: TTL output must be 0 or 1")
        if spec.kind == "led_source":
            duty = float(np.mean(wave))
            allowed = spec.leds[info.role].max_duty_fraction
            if duty > allowed:
                msgs.append(f"{info.name}: LED duty {duty:.3f} exceeds devices.{info.device}.leds.{info.role}."
                            f"max_duty_fraction = {allowed:g}")
    elif spec.kind == "stimulus_isolator":
        stim = spec.limits
        if max(abs(lo), abs(hi)) > stim.max_amplitude_V:
            msgs.append(f"{info.name}: amplitude {max(abs(lo), abs(hi)):g} V exceeds devices.{info.device}."
                        f"limits.max_amplitude_V = {stim.max_amplitude_V:g}")
        pulse_ms = longest_run_above(np.abs(wave), 0.0) * dt_ms
        if pulse_ms > stim.max_pulse_ms + 1e-9:
            msgs.append(f"{info.name}: pulse of {pulse_ms:g} ms exceeds devices.{info.device}.limits.max_pulse_ms = "
                        f"{stim.max_pulse_ms:g}")
    return msgs


def _check_camera(plan: SweepPlan, profile: HardwareProfile) -> list[str]:
    """Camera frames: the camera exists, ROI fits the sensor, triggers match frames, rate within the limit."""
    cam = plan.camera
    assert cam is not None
    spec = profile.devices.get(cam.camera)
    if spec is None or spec.kind != "camera":
        return [f"camera '{cam.camera}' is not a camera of this profile"]
    msgs = []
    x, y, w, h = cam.roi_px
    sensor_w, sensor_h = spec.sensor_px
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > sensor_w or y + h > sensor_h:
        msgs.append(f"camera ROI {list(cam.roi_px)} does not fit the {sensor_w}x{sensor_h} sensor "
                    f"(devices.{cam.camera}.sensor_px)")
    if cam.binning not in (1, 2, 4, 8) or w % cam.binning or h % cam.binning:
        msgs.append(f"camera binning {cam.binning} must be 1, 2, 4 or 8 and divide the ROI")
    trigger = plan.outputs.get(cam.trigger_channel)
    if trigger is None:
        return msgs + [f"camera trigger channel '{cam.trigger_channel}' has no waveform in the plan"]
    edges = rising_edges(trigger)
    if edges.size != cam.n_frames:
        msgs.append(f"{cam.trigger_channel}: {edges.size} trigger edges for {cam.n_frames} expected frames")
    if edges.size > 1:
        rate = plan.sample_rate_hz / float(np.min(np.diff(edges)))
        if rate > spec.max_frame_rate_hz * (1 + 1e-9):
            msgs.append(f"{cam.trigger_channel}: frame rate {rate:g} Hz exceeds devices.{cam.camera}."
                        f"max_frame_rate_hz = {spec.max_frame_rate_hz:g}")
        if cam.exposure_ms * plan.sample_rate_hz / 1000.0 > float(np.min(np.diff(edges))):
            msgs.append(f"exposure {cam.exposure_ms:g} ms is longer than the frame interval "
                        f"{1000.0 * float(np.min(np.diff(edges))) / plan.sample_rate_hz:g} ms")
    return msgs
