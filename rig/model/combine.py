"""Combine per-sweep estimates of one spine into a spine estimate with an interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Combined:
    """Inverse-variance combination in log space, widened by the Birge ratio when sweeps disagree."""

    value: float
    low: float
    high: float
    n: int
    birge_ratio: float


def combine_log_normal(values: list[float], lows: list[float], highs: list[float], z: float = 1.96) -> Combined:
    """Combine positive estimates given their (asymmetric) intervals, treating each as log-normal."""
    logs = np.log(np.asarray(values, dtype=float))
    sds = (np.log(np.asarray(highs, dtype=float)) - np.log(np.asarray(lows, dtype=float))) / (2 * z)
    sds = np.maximum(sds, 1e-6)
    w = 1.0 / sds**2
    mean = float(np.sum(w * logs) / np.sum(w))
    sd = math.sqrt(1.0 / float(np.sum(w)))
    birge = 1.0
    if len(values) > 1:
        chi2 = float(np.sum(w * (logs - mean) ** 2))
        birge = math.sqrt(chi2 / (len(values) - 1))
        sd *= max(1.0, birge)  # sweeps scatter more than their own intervals say: widen honestly
    return Combined(math.exp(mean), math.exp(mean - z * sd), math.exp(mean + z * sd), len(values), birge)
