"""bAP train: somatic CC current pulses evoke back-propagating APs; line-scan Ca amplitude per AP and decay."""

from rig.protocols.bap_train.analysis import BapTrainAnalysis
from rig.protocols.bap_train.compile import BapTrainKind
from rig.protocols.bap_train.schema import BapTrainStep

KIND = BapTrainKind()

__all__ = ["BapTrainStep", "BapTrainAnalysis", "BapTrainKind", "KIND"]
