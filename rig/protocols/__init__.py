"""Protocol kinds (one module each: schema, compile, online analysis) and their registry."""

from __future__ import annotations

from typing import Any

from rig.config.profile import HardwareProfile
from rig.engine.program import FixedProgram, StepProgram
from rig.protocols import (bap_train, epsp_ap_pairing, fcat, frap, hold, hyperpolarizing_steps, na_ca, paired_ap,
                           quantal, reversal, theta_burst, vsd)
from rig.protocols.common import StepKind

STEP_KINDS: dict[str, StepKind] = {"frap": frap.KIND, "hold": hold.KIND, "reversal": reversal.KIND,
                                  "fcat": fcat.KIND, "na_ca": na_ca.KIND,
                                  "bap_train": bap_train.KIND, "paired_ap": paired_ap.KIND,
                                  "theta_burst": theta_burst.KIND,
                                  "hyperpolarizing_steps": hyperpolarizing_steps.KIND,
                                  "epsp_ap_pairing": epsp_ap_pairing.KIND, "quantal": quantal.KIND,
                                  "vsd": vsd.KIND}


def step_program(step: Any, step_index: int, profile: HardwareProfile, analysis: Any) -> StepProgram:
    """The program of a step: the kind's own (adaptive) program, or its compiled plans in order."""
    kind = STEP_KINDS[step.kind]
    build = getattr(kind, "program", None)
    if build is not None:
        return build(step, step_index, profile, analysis)
    return FixedProgram(step_index, kind.compile(step, step_index, profile))
