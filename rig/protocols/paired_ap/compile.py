"""The paired_ap step kind: every sweep two AP pulses."""

from __future__ import annotations

from typing import Any

from rig.datatypes.kind_meta import ApLevelsMeta
from rig.protocols.paired_ap.analysis import PairedApAnalysis
from rig.protocols.paired_ap.schema import PairedApStep
from rig.protocols.shared.ap_scan import SweepEvents
from rig.protocols.shared.cc_scan_kind import CcScanKind


class PairedApKind(CcScanKind[PairedApStep]):
    """The paired_ap step kind."""

    schema = PairedApStep
    meta_type = ApLevelsMeta
    analysis_type = PairedApAnalysis

    def sweep_events(self, step: PairedApStep) -> list[SweepEvents]:
        """One sweep per repeat with two AP pulses."""
        return [SweepEvents("paired_ap", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]

    def analysis_windows(self, step: PairedApStep) -> dict[str, Any]:
        """Where each level is read after an AP."""
        return {"rise_ms": step.rise_ms, "level_window_ms": step.level_window_ms}
