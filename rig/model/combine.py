"""Combine per-sweep estimates of one spine into a spine estimate with an interval, and say when it changes.

Each sweep's estimate is taken as log-normal: log value with SD (log high - log low) / (2 z).

Stable spine: the inverse-variance mean in log space, widened by the Birge ratio when the sweeps
scatter more than their intervals say (Birge 1932) — the behaviour callers have always had.

Changing spine (plasticity, photodamage): a weighted least-squares line of log value on sweep
number; when its slope is significant (two-sided p < TREND_ALPHA, the slope's SE scaled by the
residual Birge ratio and tested against Student's t with n - 2 degrees of freedom) the spine is
reported as changing: `trend` says by how much over which sweeps, and the value is the *present*
one — the line's prediction at the last sweep, fitted over the latest segment of sweeps that a
straight line describes (residual chi-square p >= SEGMENT_ALPHA), with the prediction's SE widened by
that segment's Birge ratio. A saturating change (rise, then plateau) is thus read from its plateau,
a steady drift from its end; the interval is never a tight average of different spines.
`combine_normal` applies the same rules on a linear scale, to values that can be zero or negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special  # chdtrc, stdtr, stdtrit, ndtr: what scipy.stats calls, without its ~0.5 s import

TREND_ALPHA = 0.05  # nominal; the Birge-scaled t test is conservative (0.7 % false alarms, tests/test_combine.py)
SEGMENT_ALPHA = 0.05  # a segment is "one straight line" unless its residuals reject that at this level
MIN_TREND_SWEEPS = 3


@dataclass(frozen=True)
class Combined:
    """Inverse-variance combination in log space, widened by the Birge ratio when sweeps disagree.

    `trend` is empty for a stable spine, else a sentence such as "tau rose x3.1 over sweeps 1-8"; then
    value/low/high are the present value (last sweep) and `n` the sweeps of the segment it rests on.
    """

    value: float
    low: float
    high: float
    n: int
    birge_ratio: float
    trend: str = ""


@dataclass(frozen=True)
class _Line:
    """Weighted least-squares line of log value on sweep number."""

    slope: float
    slope_se: float
    at_last: float  # prediction at the last sweep
    at_last_se: float
    birge: float  # residual Birge ratio (1 when n <= 2)


def _fit_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Line:
    """Weighted straight line y = a + b x with the SEs of b and of the prediction at x[-1] (unscaled)."""
    sw = float(np.sum(w))
    xm = float(np.sum(w * x)) / sw
    ym = float(np.sum(w * y)) / sw
    sxx = float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (x - xm) * (y - ym))) / sxx
    resid = y - (ym + slope * (x - xm))
    dof = x.size - 2
    birge = math.sqrt(float(np.sum(w * resid**2)) / dof) if dof > 0 else 1.0
    dx = float(x[-1]) - xm
    return _Line(slope, math.sqrt(1.0 / sxx), ym + slope * dx, math.sqrt(1.0 / sw + dx * dx / sxx), birge)


def _segment_ok(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> bool:
    """True when a straight line describes these sweeps (residual chi-square not rejected)."""
    if x.size <= 2:
        return True
    line = _fit_line(x, y, w)
    chi2 = line.birge**2 * (x.size - 2)
    return float(special.chdtrc(x.size - 2, chi2)) >= SEGMENT_ALPHA


def trend_test(values: Sequence[float], lows: Sequence[float], highs: Sequence[float], z: float = 1.96,
               sweeps: Sequence[int] | None = None) -> tuple[float, float]:
    """(fold change of the fitted line from first to last sweep, two-sided p of its slope)."""
    x, y, w = _arrays(values, lows, highs, z, sweeps)
    slope, p = _slope_p(x, y, w)
    return (math.exp(slope * float(x[-1] - x[0])) if p < 1.0 else 1.0), p


def _arrays(values: Sequence[float], lows: Sequence[float], highs: Sequence[float], z: float,
            sweeps: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.log(np.asarray(values, dtype=float))
    sds = (np.log(np.asarray(highs, dtype=float)) - np.log(np.asarray(lows, dtype=float))) / (2 * z)
    sds = np.maximum(sds, 1e-6)
    x = np.arange(y.size, dtype=float) if sweeps is None else np.asarray(sweeps, dtype=float)
    return x, y, 1.0 / sds**2


def combine_log_normal(values: list[float], lows: list[float], highs: list[float], z: float = 1.96, *,
                       name: str = "value", sweeps: Sequence[int] | None = None) -> Combined:
    """Combine positive estimates given their (asymmetric) intervals, treating each as log-normal.

    `name` words the trend sentence; `sweeps` (default 0, 1, ...) are the sweep numbers (0-based) the
    values come from, for the trend's slope and its wording (shown 1-based).
    """
    x, logs, w = _arrays(values, lows, highs, z, sweeps)
    c = _combine(x, logs, w, z, name, ratio=True)
    return Combined(math.exp(c.value), math.exp(c.low), math.exp(c.high), c.n, c.birge_ratio, c.trend)


def combine_normal(values: Sequence[float], sds: Sequence[float], z: float = 1.96, *, name: str = "value",
                   sweeps: Sequence[int] | None = None, drift_expected: bool = False) -> Combined:
    """Combine estimates of any sign given their SDs, as normal on a linear scale (e.g. a peak that can be 0).

    The same rules as `combine_log_normal` (Birge widening; a significant straight-line trend on sweep number
    gives the present value and a sentence such as "peak fell by 1.8 mM over sweeps 2-9") on a linear scale.
    `drift_expected` (a quantity every sweep changes a little, e.g. by photodamage): the value is the present one
    even when no trend is significant, the weighted line over all sweeps at the last sweep (SE Birge-widened,
    Student's t), unbiased for a steady drift too small to show in one spine's sweeps; `trend` stays empty then.
    """
    y = np.asarray(values, dtype=float)
    w = 1.0 / np.maximum(np.asarray(sds, dtype=float), 1e-12) ** 2
    x = np.arange(y.size, dtype=float) if sweeps is None else np.asarray(sweeps, dtype=float)
    c = _combine(x, y, w, z, name, ratio=False)
    if c.trend or not drift_expected or x.size < MIN_TREND_SWEEPS or np.ptp(x) == 0:
        return c
    line = _fit_line(x, y, w)
    se = line.at_last_se * max(1.0, line.birge)
    crit = z if line.birge <= 1.0 else float(special.stdtrit(x.size - 2, special.ndtr(z)))
    return Combined(line.at_last, line.at_last - crit * se, line.at_last + crit * se, int(x.size), line.birge)


def _slope_p(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(slope, two-sided p of the Birge-scaled t test of the slope); (0, 1) with too few sweeps."""
    if x.size < MIN_TREND_SWEEPS or np.ptp(x) == 0:
        return 0.0, 1.0
    line = _fit_line(x, y, w)
    se = line.slope_se * max(1.0, line.birge)
    return line.slope, 2.0 * float(special.stdtr(x.size - 2, -abs(line.slope) / se))


def _combine(x: np.ndarray, y: np.ndarray, w: np.ndarray, z: float, name: str, ratio: bool) -> Combined:
    """The combination on the scale of y (log values when `ratio`: the trend is worded as a fold change)."""
    mean = float(np.sum(w * y) / np.sum(w))
    sd = math.sqrt(1.0 / float(np.sum(w)))
    birge = 1.0
    if y.size > 1:
        chi2 = float(np.sum(w * (y - mean) ** 2))
        birge = math.sqrt(chi2 / (y.size - 1))
    slope, p = _slope_p(x, y, w)
    if p >= TREND_ALPHA:
        sd *= max(1.0, birge)  # sweeps scatter more than their own intervals say: widen honestly
        return Combined(mean, mean - z * sd, mean + z * sd, int(y.size), birge)
    start = x.size - 1
    while start > 0 and _segment_ok(x[start - 1:], y[start - 1:], w[start - 1:]):
        start -= 1
    xs, ys, ws = x[start:], y[start:], w[start:]
    if xs.size >= 3:
        line = _fit_line(xs, ys, ws)
        centre, se, seg_birge = line.at_last, line.at_last_se * max(1.0, line.birge), line.birge
        crit = z if line.birge <= 1.0 else float(special.stdtrit(xs.size - 2, special.ndtr(z)))
    else:  # two sweeps on a line, or the last sweep alone: the last sweep is the present value
        centre, se, seg_birge, crit = float(ys[-1]), 1.0 / math.sqrt(float(ws[-1])), 1.0, z
    change = slope * float(x[-1] - x[0])
    verb = "rose" if change > 0 else "fell"
    how = f"x{math.exp(abs(change)):.1f}" if ratio else f"by {abs(change):.3g}"
    sentence = f"{name} {verb} {how} over sweeps {int(x[0]) + 1}-{int(x[-1]) + 1}"
    return Combined(centre, centre - crit * se, centre + crit * se, int(xs.size), seg_birge, sentence)
