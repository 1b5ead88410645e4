"""Protocol kinds (one module each: schema, compile, online analysis) and their registry."""

from rig.protocols import frap, hold
from rig.protocols.common import StepKind

STEP_KINDS: dict[str, StepKind] = {"frap": frap.KIND, "hold": hold.KIND}
