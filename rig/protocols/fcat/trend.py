"""Does a condition's CaT per release change over the step (photodamage, neck plasticity)? (pure)

The test is `rig.model.combine.trend_test` (the one FRAP uses): a weighted line of log amplitude on sweep
number over the detected releases, each with its interval amplitude +- z x its baseline-noise SD; the slope's
SE is scaled by the residual Birge ratio, so quantal variation is not mistaken for a trend.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rig.analysis.release_mixture import RatioEstimate
from rig.model.combine import MIN_TREND_SWEEPS, TREND_ALPHA, trend_test


@dataclass(frozen=True)
class ReleaseTrend:
    """A significant change of the CaT per release over the detected releases of one condition."""

    fold: float  # fitted change from the first to the last release (> 1: rose)
    p: float
    sentence: str  # e.g. "CaT per release at the reversal fell x1.6 over sweeps 47-77"

    @property
    def factor(self) -> float:
        """The change as a factor >= 1, whichever its direction."""
        return self.fold if self.fold >= 1.0 else 1.0 / self.fold


def release_trend(sweeps: np.ndarray, amplitudes: np.ndarray, noise_sd: np.ndarray, released: np.ndarray,
                  z: float, label: str) -> ReleaseTrend | None:
    """The trend of the released trials' amplitudes (None when there is none at TREND_ALPHA, or fewer than
    MIN_TREND_SWEEPS releases whose interval stays above zero)."""
    sweeps, amplitudes, noise_sd = (np.asarray(x, float) for x in (sweeps, amplitudes, noise_sd))
    keep = np.asarray(released, bool) & (amplitudes - z * noise_sd > 0)
    if int(keep.sum()) < MIN_TREND_SWEEPS:
        return None
    a, s, x = amplitudes[keep], noise_sd[keep], sweeps[keep]
    fold, p = trend_test(list(a), list(a - z * s), list(a + z * s), z, [int(v) for v in x])
    if p >= TREND_ALPHA:
        return None
    verb, factor = ("rose", fold) if fold > 1.0 else ("fell", 1.0 / fold)
    return ReleaseTrend(fold, p, f"CaT per release {label} {verb} x{factor:.1f} over sweeps {int(x[0]) + 1}-"
                                 f"{int(x[-1]) + 1}")


@dataclass(frozen=True)
class StepTrend:
    """The trends found in a step's conditions (none: a stable spine)."""

    trends: tuple[ReleaseTrend, ...] = ()

    @property
    def sentence(self) -> str:
        """The trends as one sentence ("" when stable)."""
        return "; ".join(t.sentence for t in self.trends)

    @property
    def factor(self) -> float:
        """The largest change of a condition's CaT per release (1 when stable)."""
        return max((t.factor for t in self.trends), default=1.0)

    def widen(self, ratio: RatioEstimate) -> RatioEstimate:
        """The ratio's interval widened by `factor` about its value (multiplicatively on a positive side)."""
        f = self.factor
        low = ratio.low / f if ratio.low > 0 else ratio.low - abs(ratio.value) * (1.0 - 1.0 / f)
        return replace(ratio, low=min(low, ratio.low), high=max(ratio.high * f, ratio.high),
                       upper_bound=max(ratio.upper_bound * f, ratio.upper_bound))
