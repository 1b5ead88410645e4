"""A step's program and online analysis for one run, built the one way the protocol check and the run share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rig.config.profile import HardwareProfile
from rig.engine.program import StepProgram
from rig.protocols import STEP_KINDS
from rig.protocols.shared.common import SweepAnalysis
from rig.protocols.stopping import with_stopping


@dataclass(frozen=True)
class StepRun:
    """What runs one step: its program (with its `until:` rule applied) and its online analysis (or None)."""

    program: StepProgram
    analysis: SweepAnalysis | None


def build_step_run(step: Any, step_index: int, profile: HardwareProfile) -> StepRun:
    """A fresh program and analysis for a validated step: the kind's program, stopped early by `until:`."""
    kind = STEP_KINDS[step.kind]
    analysis = kind.analysis(step)
    program, analysis = with_stopping(step, kind.program(step, step_index, profile, analysis), analysis)
    return StepRun(program, analysis)


def build_step_program(step: Any, step_index: int, profile: HardwareProfile) -> StepProgram:
    """The program build_step_run makes for a validated step, with no online analysis built where the program
    takes none (a fixed-plan step without `until:`): checking a protocol then imports no analysis module."""
    kind = STEP_KINDS[step.kind]
    if kind.fixed_plans and getattr(step, "until", None) is None:
        return kind.program(step, step_index, profile, None)
    return build_step_run(step, step_index, profile).program
