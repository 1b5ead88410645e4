"""FRAP (diffusional coupling): line scan, bleach pulse, recovery fit, neck resistance."""

from rig.protocols.frap.analysis import FrapAnalysis
from rig.protocols.frap.compile import FrapKind
from rig.protocols.frap.schema import FrapStep

KIND = FrapKind()

__all__ = ["FrapStep", "FrapAnalysis", "FrapKind", "KIND"]
