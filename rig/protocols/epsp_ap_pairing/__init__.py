"""EPSP-AP pairing: 3 EPSPs at 100 Hz before vs after a 2-3 bAP train; head CaT supralinearity index.

Four conditions, interleaved: EPSPs alone, APs alone, EPSPs before the APs (the last EPSP `gap_ms`
before the first AP) and EPSPs after them (the first EPSP `gap_ms` after the last AP). Amplitude of a
sweep: mean head dG/R over `window_ms` from its first event. Index = paired / (EPSP alone + AP alone)."""

from rig.protocols.epsp_ap_pairing.analysis import EpspApPairingAnalysis
from rig.protocols.epsp_ap_pairing.compile import EpspApPairingKind
from rig.protocols.epsp_ap_pairing.schema import EpspApPairingStep

KIND = EpspApPairingKind()

__all__ = ["EpspApPairingStep", "EpspApPairingAnalysis", "EpspApPairingKind", "KIND"]
