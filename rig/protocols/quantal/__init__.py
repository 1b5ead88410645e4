"""Optical quantal analysis: hundreds of single-shock sweeps, success/failure of the head CaT per sweep.

Every sweep's head CaT is scaled by a template (matched filter, as in fCaT; the template is fitted to the
sweeps above `threshold_sd` x their baseline-noise SD, the 2.5 SD rule). The release probability is fitted to
every sweep's amplitude as a failure/release mixture (rig/analysis/quantal_mixture.py) with a profile-likelihood
interval, so releases that do not stand out of one sweep's noise are neither lost nor invented by a threshold;
a spine whose releases cannot be told from its failures gets a notice instead of an estimate. With `clamp: VC` the
cell is held at rest and stepped depolarized around each stimulus (NMDA receptors unblocked): every release of a
synapse with NMDA receptors gives a CaT, whatever its neck."""

from rig.protocols.quantal.analysis import QuantalAnalysis
from rig.protocols.quantal.compile import QuantalKind
from rig.protocols.quantal.schema import QuantalStep

KIND = QuantalKind()

__all__ = ["QuantalStep", "QuantalAnalysis", "QuantalKind", "KIND"]
