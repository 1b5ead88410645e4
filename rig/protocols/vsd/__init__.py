"""Voltage imaging in spines: VSD line scans of spine head and parent dendrite, calibrated by bAP and step."""

from rig.protocols.vsd.analysis import VsdAnalysis
from rig.protocols.vsd.compile import VsdKind
from rig.protocols.vsd.schema import VsdStep

KIND = VsdKind()

__all__ = ["VsdStep", "VsdAnalysis", "VsdKind", "KIND"]
