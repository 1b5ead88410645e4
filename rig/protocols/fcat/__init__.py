"""fCaT (fractional calcium transient): NMDA receptors as voltage sensors in the spine head."""

from rig.protocols.fcat.analysis import FcatAnalysis
from rig.protocols.fcat.program import FcatKind
from rig.protocols.fcat.schema import FcatStep

KIND = FcatKind()

__all__ = ["FcatStep", "FcatAnalysis", "FcatKind", "KIND"]
