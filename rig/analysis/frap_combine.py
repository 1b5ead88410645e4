"""Combine the FRAP sweeps of one spine, outside the validated design weighting each at the common tau.

Each sweep's own SD of log tau grows with its own estimate when the recovery is short (a longer tau is
seen over fewer of its time constants), so inverse-variance weights from the sweeps' own intervals favour
the low estimates: on recoveries of 1 tau the combined tau read 2.5-3.4 % low. Weighting every sweep by
the SD its design gives at the combined tau and the sweeps' median imaging bleach (the expected Fisher
information there; a second pass) removes that (+0.1 % instead of -2.5 %, tau 1 s, 100 photons/line).
Within the validated design (recoveries >= 3 tau) the own weights are kept: there they correlate weakly
with the estimates, and on fast recoveries the reweighting did worse (-1.1 % instead of +0.1 % at tau
20 ms, 100 photons/line). The combination itself is `rig.model.combine.combine_log_normal` (its Birge
widening and trend test); a spine that changes has no common tau, so its sweeps keep their own intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rig.analysis.frap_kinetics import FrapKineticFit, log_tau_sd_at
from rig.model.combine import Combined, combine_log_normal

VALIDATED_RECOVERY_TAUS = 3.0  # recoveries of at least this many tau: the sweeps' own intervals combine unbiased


@dataclass(frozen=True)
class SweepTau:
    """One sweep's delivered fit and the design it was fitted on."""

    sweep: int
    fit: FrapKineticFit
    t_base_ms: np.ndarray
    t_post_ms: np.ndarray
    dark_counts_per_line: float
    start_fraction: float


def combine_sweep_taus(sweeps: Sequence[SweepTau], z: float, name: str = "tau") -> Combined:
    """tau of the spine from its sweeps (see the module docstring)."""
    values = [s.fit.tau_ms for s in sweeps]
    numbers = [s.sweep for s in sweeps]
    own = combine_log_normal(values, [s.fit.tau_low_ms for s in sweeps], [s.fit.tau_high_ms for s in sweeps], z,
                             name=name, sweeps=numbers)
    if own.trend or len(sweeps) < 2:
        return own
    if min(float(s.t_post_ms[-1]) for s in sweeps) >= VALIDATED_RECOVERY_TAUS * own.value:
        return own  # within the validated design the sweeps' own weights meet the targets (tests/test_frap_study.py)
    k = float(np.median([s.fit.imaging_bleach_per_ms for s in sweeps]))  # one beam, one spine: one k_i
    sds = [log_tau_sd_at(s.t_base_ms, s.t_post_ms, s.dark_counts_per_line, s.start_fraction, s.fit, own.value, k)
           for s in sweeps]
    if not all(math.isfinite(sd) and sd > 0 for sd in sds):
        return own
    lows = [v * math.exp(-z * sd) for v, sd in zip(values, sds)]
    highs = [v * math.exp(z * sd) for v, sd in zip(values, sds)]
    return combine_log_normal(values, lows, highs, z, name=name, sweeps=numbers)
