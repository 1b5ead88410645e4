"""Check every SweepPlan against the profile's limits before any output moves."""

from __future__ import annotations

import numpy as np

from rig.config.channels import ChannelInfo, logical_channels
from rig.config.problems import Problem
from rig.config.profile import HardwareProfile
from rig.engine.sweep_plan import SweepPlan, rising_edges


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
        scanner = next(iter(profile.devices_of_kind("galvo_scanner").values()), None)
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
        lim = spec.limits
        if max(abs(lo), abs(hi)) > lim.max_amplitude_V:
            msgs.append(f"{info.name}: amplitude {max(abs(lo), abs(hi)):g} V exceeds devices.{info.device}."
                        f"limits.max_amplitude_V = {lim.max_amplitude_V:g}")
        pulse_ms = longest_run_above(np.abs(wave), 0.0) * dt_ms
        if pulse_ms > lim.max_pulse_ms + 1e-9:
            msgs.append(f"{info.name}: pulse of {pulse_ms:g} ms exceeds devices.{info.device}.limits.max_pulse_ms = "
                        f"{lim.max_pulse_ms:g}")
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
