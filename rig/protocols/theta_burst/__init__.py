"""Theta-burst conditioning: trains of bursts of bAPs, each AP a short CC current pulse.

Default (SCIENCE.md, section 3): 3 trains at 0.1 Hz of 10 bursts at 5 Hz of 5 bAPs at 100 Hz.
One sweep per train; the pause between trains is the sweep's interval."""

from rig.protocols.theta_burst.analysis import ThetaBurstAnalysis
from rig.protocols.theta_burst.compile import ThetaBurstKind
from rig.protocols.theta_burst.schema import ThetaBurstStep

KIND = ThetaBurstKind()

__all__ = ["ThetaBurstStep", "ThetaBurstAnalysis", "ThetaBurstKind", "KIND"]
