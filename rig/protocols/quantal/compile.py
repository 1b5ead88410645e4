"""The quantal step kind: every sweep one synaptic stimulus."""

from __future__ import annotations

from rig.protocols.quantal.analysis import QuantalAnalysis
from rig.protocols.quantal.schema import QuantalStep
from rig.protocols.shared.ap_scan import SweepEvents
from rig.protocols.shared.cc_scan_kind import CcScanKind


class QuantalKind(CcScanKind[QuantalStep]):
    """The quantal step kind."""

    schema = QuantalStep
    analysis_type = QuantalAnalysis

    def sweep_events(self, step: QuantalStep) -> list[SweepEvents]:
        """One single-shock sweep per repeat."""
        return [SweepEvents("shock", stimuli_ms=[step.stimulus_ms]) for _ in range(step.sweeps)]
