"""The quantal step kind: every sweep one synaptic stimulus, in CC at rest or in VC stepped depolarized."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import ApScanMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.quantal.analysis import QuantalAnalysis
from rig.protocols.quantal.schema import QuantalStep
from rig.protocols.shared.ap_scan import SweepEvents
from rig.protocols.shared.calcium_scan import calcium_sweep
from rig.protocols.shared.cc_scan_kind import CcScanKind
from rig.protocols.shared.common import ClampSpec, StepProblem, check_clamp, resolve_device


class QuantalKind(CcScanKind[QuantalStep]):
    """The quantal step kind."""

    schema = QuantalStep
    analysis_type = QuantalAnalysis

    def sweep_events(self, step: QuantalStep) -> list[SweepEvents]:
        """One single-shock sweep per repeat."""
        return [SweepEvents("shock", stimuli_ms=[step.stimulus_ms]) for _ in range(step.sweeps)]

    def check(self, step: QuantalStep, profile: HardwareProfile) -> list[StepProblem]:
        """The CC scan's checks, and in VC both holdings within the amplifier's limits."""
        problems = super().check(step, profile)
        if step.clamp == "VC":
            amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0]
            vc = step.voltage_clamp
            for field, mV in (("rest_mV", vc.rest_mV), ("depolarized_mV", vc.depolarized_mV)):
                for p in check_clamp(profile, amp, ClampSpec(mode="VC", holding_mV=mV), "voltage_clamp"):
                    problems.append(StepProblem(f"voltage_clamp.{field}", p.message.replace("holding_mV", field, 1)))
        return problems

    def compile(self, step: QuantalStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """CC: the shared line-scan CC sweeps. VC: held at rest_mV, one step to depolarized_mV per sweep."""
        window = step.step_window_ms()
        if window is None:
            return super().compile(step, step_index, profile)
        vc = step.voltage_clamp
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        onset, end = window
        step_pulse = ((onset, end - onset, vc.depolarized_mV - vc.rest_mV),)
        meta = SweepMeta(role="shock", baseline_end_ms=step.stimulus_ms,
                         head_roi_radius_um=step.imaging.head_roi_radius_um,
                         kind_meta=ApScanMeta(ap_ms=(), stimuli_ms=(step.stimulus_ms,),
                                              ap_pulse_width_ms=step.ap_pulse.width_ms,
                                              ap_pulse_pA=step.ap_pulse.amplitude_pA))
        return [calcium_sweep(profile, step_index=step_index, step_name=step.name or step.kind, kind=step.kind,
                              sweep_in_step=k, amplifier=amp, mode="VC", holding=vc.rest_mV,
                              duration_ms=step.sweep_ms, imaging=step.imaging, stimulus=step.stimulus,
                              stimuli_ms=(step.stimulus_ms,), current_pulses=step_pulse, condition=step.condition,
                              interval_after_s=step.interval_s, meta=meta)
                for k in range(step.sweeps)]
