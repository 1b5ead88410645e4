"""The epsp_ap_pairing step kind: rounds of four conditions (EPSPs, APs, and both in either order)."""

from __future__ import annotations

from typing import Any

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import PairingCondition, PairingMeta
from rig.protocols.epsp_ap_pairing.analysis import EpspApPairingAnalysis
from rig.protocols.epsp_ap_pairing.schema import CONDITIONS, EpspApPairingStep
from rig.protocols.shared.ap_scan import SweepEvents
from rig.protocols.shared.cc_scan_kind import CcScanKind
from rig.protocols.shared.common import StepProblem


class EpspApPairingKind(CcScanKind[EpspApPairingStep]):
    """The epsp_ap_pairing step kind."""

    schema = EpspApPairingStep
    analysis_type = EpspApPairingAnalysis
    meta_type = PairingMeta

    def sweep_events(self, step: EpspApPairingStep) -> list[SweepEvents]:
        """`sweeps` rounds of the four conditions, interleaved."""
        return [step.events(c) for _ in range(step.sweeps) for c in CONDITIONS]

    def analysis_windows(self, step: EpspApPairingStep) -> dict[str, Any]:
        """The amplitude window and every condition's events."""
        conditions = tuple(PairingCondition(c, tuple((e := step.events(c)).ap_ms), tuple(e.stimuli_ms))
                           for c in CONDITIONS)
        return {"window_ms": step.window_ms, "first_event_ms": step.first_event_ms, "conditions": conditions}

    def check(self, step: EpspApPairingStep, profile: HardwareProfile) -> list[StepProblem]:
        """The shared checks of every condition, and the amplitude window around every event."""
        problems = super().check(step, profile)
        last = max(max(e.ap_ms + e.stimuli_ms) for e in (step.events(c) for c in CONDITIONS))
        if step.first_event_ms + step.window_ms > step.sweep_ms:
            problems.append(StepProblem("window_ms", f"the window ends after sweep_ms ({step.sweep_ms:g} ms)"))
        if last > step.first_event_ms + step.window_ms:
            problems.append(StepProblem("window_ms", f"the last event ({last:g} ms) falls after the window"))
        return problems
