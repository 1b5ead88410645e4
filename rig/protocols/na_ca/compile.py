"""Na/Ca step -> SweepPlans: camera triggers on the master clock, LEDs switched per frame, paired stimuli."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import NaCaMeta
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.sweep_meta import Bath, CameraRois, SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.na_ca.analysis import NaCaAnalysis
from rig.protocols.na_ca.schema import NaCaStep
from rig.protocols.shared.common import StepProblem, check_clamp, resolve_device
from rig.protocols.shared.conditions import bath_of
from rig.protocols.shared.kind import FixedPlanKind
from rig.protocols.shared.sweep_building import gate, pulse_train

_LEAD_MS = 5.0
_TAIL = 2


def _devices(step: NaCaStep, profile: HardwareProfile) -> tuple[dict[str, str | None], list[StepProblem]]:
    names: dict[str, str | None] = {}
    problems: list[StepProblem] = []
    for role, kind, requested, required in (
        ("camera", "camera", step.camera, True), ("led_source", "led_source", step.led_source, True),
        ("stimulator", "stimulus_isolator", step.stimulator, True), ("shutter", "shutter", step.shutter, False),
        ("amplifier", "patch_amplifier", step.amplifier, False),
    ):
        names[role], found = resolve_device(profile, kind, requested, role, required)
        problems += found
    return names, problems


class NaCaKind(FixedPlanKind[NaCaStep]):
    """The Na/Ca imaging step kind."""

    schema = NaCaStep

    def check(self, step: NaCaStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, LED pair, frame rate, stimulus and clamp against the profile."""
        names, problems = _devices(step, profile)
        leds = profile.led_source(names["led_source"]) if names["led_source"] else None
        if leds is not None:
            for i, li in enumerate(step.leds):
                if li.led not in leds.leds:
                    problems.append(StepProblem(f"leds.{i}.led", f"the profile's LED source '{names['led_source']}' "
                                                f"has no LED '{li.led}' (available: {', '.join(sorted(leds.leds))})"))
        cam = profile.camera(names["camera"]) if names["camera"] else None
        if cam is not None and step.frame_rate_hz > cam.max_frame_rate_hz:
            problems.append(StepProblem("frame_rate_hz", f"{step.frame_rate_hz:g} Hz exceeds the camera limit "
                                        f"{cam.max_frame_rate_hz:g} Hz (devices.{names['camera']}.max_frame_rate_hz)"))
        if step.exposure_ms >= 1000.0 / step.frame_rate_hz:
            problems.append(StepProblem("exposure_ms", f"{step.exposure_ms:g} ms does not fit in a frame interval of "
                                        f"{1000.0 / step.frame_rate_hz:g} ms"))
        stim = profile.stimulator(names["stimulator"]) if names["stimulator"] else None
        if stim is not None:
            if abs(step.stimulus.amplitude_V) > stim.limits.max_amplitude_V:
                problems.append(StepProblem("stimulus.amplitude_V", f"{step.stimulus.amplitude_V:g} V exceeds "
                                            f"{stim.limits.max_amplitude_V:g} V (devices.{names['stimulator']}"
                                            ".limits.max_amplitude_V)"))
            if step.stimulus.width_ms > stim.limits.max_pulse_ms:
                problems.append(StepProblem("stimulus.width_ms", f"{step.stimulus.width_ms:g} ms exceeds "
                                            f"{stim.limits.max_pulse_ms:g} ms (devices.{names['stimulator']}"
                                            ".limits.max_pulse_ms)"))
        if any(t + step.stimulus.width_ms >= step.duration_ms for t in step.stimulus.onsets_ms):
            problems.append(StepProblem("stimulus.onsets_ms", "a stimulus falls outside the sweep"))
        return problems + check_clamp(profile, names["amplifier"], step.clamp, "clamp")

    def compile(self, step: NaCaStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """An optional no-stimulus sweep first, then the stimulated sweeps."""
        names, _ = _devices(step, profile)
        rate = step.sample_rate_hz
        lead = int(round(_LEAD_MS * rate / 1000.0))
        n_frames = int(step.duration_ms * step.frame_rate_hz / 1000.0)
        period = int(round(rate / step.frame_rate_hz))
        n = lead + n_frames * period + _TAIL
        exposure = max(1, int(round(step.exposure_ms * rate / 1000.0)))
        trigger = np.zeros(n)
        led_waves = {li.led: np.zeros(n) for li in step.leds}
        for k in range(n_frames):
            a = lead + k * period
            trigger[a:a + max(1, exposure // 4)] = 1.0
            led_waves[step.leds[k % 2].led][a:a + exposure] = 1.0  # the LED lights only its frame's exposure
        onsets = [_LEAD_MS + t for t in step.stimulus.onsets_ms]
        stim = pulse_train(n, rate, onsets, step.stimulus.width_ms, step.stimulus.amplitude_V)
        outputs = {f"{names['camera']}.trigger": trigger.astype(np.float32)}
        outputs |= {f"{names['led_source']}.{led}": w.astype(np.float32) for led, w in led_waves.items()}
        if names["shutter"] is not None:
            outputs[f"{names['shutter']}.open"] = gate(n, _TAIL).astype(np.float32)
        inputs: list[str] = []
        amp = names["amplifier"]
        if amp is not None:
            outputs[f"{amp}.command"] = np.full(n, step.clamp.holding, dtype=np.float32)
            inputs += [f"{amp}.primary"] + ([f"{amp}.secondary"] if profile.amplifier(amp).channels.secondary else [])
        cam_spec = profile.camera(names["camera"] or "")
        camera = CameraAcquisition(names["camera"] or "", f"{names['camera']}.trigger", n_frames, step.exposure_ms,
                                   step.binning, tuple(step.roi_px), cam_spec.pixel_size_um,
                                   tuple(cam_spec.sensor_px), tuple(step.field_center_um))
        r = step.rois
        base = SweepMeta(condition=step.condition, bath=Bath(**bath_of(step.condition)),
                         holding=step.clamp.holding if amp else None,
                         rois=CameraRois(tuple(r.head_um), tuple(r.neck_um), tuple(r.dendrite_um), tuple(r.background_um),
                                         r.radius_um, tuple(r.profile_start_um), tuple(r.profile_end_um)))
        led_channels = tuple((li.led, f"{names['led_source']}.{li.led}") for li in step.leds)
        plans = []
        kinds = ([False] if step.no_stimulus_sweep else []) + [True] * step.sweeps
        for k, stimulated in enumerate(kinds):
            outs = dict(outputs)
            outs[f"{names['stimulator']}.trigger"] = (stim if stimulated else np.zeros(n)).astype(np.float32)
            plans.append(SweepPlan(
                step_index=step_index, step_name=step.name or "na_ca", kind="na_ca", sweep_in_step=k,
                sample_rate_hz=rate, n_samples=n, outputs=outs, inputs=tuple(inputs), amplifier=amp,
                amplifier_mode=step.clamp.mode if amp else None, interval_after_s=step.interval_s,
                events_ms={f"stimulus_{i}": t for i, t in enumerate(onsets)} if stimulated else {},
                target_um=tuple(step.rois.head_um), camera=camera,
                meta=replace(base, kind_meta=NaCaMeta(led_channels, stimulated, _LEAD_MS,
                                                      tuple(step.stimulus.onsets_ms)))))
        return plans

    def analysis(self, step: NaCaStep) -> NaCaAnalysis:
        """A fresh online Na/Ca analysis."""
        return NaCaAnalysis(step)
