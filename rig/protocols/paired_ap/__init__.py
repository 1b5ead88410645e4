"""Paired APs: the Feller ratio a = (F3-F2)/(F1-F0) of a saturating indicator, and Delta[Ca] per AP.

Delta[Ca] per AP is the first AP's dG/R step converted to free Ca through the indicator's binding (Kd, F_max/F_min,
resting Ca: `calcium_signal.calcium_change_uM`), not Feller's ([Ca]0 + Kd)(1 - a)/(2a): that formula assumes equal
free-Ca steps at both APs and no decay between them, and with a dye-dominated buffer the second AP's free-Ca step is
larger (the dye buffers less when partly bound), so a overstates saturation (on the simulated 'slow' spine the
noise-free formula gave +7 % at rise 2/window 6 and -47 % at rise 4/window 4, against -2 % for the conversion)."""

from rig.protocols.paired_ap.analysis import PairedApAnalysis
from rig.protocols.paired_ap.compile import PairedApKind
from rig.protocols.paired_ap.schema import PairedApStep

KIND = PairedApKind()

__all__ = ["PairedApStep", "PairedApAnalysis", "PairedApKind", "KIND"]
