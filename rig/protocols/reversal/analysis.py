"""Online analysis of the reversal step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.analysis.confidence import Z_95, two_sided_t
from rig.analysis.evoked_current import evoked_current
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import StepFailed
from rig.protocols.reversal.schema import ReversalStep
from rig.protocols.shared.calcium_scan import (
    DEPOLARIZED_ABOVE_MV,
    depolarized_ms,
)
from rig.protocols.shared.common import AnalysisUpdate

SIGN_Z = 3.0  # a sweep's evoked current has a known sign beyond this many baseline SDs from zero


@dataclass(frozen=True)
class Level:
    """The single sweeps' evoked currents at one holding, with their baseline SDs."""

    holding_mV: float
    currents_pA: tuple[float, ...]
    sds_pA: tuple[float, ...]

    @property
    def sweeps(self) -> int:
        """Measuring sweeps at this holding."""
        return len(self.currents_pA)

    @property
    def mean_pA(self) -> float:
        """Mean evoked current over the sweeps."""
        return float(np.mean(self.currents_pA))

    @property
    def sign(self) -> int:
        """-1 when some sweep is inward beyond SIGN_Z SDs and none outward, +1 the reverse, 0 otherwise (every
        sweep within the noise of zero, or sweeps of both signs: the level sits at the reversal as far as the
        noise tells)."""
        i, sd = np.asarray(self.currents_pA), np.asarray(self.sds_pA)
        inward, outward = bool(np.any(i < -SIGN_Z * sd)), bool(np.any(i > SIGN_Z * sd))
        return -1 if inward and not outward else 1 if outward and not inward else 0


def side(level: Level) -> int:
    """The side of the reversal the level lies on for the bisection: its sign, or for a level within the noise of
    zero the sign of its mean (a wrong guess there costs little: the level lies within the noise of the reversal)."""
    return level.sign if level.sign else (1 if level.mean_pA > 0 else -1)


def bracket(levels: list[Level]) -> tuple[Level, Level] | None:
    """(highest inward level below the lowest outward one, lowest outward level) once some level is outward; the
    first level counts as inward (the search starts only where the mean current is inward)."""
    outward = [v for k, v in enumerate(levels) if side(v) > 0 and k > 0]
    if not outward:
        return None
    high = min(outward, key=lambda v: v.holding_mV)
    inward = [v for k, v in enumerate(levels) if (side(v) < 0 or k == 0) and v.holding_mV < high.holding_mV]
    if not inward:
        return None
    return max(inward, key=lambda v: v.holding_mV), high


@dataclass(frozen=True)
class ReversalEstimate:
    """The reversal potential with its interval (NaN ends: not bounded by the data)."""

    value_mV: float
    low_mV: float
    high_mV: float
    sweeps: int  # sweeps the interval is based on


def zero_crossing(low: Level, high: Level) -> float:
    """Linear zero crossing V0 = V_l - I_l (V_h - V_l)/(I_h - I_l) between two levels of opposite sign."""
    width, rise = high.holding_mV - low.holding_mV, high.mean_pA - low.mean_pA
    if rise <= 0:
        return 0.5 * (low.holding_mV + high.holding_mV)
    return low.holding_mV - low.mean_pA * width / rise


def reversal_from_sweeps(holdings_mV: np.ndarray, currents_pA: np.ndarray, level: float = 0.95,
                         floor_mV: float = 0.0) -> ReversalEstimate:
    """Zero of the straight line I = c + b (V - V_w) fitted to single sweeps near the reversal, with Fieller's
    interval for V0 = V_w - c/b and t quantiles (Fieller 1954).

    With floor_mV > 0 the fit is weighted for release fluctuations: a sweep's current is the released charge
    times (V - V0), so its scatter grows with the distance from the zero; weights 1 / ((V - V0)^2 + floor^2)
    at the zero of the previous pass (three passes from the unweighted fit), the scale from the weighted
    residuals. floor_mV = 0: ordinary least squares.
    """
    v, i = np.asarray(holdings_mV, float), np.asarray(currents_pA, float)
    if v.size < 3 or float(np.ptp(v)) <= 0:
        return ReversalEstimate(math.nan, math.nan, math.nan, int(v.size))
    est = _weighted_fieller(v, i, np.ones_like(v), level)
    for _ in range(3 if floor_mV > 0 else 0):
        zero = est.value_mV if math.isfinite(est.value_mV) else float(np.mean(v))
        zero = min(max(zero, float(v.min())), float(v.max()))
        est = _weighted_fieller(v, i, 1.0 / ((v - zero) ** 2 + floor_mV**2), level)
    return est


def _weighted_fieller(v: np.ndarray, i: np.ndarray, w: np.ndarray, level: float) -> ReversalEstimate:
    """Fieller's interval for the zero of a weighted straight-line fit (weights up to a common scale)."""
    sw = float(np.sum(w))
    centre = float(np.sum(w * v) / sw)
    x = v - centre
    sxx = float(np.sum(w * x**2))
    if sxx <= 0:
        return ReversalEstimate(math.nan, math.nan, math.nan, int(v.size))
    b = float(np.sum(w * x * i) / sxx)
    c = float(np.sum(w * i) / sw)
    dof = v.size - 2
    s2 = float(np.sum(w * (i - c - b * x) ** 2)) / dof
    var_c, var_b = s2 / sw, s2 / sxx
    if b <= 0 or not math.isfinite(s2):
        return ReversalEstimate(math.nan, math.nan, math.nan, int(v.size))
    r = c / b
    t = two_sided_t(level, dof)
    g = t**2 * var_b / b**2
    if g >= 1:  # the slope is not significantly positive: the zero is unbounded
        return ReversalEstimate(centre - r, math.nan, math.nan, int(v.size))
    half = t / b * math.sqrt(var_c * (1 - g) + r**2 * var_b)
    r_low, r_high = (r - half) / (1 - g), (r + half) / (1 - g)
    return ReversalEstimate(centre - r, centre - r_high, centre - r_low, int(v.size))


def _fit_sweeps(levels: list[Level], low: Level, high: Level, window_mV: float) -> tuple[np.ndarray, np.ndarray]:
    """Holdings and currents of the single sweeps of the bracket's ends and of every level within window_mV of
    its centre (the evoked current is close to linear in the holding there)."""
    centre = 0.5 * (low.holding_mV + high.holding_mV)
    reach = max(window_mV, 0.5 * (high.holding_mV - low.holding_mV))
    chosen = [v for v in levels if abs(v.holding_mV - centre) <= reach]
    holdings = np.array([v.holding_mV for v in chosen for _ in v.currents_pA])
    currents = np.array([i for v in chosen for i in v.currents_pA])
    return holdings, currents


def fitted_zero(levels: list[Level], low: Level, high: Level, window_mV: float, floor_mV: float) -> float:
    """The straight line's zero through the sweeps near the bracket, kept within the bracket (its ends' zero
    crossing when the line has no positive slope)."""
    holdings, currents = _fit_sweeps(levels, low, high, window_mV)
    value = reversal_from_sweeps(holdings, currents, 0.95, floor_mV).value_mV
    if not math.isfinite(value):
        value = zero_crossing(low, high)
    return min(max(value, low.holding_mV), high.holding_mV)


def next_holding(levels: list[Level], step: ReversalStep, ceiling_mV: float, amplifier: str) -> float | None:
    """The next holding of the search, or None when it has converged; StepFailed when it cannot succeed.

    While no level is outward: bisect between the highest holding measured and the ceiling, moving at most
    step_mV (the ceiling itself once within step_mV / 4 of it). Once bracketed: bisect the bracket (the side of a level is the sign of its sweeps, which release
    fluctuations do not flip; their sizes do fluctuate, so false position on them wanders); converged when the
    bracket is within tolerance_mV or at max_levels.
    """
    s = step
    if not levels:
        return s.start_mV
    first = levels[0]
    if len(levels) == 1 and first.mean_pA > -s.min_response_pA:
        raise StepFailed(f"reversal search: no inward synaptic current at {s.start_mV:g} mV (mean "
                         f"{first.mean_pA:.2f} pA, need < -{s.min_response_pA:g} pA): no response to the "
                         "stimulus, nothing to reverse")
    found = bracket(levels)
    if found is None:
        top = max(levels, key=lambda v: v.holding_mV)
        if top.holding_mV >= ceiling_mV or len(levels) >= s.max_levels:
            where = (f"the profile's holding limit, devices.{amplifier}.limits.holding_mV" if top.holding_mV >= ceiling_mV
                     else f"max_levels {s.max_levels} reached")
            raise StepFailed(f"reversal search: the evoked current never reversed up to {top.holding_mV:g} mV "
                             f"({where}); mean {top.mean_pA:.2f} pA there: the reversal lies above "
                             f"{top.holding_mV:g} mV, the steps that need it are not run")
        if ceiling_mV - top.holding_mV <= max(s.step_mV / 4, 2 * s.tolerance_mV):
            return round(ceiling_mV, 3)  # close to the limit: test the limit itself
        return round(min(0.5 * (top.holding_mV + ceiling_mV), top.holding_mV + s.step_mV), 3)
    low, high = found
    width = high.holding_mV - low.holding_mV
    if width <= s.tolerance_mV or len(levels) >= s.max_levels:
        return None
    return round(0.5 * (low.holding_mV + high.holding_mV), 3)


class ReversalAnalysis:
    """Evoked current per sweep, grouped by holding level; the bracket, the reversal estimate, time held depolarized."""

    def __init__(self, step: ReversalStep, ceiling_mV: float = math.inf, amplifier: str = ""):
        self.step = step
        self.ceiling_mV, self.amplifier = ceiling_mV, amplifier
        self.currents: dict[float, list[float]] = {}
        self.noise: dict[float, list[float]] = {}
        self.analysed = 0
        self.depolarized_ms = 0.0
        self._announced = False

    def levels(self) -> list[Level]:
        """Every holding measured so far, in the order first measured."""
        return [Level(holding, tuple(values), tuple(self.noise[holding])) for holding, values in self.currents.items()]

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Measure this sweep's evoked current; publish the reversal once bracketed (and when the search ends)."""
        s = self.step
        self.depolarized_ms += depolarized_ms(plan)
        if plan.meta.role == "settle":
            return AnalysisUpdate()
        current = evoked_current(data[f"{plan.amplifier}.primary"], plan.sample_rate_hz, s.stimulus_ms, s.window_ms,
                                 s.baseline_ms)
        level = plan.meta.holding
        if level is None:
            raise ValueError("the reversal sweep names no holding")
        self.currents.setdefault(level, []).append(current.mean_pA)
        self.noise.setdefault(level, []).append(current.sd_pA)
        self.analysed += 1
        update = AnalysisUpdate([Feature(sweep_index, plan.step_name, "evoked_current_pA", current.mean_pA,
                                         current.mean_pA - Z_95 * current.sd_pA, current.mean_pA + Z_95 * current.sd_pA,
                                         "pA"),
                                 Feature(sweep_index, plan.step_name, "holding_mV", level, level, level, "mV")])
        levels = self.levels()
        found = bracket(levels)
        if found is None:
            return update
        rev, how = self.estimate(levels, found)
        held = (f"held above {DEPOLARIZED_ABOVE_MV:g} mV for {self.depolarized_ms / 1000:.1f} s "
                "(sweeps and the intervals after them)")
        update.estimates.append(Estimate(sweep_index, plan.step_name, "reversal_mV", rev.value_mV, rev.low_mV,
                                         rev.high_mV, "mV", f"{how} ({len(levels)} levels, {self.analysed} sweeps "
                                         f"in all); {held}"))
        if not self._announced and len(self.currents[level]) >= s.sweeps_per_level and self._converged(levels):
            self._announced = True
            update.notices.append(Notice("info", "reversal", f"reversal search done: {rev.value_mV:.2f} mV after "
                                         f"{len(levels)} levels ({self.analysed} measuring sweeps); {held}",
                                         sweep_index))
        return update

    def estimate(self, levels: list[Level], found: tuple[Level, Level]) -> tuple[ReversalEstimate, str]:
        """The reversal from the single sweeps near the bracket (its ends, the levels between them and those within
        fit_window_mV); the bracket itself as the interval while the straight line's interval is unbounded."""
        low, high = found
        holdings, currents = _fit_sweeps(levels, low, high, self.step.fit_window_mV)
        rev = reversal_from_sweeps(holdings, currents, floor_mV=self.step.tolerance_mV)
        span = f"{holdings.min():g} to {holdings.max():g} mV"
        if math.isfinite(rev.low_mV) and math.isfinite(rev.high_mV):
            inward = [v.holding_mV for k, v in enumerate(levels) if v.sign < 0 or k == 0]
            outward = [v.holding_mV for v in levels if v.sign > 0]
            floor, top = max(inward), min(outward, default=math.inf)
            how = (f"zero of a straight line through the evoked currents of the {rev.sweeps} sweeps from {span}, "
                   "Fieller interval from their scatter")
            if floor < top and (rev.low_mV < floor or rev.high_mV > top):  # the signs of single sweeps bound it
                how += f", cut to [{floor:g}, {top:g}] mV where single sweeps were clearly inward / outward"
                rev = ReversalEstimate(rev.value_mV, max(rev.low_mV, floor), min(rev.high_mV, top), rev.sweeps)
            return rev, how
        value = fitted_zero(levels, low, high, self.step.fit_window_mV, self.step.tolerance_mV)
        return (ReversalEstimate(value, low.holding_mV, high.holding_mV, int(holdings.size)),
                f"zero of the straight line through the {holdings.size} sweeps from {span}; interval: the "
                f"bracket (inward at {low.holding_mV:g} mV, outward at {high.holding_mV:g} mV), since the line's "
                "own interval is unbounded with so few sweeps")

    def _converged(self, levels: list[Level]) -> bool:
        try:
            return next_holding(levels, self.step, self.ceiling_mV, self.amplifier) is None
        except StepFailed:
            return False
