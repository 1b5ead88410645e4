"""One-sided upper bounds on a Na+ decay the sodium frames do not resolve: the profile likelihood of its time constant.

The influx model y = b + sum_i a_i (exp(-t/s) - exp(-t/f)) (rig.analysis.kinetics) is symmetric in its two time
constants, and when both are near the frame interval the frames cannot tell the head's exchange (tau_Na) from the
influx's own time course: what they bound is the slower constant s, and tau_Na <= s whichever of the two it is.
So the profile is over s, with the faster constant f in [0.1 ms, s), the delay on a grid and the amplitudes solved
exactly: s is inside the bound while the residual sum of squares stays within z^2 residual variances of its minimum
(the signed-root profile-likelihood bound). z is the two-sided quantile of the level (1.96 at 95 %), not the
one-sided one (1.645): the margin covers the model's shape error at the frame interval (on 40 simulated fast spines
the one-sided point missed 2 of 28 unresolved decays, both by 4-6 %, where the best fit is an alpha function below
the true tau). Unlike the covariance (Wald) interval of the joint fit, taken from the curvature at its optimum, this
holds where the likelihood is flat on the fast side, the fit sits on its 1 ms floor (there the Wald end fell below
the true tau) or the two constants coincide (a singular covariance: no interval at all).
The half-decay bound is that of the slowest-halving response both of whose constants are within the tau bound,
the alpha function (t/S) exp(-t/S) (1.68 S after one stimulus), with the amplitudes of any accepted fit: the
half-decay of the best-fitting model shapes alone fell 15-25 % short of the truth on 2 of 28 such spines.
Neither bound is ever below one sodium frame interval: a decay or halving within one frame is what the frames
cannot resolve, so below it the bound would rest on the model's shape alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rig.analysis.confidence import two_sided_z
from rig.analysis.kinetics import half_decay_time, influx_response

FASTEST_MS = 0.1  # the fastest constant the profile tries (the joint fit's lower rise bound)
SLOWEST_START_MS = 1.0  # the profile of the slower constant starts here (the joint fit's lower decay bound)
GRID_FACTOR = 1.2  # step of the slower constant's grid, refined by bisection at the bound
REFINEMENTS = 3  # bisections of the last step: the bound is at most GRID_FACTOR ** (1 / 2**3) ~ 2.3 % high
FAST_POINTS = 6  # faster constants tried per slower one, geometric from FASTEST_MS to FAST_RATIO of it
FAST_RATIO = 0.9  # f < s: at f -> s the response tends to the alpha function, the slowest-halving shape for s
DELAYS_MS = tuple(np.arange(-0.5, 3.01, 0.25))  # the joint fit's delay range, on a grid
HALF_STEP_MS = 0.05  # time step of the model curve the half-decay is read from


@dataclass(frozen=True)
class DecayBounds:
    """Upper bounds (ms) on tau_Na and on the mean response's half-decay; inf when the sweeps do not bound them
    (within the time they record after the first stimulus) or their best response is no rise."""

    tau_ms: float
    half_decay_ms: float
    best_tau_ms: float  # the slower constant at the profile's minimum
    frame_ms: float  # the floor both bounds are held to
    points: int  # slower constants profiled


def _grouped(times_ms: Sequence[np.ndarray], traces: Sequence[np.ndarray]) -> tuple[list[tuple[np.ndarray, np.ndarray]],
                                                                                    int, int]:
    """Sweeps sampled at the same times stacked as columns (one least-squares solve each); samples, sweeps."""
    groups: dict[bytes, tuple[np.ndarray, list[np.ndarray]]] = {}
    n_obs = 0
    for t, y in zip(times_ms, traces):
        t, y = np.asarray(t, float), np.asarray(y, float)
        ok = np.isfinite(y)
        n_obs += int(ok.sum())
        groups.setdefault(t[ok].tobytes(), (t[ok], []))[1].append(y[ok])
    return [(t, np.column_stack(ys)) for t, ys in groups.values()], n_obs, len(traces)


@dataclass(frozen=True)
class _Point:
    rss: float
    fast_ms: float
    delay_ms: float
    amplitudes: np.ndarray  # mean over sweeps, per stimulus


class _Profile:
    """Residual sums of squares of the influx model with both time constants held, the delay on its grid."""

    def __init__(self, times_ms: Sequence[np.ndarray], traces: Sequence[np.ndarray], onsets_ms: Sequence[float]):
        self.groups, n_obs, n_sweeps = _grouped(times_ms, traces)
        self.onsets = tuple(float(o) for o in onsets_ms)
        self.dof = max(1, n_obs - n_sweeps * (1 + len(self.onsets)) - 3)  # as the joint fit counts them
        self.points: dict[float, list[_Point]] = {}

    def _fit(self, slow_ms: float, fast_ms: float, delay_ms: float) -> _Point:
        rss, amplitudes = 0.0, []
        for t, y in self.groups:
            design = np.column_stack([np.ones_like(t)] + [influx_response(t, on + delay_ms, fast_ms, slow_ms)
                                                          for on in self.onsets])
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
            rss += float(np.sum((design @ coef - y) ** 2))
            amplitudes.append(coef[1:].T)
        return _Point(rss, fast_ms, delay_ms, np.concatenate(amplitudes).mean(axis=0))

    def at(self, slow_ms: float) -> float:
        """The profile at one slower constant (its least RSS over the faster constant and the delay)."""
        if slow_ms not in self.points:
            fasts = np.geomspace(FASTEST_MS, max(FASTEST_MS, FAST_RATIO * slow_ms), FAST_POINTS)
            self.points[slow_ms] = [min((self._fit(slow_ms, float(f), d) for d in DELAYS_MS), key=lambda p: p.rss)
                                    for f in np.unique(fasts)]
        return min(p.rss for p in self.points[slow_ms])

    def alpha_half_decay_ms(self, slow_ms: float, point: _Point) -> float:
        """Peak-to-half time of the mean response with alpha-shaped responses of constant slow_ms at one point's
        amplitudes (nan for amplitudes that give no rise)."""
        if float(np.sum(point.amplitudes)) <= 0:
            return math.nan
        t = np.arange(min(self.onsets), max(self.onsets) + 12.0 * slow_ms, HALF_STEP_MS)
        y = np.zeros_like(t)
        for a, on in zip(point.amplitudes, self.onsets):
            x = np.clip(t - on, 0.0, None) / slow_ms
            y += a * x * np.exp(-x)
        return half_decay_time(t, y)


def decay_upper_bounds(times_ms: Sequence[np.ndarray], traces: Sequence[np.ndarray], onsets_ms: Sequence[float],
                       level: float, frame_ms: float, longest_ms: float) -> DecayBounds:
    """One-sided bounds at `level` on tau_Na and the half-decay from every sweep's samples (mid-exposure times, mM);
    frame_ms the sodium frame interval (the floor), longest_ms the longest constant tried (the time the sweeps record
    after the first stimulus: a decay beyond it is not bounded by them)."""
    z = two_sided_z(level)  # the margin of the module docstring
    profile = _Profile(times_ms, traces, onsets_ms)
    slows: list[float] = []
    s = SLOWEST_START_MS
    least = math.inf
    last_inside, outside_run = SLOWEST_START_MS, 0
    while s <= longest_ms:  # up from the floor until two steps in a row are outside
        slows.append(s)
        least = min(least, profile.at(s))
        limit = least * (1.0 + z * z / profile.dof)  # RSS_min + z^2 sigma^2, sigma^2 = RSS_min / dof
        last_inside = max(x for x in slows if profile.at(x) <= limit)
        outside_run = 0 if s == last_inside else outside_run + 1
        if outside_run >= 2:
            break
        s *= GRID_FACTOR
    best = min(slows, key=profile.at)
    rising = float(np.sum(min(profile.points[best], key=lambda p: p.rss).amplitudes)) > 0
    if outside_run < 2 or not rising:  # not bounded within the sweep, or the best response is no Na+ rise
        return DecayBounds(math.inf, math.inf, best, frame_ms, len(profile.points))
    limit = least * (1.0 + z * z / profile.dof)
    inside, outside = last_inside, last_inside * GRID_FACTOR
    for _ in range(REFINEMENTS):
        mid = math.sqrt(inside * outside)
        if profile.at(mid) <= limit:
            inside = mid
        else:
            outside = mid
    bound = max(outside, frame_ms)
    halves = [profile.alpha_half_decay_ms(bound, p) for points in profile.points.values() for p in points
              if p.rss <= limit]
    finite = [h for h in halves if math.isfinite(h)]
    half = max(finite) if finite else math.inf
    return DecayBounds(bound, max(half, frame_ms), best, frame_ms, len(profile.points))
