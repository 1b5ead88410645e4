"""Hyperpolarizing steps with the driving-force check (CC, no imaging).

Each sweep: a synaptic stimulus at rest, then a hyperpolarizing current step (150 ms, -300 to
-400 pA) with a second stimulus at its steady state. The EPSP during the step should scale by
(E_syn - V_hyp)/(E_syn - V_rest) if no voltage-gated channel boosts it; the steady-state
hyperpolarization per pA is the input resistance (the calibration of voltage imaging)."""

from rig.protocols.hyperpolarizing_steps.analysis import HyperpolarizingStepsAnalysis
from rig.protocols.hyperpolarizing_steps.compile import HyperpolarizingStepsKind
from rig.protocols.hyperpolarizing_steps.program import ReversalStampedProgram
from rig.protocols.hyperpolarizing_steps.schema import HyperpolarizingStepsStep

KIND = HyperpolarizingStepsKind()

__all__ = ["HyperpolarizingStepsStep", "HyperpolarizingStepsAnalysis", "ReversalStampedProgram", "HyperpolarizingStepsKind", "KIND"]
