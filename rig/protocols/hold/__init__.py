"""Hold step: keep the cell clamped at a holding value for a time (e.g. 4 min at 0 mV)."""

from rig.protocols.hold.compile import HoldKind
from rig.protocols.hold.schema import HoldStep

KIND = HoldKind()

__all__ = ["HoldStep", "HoldKind", "KIND"]
