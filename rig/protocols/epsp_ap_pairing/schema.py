"""The epsp_ap_pairing step's protocol-file schema."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.protocols.shared.ap_scan import CcScanStep, SweepEvents
from rig.protocols.shared.calcium_steps import train_onsets_ms

CONDITIONS = ("epsp", "ap", "epsp_before_ap", "epsp_after_ap")


class EpspApPairingStep(CcScanStep):
    """EPSP trains (extracellular stimulus) paired with bAP trains (CC current pulses) in both orders."""

    kind: Literal["epsp_ap_pairing"]
    n_epsps: int = Field(default=3, ge=1, le=10)
    epsp_rate_hz: float = Field(default=100.0, gt=0, le=500)
    n_aps: int = Field(default=2, ge=1, le=10)
    ap_rate_hz: float = Field(default=100.0, gt=0, le=500)
    gap_ms: float = Field(default=5.0, ge=0, description="between the two trains (end event to start event)")
    first_event_ms: float = Field(default=40.0, gt=0)
    window_ms: float = Field(default=80.0, gt=0, description="amplitude: mean dG/R this long from the first event")
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    def events(self, condition: str) -> SweepEvents:
        """Stimulus and AP onsets of one condition."""
        t0 = self.first_event_ms
        epsp_span = (self.n_epsps - 1) * 1000.0 / self.epsp_rate_hz
        ap_span = (self.n_aps - 1) * 1000.0 / self.ap_rate_hz
        epsp_at, ap_at = {"epsp": (t0, None), "ap": (None, t0),
                          "epsp_before_ap": (t0, t0 + epsp_span + self.gap_ms),
                          "epsp_after_ap": (t0 + ap_span + self.gap_ms, t0)}[condition]
        return SweepEvents(condition,
                           ap_ms=[] if ap_at is None else train_onsets_ms(ap_at, self.n_aps, self.ap_rate_hz),
                           stimuli_ms=[] if epsp_at is None else train_onsets_ms(epsp_at, self.n_epsps,
                                                                                 self.epsp_rate_hz))
