"""Protocol kinds (one module each: schema, compile, online analysis) and their registry."""

from __future__ import annotations

from typing import Any

from rig.config.profile import HardwareProfile
from rig.engine.program import FixedProgram, StepProgram
from rig.protocols import fcat, frap, hold, na_ca, reversal
from rig.protocols.common import StepKind

STEP_KINDS: dict[str, StepKind] = {"frap": frap.KIND, "hold": hold.KIND, "reversal": reversal.KIND,
                                  "fcat": fcat.KIND, "na_ca": na_ca.KIND}


def step_program(step: Any, step_index: int, profile: HardwareProfile, analysis: Any) -> StepProgram:
    """The program of a step: the kind's own (adaptive) program, or its compiled plans in order."""
    kind = STEP_KINDS[step.kind]
    build = getattr(kind, "program", None)
    if build is not None:
        return build(step, step_index, profile, analysis)
    return FixedProgram(step_index, kind.compile(step, step_index, profile))
