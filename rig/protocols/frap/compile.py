"""FRAP step -> SweepPlans: line scan, parked bleach pulse on the head, recovery; and its checks."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.frap.schema import FrapStep
from rig.protocols.shared.common import StepProblem, check_clamp, resolve_device
from rig.protocols.shared.kind import FixedPlanKind
from rig.protocols.shared.sweep_building import gate, line_scan

if TYPE_CHECKING:
    from rig.protocols.frap.analysis import FrapAnalysis

_TAIL_SAMPLES = 2  # everything off at the end, so the held outputs are dark and closed


def _devices(step: FrapStep, profile: HardwareProfile) -> tuple[dict[str, str | None], list[StepProblem]]:
    names: dict[str, str | None] = {}
    problems: list[StepProblem] = []
    for role, kind, requested, required in (
        ("scanner", "galvo_scanner", step.scanner, True),
        ("laser", "pockels_laser", step.laser, True),
        ("shutter", "shutter", step.shutter, False),
        ("amplifier", "patch_amplifier", step.amplifier, False),
    ):
        names[role], found = resolve_device(profile, kind, requested, role, required)
        problems += found
    return names, problems


def _layout_numbers(step: FrapStep) -> tuple[int, float]:
    samples_per_line = int(round(step.pixels_per_line / step.fill_fraction))
    return samples_per_line, samples_per_line * step.line_rate_hz


class FrapKind(FixedPlanKind[FrapStep]):
    """The FRAP step kind."""

    schema = FrapStep

    def check(self, step: FrapStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices exist; scan, light and clamp settings are within the profile's limits."""
        names, problems = _devices(step, profile)
        scanner = profile.scanner(names["scanner"]) if names["scanner"] else None
        laser = profile.laser(names["laser"]) if names["laser"] else None
        if scanner is not None:
            lim = scanner.limits
            where = f"devices.{names['scanner']}"
            if step.pmt not in scanner.pmts:
                problems.append(StepProblem("pmt", f"scanner '{names['scanner']}' has no PMT '{step.pmt}' "
                                                   f"(available: {', '.join(sorted(scanner.pmts))})"))
            if step.line_rate_hz > lim.max_line_rate_hz:
                problems.append(StepProblem("line_rate_hz", f"{step.line_rate_hz:g} Hz exceeds the scanner limit "
                                            f"{lim.max_line_rate_hz:g} Hz ({where}.limits.max_line_rate_hz)"))
            if step.pixels_per_line > lim.max_pixels_per_line:
                problems.append(StepProblem("pixels_per_line", f"{step.pixels_per_line} exceeds "
                                            f"{lim.max_pixels_per_line} ({where}.limits.max_pixels_per_line)"))
            for field, point in (("line.start_um", step.line.start_um), ("line.end_um", step.line.end_um),
                                 ("bleach.point_um", step.bleach.point_um)):
                if max(abs(point[0]), abs(point[1])) > lim.field_half_width_um:
                    problems.append(StepProblem(field, f"{list(point)} is outside the scan field +-"
                                                f"{lim.field_half_width_um:g} um ({where}.limits.field_half_width_um)"))
        if laser is not None:
            laser_lim = laser.limits
            where = f"devices.{names['laser']}.limits"
            if step.imaging_power_fraction > laser_lim.max_imaging_power_fraction:
                problems.append(StepProblem("imaging_power_fraction", f"{step.imaging_power_fraction:g} exceeds "
                                            f"{laser_lim.max_imaging_power_fraction:g} "
                                            f"({where}.max_imaging_power_fraction)"))
            if step.bleach.power_fraction > laser_lim.max_bleach_power_fraction:
                problems.append(StepProblem("bleach.power_fraction", f"{step.bleach.power_fraction:g} exceeds "
                                            f"{laser_lim.max_bleach_power_fraction:g} "
                                            f"({where}.max_bleach_power_fraction)"))
            if step.bleach.duration_ms > laser_lim.max_bleach_duration_ms:
                problems.append(StepProblem("bleach.duration_ms", f"{step.bleach.duration_ms:g} ms exceeds "
                                            f"{laser_lim.max_bleach_duration_ms:g} ms "
                                            f"({where}.max_bleach_duration_ms)"))
        _, rate = _layout_numbers(step)
        if rate > profile.daq.max_sample_rate_hz:
            problems.append(StepProblem("line_rate_hz", f"needs a pixel clock of {rate:g} Hz, above "
                                        f"daq.max_sample_rate_hz = {profile.daq.max_sample_rate_hz:g}"))
        if step.line.start_um == step.line.end_um:
            problems.append(StepProblem("line.end_um", "the scan line has zero length"))
        problems += check_clamp(profile, names["amplifier"], step.clamp, "clamp")
        return problems

    def compile(self, step: FrapStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One identical plan per sweep."""
        names, _ = _devices(step, profile)
        scanner, laser, shutter, amp = names["scanner"], names["laser"], names["shutter"], names["amplifier"]
        line_ms = 1000.0 / step.line_rate_hz
        n_base = max(1, int(round(step.baseline_ms / line_ms)))
        n_park = max(1, math.ceil((step.bleach.duration_ms + 0.2) / line_ms))
        n_rec = max(5, int(round(step.recovery_ms / line_ms)))
        park_slots = tuple(range(n_base, n_base + n_park))
        scan = line_scan(step.line.start_um, step.line.end_um, step.pixels_per_line, step.fill_fraction,
                         step.line_rate_hz, step.imaging_power_fraction, step.shutter_lead_ms,
                         n_base + n_park + n_rec, park_slots, step.bleach.point_um, _TAIL_SAMPLES)
        x, y, power, layout, rate = scan.x_um, scan.y_um, scan.power, scan.layout, scan.sample_rate_hz
        n = x.size
        spl = layout.samples_per_line
        park_start = layout.first_sample + park_slots[0] * spl
        park_len = n_park * spl
        n_bleach = max(1, int(round(step.bleach.duration_ms * rate / 1000.0)))
        b0 = park_start + (park_len - n_bleach) // 2
        power[b0:b0 + n_bleach] = step.bleach.power_fraction

        outputs = {f"{scanner}.x": x.astype(np.float32), f"{scanner}.y": y.astype(np.float32),
                   f"{laser}.power": power.astype(np.float32)}
        if shutter is not None:
            outputs[f"{shutter}.open"] = gate(n, _TAIL_SAMPLES).astype(np.float32)
        inputs = [f"{scanner}.{p}" for p in profile.scanner(scanner or "").pmts]
        if amp is not None:
            outputs[f"{amp}.command"] = np.full(n, step.clamp.holding, dtype=np.float32)
            amp_spec = profile.amplifier(amp)
            inputs += [f"{amp}.primary"] + ([f"{amp}.secondary"] if amp_spec.channels.secondary else [])
        events = {"bleach_start": b0 / rate * 1000.0, "bleach_end": (b0 + n_bleach) / rate * 1000.0,
                  "bleach_mid": (b0 + n_bleach / 2) / rate * 1000.0}
        return [SweepPlan(step_index=step_index, step_name=step.name or "frap", kind="frap", sweep_in_step=s,
                          sample_rate_hz=rate, n_samples=n, outputs=outputs, inputs=tuple(inputs), amplifier=amp,
                          amplifier_mode=step.clamp.mode if amp else None, interval_after_s=step.interval_s,
                          line_scan=layout, events_ms=events, target_um=tuple(step.bleach.point_um),
                          meta=SweepMeta(pmt_channel=f"{scanner}.{step.pmt}", holding=step.clamp.holding if amp else None,
                                         head_roi_radius_um=step.analysis.head_roi_radius_um))
                for s in range(step.sweeps)]

    def analysis(self, step: FrapStep) -> "FrapAnalysis":
        """A fresh online FRAP analysis (imported here: validating a protocol needs no analysis)."""
        from rig.protocols.frap.analysis import FrapAnalysis

        return FrapAnalysis(step)
