"""The epsp_ap_pairing step kind: checks, compile to plans, analysis."""

from __future__ import annotations

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import PairingCondition, PairingMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.epsp_ap_pairing.analysis import EpspApPairingAnalysis
from rig.protocols.epsp_ap_pairing.schema import CONDITIONS, EpspApPairingStep
from rig.protocols.shared.ap_scan import SweepEvents, check_cc_scan, compile_cc_scan
from rig.protocols.shared.common import StepProblem


def _events(step: EpspApPairingStep) -> list[SweepEvents]:
    return [step.events(c) for _ in range(step.sweeps) for c in CONDITIONS]


class EpspApPairingKind:
    """The epsp_ap_pairing step kind."""

    schema = EpspApPairingStep

    def check(self, step: EpspApPairingStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus, AP current (holding_pA limits) and timing of every condition."""
        problems = check_cc_scan(step, profile, [step.events(c) for c in CONDITIONS])
        last = max(max(e.ap_ms + e.stimuli_ms) for e in (step.events(c) for c in CONDITIONS))
        if step.first_event_ms + step.window_ms > step.sweep_ms:
            problems.append(StepProblem("window_ms", f"the window ends after sweep_ms ({step.sweep_ms:g} ms)"))
        if last > step.first_event_ms + step.window_ms:
            problems.append(StepProblem("window_ms", f"the last event ({last:g} ms) falls after the window"))
        return problems

    def compile(self, step: EpspApPairingStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """`sweeps` rounds of the four conditions, interleaved."""
        conditions = tuple(PairingCondition(c, tuple((e := step.events(c)).ap_ms), tuple(e.stimuli_ms))
                           for c in CONDITIONS)
        return compile_cc_scan(step, step_index, profile, "epsp_ap_pairing", _events(step), PairingMeta,
                               window_ms=step.window_ms, first_event_ms=step.first_event_ms, conditions=conditions)

    def analysis(self, step: EpspApPairingStep) -> EpspApPairingAnalysis:
        """A fresh online analysis."""
        return EpspApPairingAnalysis(step)
