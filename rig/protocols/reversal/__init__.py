"""Synaptic reversal search (adaptive): bisect on the sign of single sweeps' evoked currents, then false position.

A sweep's current counts as inward or outward only when it lies beyond SIGN_Z baseline SDs of zero: release
fails often, so a level's mean over two sweeps says little, but the sign of any sweep that released does
(every synapse's current reverses at the same holding, within ~0.3 mV on the simulated rig). The reversal is
the zero of a straight line through the single sweeps near it (Fieller's interval). The search is short on
purpose: holdings near 0 mV drive neck plasticity (SCIENCE.md), so the time held above -20 mV is reported."""

from rig.protocols.reversal.analysis import Level, ReversalAnalysis, ReversalEstimate
from rig.protocols.reversal.program import ReversalKind, ReversalProgram
from rig.protocols.reversal.schema import ReversalStep

KIND = ReversalKind()

__all__ = ["ReversalStep", "Level", "ReversalEstimate", "ReversalAnalysis", "ReversalProgram", "ReversalKind", "KIND"]
