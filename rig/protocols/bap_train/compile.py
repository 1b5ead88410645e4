"""The bap_train step kind: every sweep the same AP train."""

from __future__ import annotations

from typing import Any

from rig.datatypes.kind_meta import ApLevelsMeta
from rig.protocols.bap_train.analysis import BapTrainAnalysis
from rig.protocols.bap_train.schema import BapTrainStep
from rig.protocols.shared.ap_scan import SweepEvents
from rig.protocols.shared.cc_scan_kind import CcScanKind


class BapTrainKind(CcScanKind[BapTrainStep]):
    """The bap_train step kind."""

    schema = BapTrainStep
    meta_type = ApLevelsMeta
    analysis_type = BapTrainAnalysis

    def sweep_events(self, step: BapTrainStep) -> list[SweepEvents]:
        """One sweep per repeat, each with the same AP train."""
        return [SweepEvents("bap_train", ap_ms=step.onsets_ms()) for _ in range(step.sweeps)]

    def analysis_windows(self, step: BapTrainStep) -> dict[str, Any]:
        """Where each level is read after an AP."""
        return {"rise_ms": step.rise_ms, "level_window_ms": step.level_window_ms}
