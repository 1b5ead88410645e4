"""The vsd step kind: checks against the profile and the interleaved CC line-scan sweeps."""

from __future__ import annotations

import math

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import VsdMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_scan import (
    calcium_sweep,
    check_condition,
    check_current,
    check_imaging,
    check_stimulus,
)
from rig.protocols.shared.calcium_steps import ap_pulses, check_ap_current
from rig.protocols.shared.common import StepProblem, resolve_device
from rig.protocols.shared.kind import FixedPlanKind
from rig.protocols.vsd.analysis import VsdAnalysis
from rig.protocols.vsd.schema import VsdStep

_OFF_LINE_UM = 0.5  # an ROI centre farther than this from the scan line is not imaged


def _off_line_um(start: tuple[float, float], end: tuple[float, float], point: tuple[float, float]) -> tuple[float, float]:
    """(distance along the line, distance from the line) of a point."""
    a, b, p = np.asarray(start, float), np.asarray(end, float), np.asarray(point, float)
    length = float(np.hypot(*(b - a)))
    u = (b - a) / length
    d = p - a
    return float(np.dot(d, u)), float(abs(u[0] * d[1] - u[1] * d[0]))


def check_rois(step: VsdStep) -> list[StepProblem]:
    """Both ROI centres lie on the scan line, inside it, and the ROIs do not overlap."""
    im, rois = step.imaging, step.rois
    if im.start_um == im.end_um:
        return []  # check_imaging reports the zero-length line
    length = math.dist(im.start_um, im.end_um)
    problems = []
    along = {}
    for field, point, radius in (("imaging.spine_um", im.spine_um, im.head_roi_radius_um),
                                 ("rois.dendrite_um", rois.dendrite_um, rois.dendrite_roi_radius_um)):
        s, off = _off_line_um(im.start_um, im.end_um, point)
        along[field] = (s, radius)
        if off > _OFF_LINE_UM or not 0 <= s <= length:
            problems.append(StepProblem(field, f"{list(point)} is not on the scan line from {list(im.start_um)} to "
                                        f"{list(im.end_um)} ({off:.2f} um off it, {s:.2f} um along)"))
    (s1, r1), (s2, r2) = along.values()
    if not problems and abs(s1 - s2) < r1 + r2:
        problems.append(StepProblem("rois.dendrite_um", f"the dendrite ROI overlaps the head ROI ({abs(s1 - s2):.2f} "
                                    f"um apart, radii {r1:g} + {r2:g} um)"))
    return problems


class VsdKind(FixedPlanKind[VsdStep]):
    """The vsd step kind."""

    schema = VsdStep

    def check(self, step: VsdStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier, imaging, ROIs, stimulus, condition, CC holding, AP pulse and step current."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_imaging(profile, step.imaging) + check_rois(step) + check_condition(step.condition)
        problems += check_stimulus(profile, step.stimulus)
        problems += check_current(profile, amp, step.cc_holding_pA, 0.0, "cc_holding_pA")
        problems += check_ap_current(profile, amp, step.cc_holding_pA, step.ap_pulse)
        problems += check_current(profile, amp, step.cc_holding_pA, step.hyperpolarizing_step.amplitude_pA,
                                  "hyperpolarizing_step.amplitude_pA")
        return problems

    def compile(self, step: VsdStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """One sweep per entry of the repeated cycle: a stimulus, an AP pulse or a hyperpolarizing step at event_ms."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        hyp = step.hyperpolarizing_step
        plans = []
        for k in range(step.sweeps):
            role = step.role(k)
            pulses: tuple[tuple[float, float, float], ...] = ()
            if role == "ap":
                pulses = ap_pulses([step.event_ms], step.ap_pulse)
            elif role == "hyperpolarizing":
                pulses = ((step.event_ms, hyp.duration_ms, hyp.amplitude_pA),)
            stimuli = (step.event_ms,) if role == "synaptic" else ()
            plans.append(calcium_sweep(
                profile, step_index=step_index, step_name=step.name or "vsd", kind="vsd", sweep_in_step=k,
                amplifier=amp, mode="CC", holding=step.cc_holding_pA, duration_ms=step.sweep_ms, imaging=step.imaging,
                stimulus=step.stimulus if stimuli else None, stimuli_ms=stimuli, current_pulses=pulses,
                condition=step.condition, interval_after_s=step.interval_after_s,
                # the step's AP drive on every sweep: each sweep's truth replays both drives
                meta=SweepMeta(role=role, kind_meta=VsdMeta(step.event_ms, step.sweeps, step.ap_pulse.amplitude_pA,
                                                            step.ap_pulse.width_ms))))
        return plans

    def analysis(self, step: VsdStep) -> VsdAnalysis:
        """A fresh online analysis."""
        return VsdAnalysis(step)
