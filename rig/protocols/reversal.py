"""Synaptic reversal search (adaptive): bisect on the sign of single sweeps' evoked currents, then false position.

A sweep's current counts as inward or outward only when it lies beyond SIGN_Z baseline SDs of zero: release
fails often, so a level's mean over two sweeps says little, but the sign of any sweep that released does
(every synapse's current reverses at the same holding, within ~0.3 mV on the simulated rig). The reversal is
the zero of a straight line through the single sweeps near it (Fieller's interval). The search is short on
purpose: holdings near 0 mV drive neck plasticity (SCIENCE.md), so the time held above -20 mV is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import stats

from rig.analysis.evoked_current import evoked_current
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext, StepFailed
from rig.protocols.calcium_scan import (
    DEPOLARIZED_ABOVE_MV,
    StimulusSpec,
    calcium_sweep,
    check_condition,
    check_stimulus,
    depolarized_ms,
)
from rig.protocols.common import AnalysisUpdate, StepBase, StepProblem, resolve_device

SIGN_Z = 3.0  # a sweep's evoked current has a known sign beyond this many baseline SDs from zero


class ReversalStep(StepBase):
    """Find the potential at which stimulation evokes zero synaptic current; later steps read `reversal_mV`."""

    kind: Literal["reversal"]
    start_mV: float = Field(default=-70.0, description="first holding (the evoked current must be inward here)")
    step_mV: float = Field(default=40.0, gt=0, description="largest depolarizing move while no holding has shown an "
                           "outward current (the search bisects towards the highest holding allowed)")
    max_mV: float | None = Field(default=None, description="highest holding; default the profile's limit")
    tolerance_mV: float = Field(default=1.0, gt=0, description="stop when the next holding moves less than half this "
                                "from one measured, or the bracket is this narrow")
    sweeps_per_level: int = Field(default=2, ge=1, le=50, description="measuring sweeps at each holding")
    max_levels: int = Field(default=6, ge=2, le=30, description="most holdings the search may visit")
    fit_window_mV: float = Field(default=15.0, gt=0, description="sweeps within this distance of the reversal enter "
                                 "the straight-line fit (the evoked current is close to linear in the holding there)")
    stimulus: StimulusSpec = StimulusSpec()
    stimulus_ms: float = Field(default=60.0, gt=0)
    sweep_ms: float = Field(default=120.0, gt=0)
    window_ms: tuple[float, float] = Field(default=(1.0, 25.0), description="response window after the stimulus")
    baseline_ms: float = Field(default=30.0, gt=0)
    min_response_pA: float = Field(default=3.0, ge=0, description="smallest mean inward current at start_mV")
    interval_s: float = Field(default=2.0, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"

    @model_validator(mode="after")
    def _windows(self) -> "ReversalStep":
        if self.stimulus_ms + self.window_ms[1] >= self.sweep_ms or self.window_ms[0] >= self.window_ms[1]:
            raise ValueError("window_ms must be increasing and end before sweep_ms")
        if self.baseline_ms >= self.stimulus_ms:
            raise ValueError("baseline_ms must fit before stimulus_ms")
        return self


def _ceiling(step: ReversalStep, profile: HardwareProfile, amp: str) -> float:
    high = profile.devices[amp].limits.holding_mV[1]  # type: ignore[union-attr]
    return min(high, step.max_mV) if step.max_mV is not None else high


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
    t = float(stats.t.ppf(0.5 + level / 2, dof))
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
        if plan.parameters.get("role") == "settle":
            return AnalysisUpdate()
        current = evoked_current(data[f"{plan.amplifier}.primary"], plan.sample_rate_hz, s.stimulus_ms, s.window_ms,
                                 s.baseline_ms)
        level = float(plan.parameters["holding"])
        self.currents.setdefault(level, []).append(current.mean_pA)
        self.noise.setdefault(level, []).append(current.sd_pA)
        self.analysed += 1
        update = AnalysisUpdate([Feature(sweep_index, plan.step_name, "evoked_current_pA", current.mean_pA,
                                         current.mean_pA - 1.96 * current.sd_pA, current.mean_pA + 1.96 * current.sd_pA,
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


class ReversalProgram:
    """Sweeps chosen from the currents measured so far (bisection on their signs); reversal_mV into the context."""

    adaptive = True

    def __init__(self, step: ReversalStep, step_index: int, profile: HardwareProfile, analysis: ReversalAnalysis):
        self.step, self.step_index, self.profile, self.analysis = step, step_index, profile, analysis
        self.amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        self.ceiling = _ceiling(step, profile, self.amp)
        analysis.ceiling_mV, analysis.amplifier = self.ceiling, self.amp
        self.issued = 0  # measuring sweeps handed out
        self.sweeps = 0
        self.queue: list[tuple[float, bool]] = []
        self.done = False

    @property
    def planned_sweeps(self) -> int:
        """The most sweeps the search can take: max_levels levels of one settle and sweeps_per_level sweeps."""
        return self.step.max_levels * (1 + self.step.sweeps_per_level)

    def plan_at(self, holding_mV: float, sweep: int, settle: bool = False) -> SweepPlan:
        """A sweep at one holding with one stimulus; a settle sweep (no stimulus, not analysed) moves the holding."""
        s = self.step
        return calcium_sweep(self.profile, step_index=self.step_index, step_name=s.name or "reversal", kind="reversal",
                             sweep_in_step=sweep, amplifier=self.amp, mode="VC", holding=holding_mV,
                             duration_ms=20.0 if settle else s.sweep_ms, stimulus=None if settle else s.stimulus,
                             stimuli_ms=() if settle else (s.stimulus_ms,), condition=s.condition,
                             parameters={"role": "settle" if settle else "measure"},
                             interval_after_s=max(s.interval_s, 1.0) if settle else s.interval_s,
                             sample_rate_hz=s.sample_rate_hz)

    def envelope(self) -> list[SweepPlan]:
        """The lowest and highest holding the search may use."""
        return [self.plan_at(self.step.start_mV, 0), self.plan_at(self.ceiling, 1)]

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The next sweep: repeat the level, move to the next holding, or finish (reversal_mV into the context)."""
        if self.done:
            return None
        if not self.queue:
            a = self.analysis
            if a.analysed < self.issued:
                raise StepFailed(f"reversal search: {self.issued - a.analysed} sweep(s) could not be analysed "
                                 "(see the notices); the search cannot continue")
            levels = a.levels()
            level = next_holding(levels, self.step, self.ceiling, self.amp)
            if level is None:
                self.done = True
                context.set("reversal_mV", a.estimate(levels, bracket(levels))[0].value_mV,  # type: ignore[arg-type]
                            self.step.name or "reversal")
                return None
            self.queue = [(level, True)] + [(level, False)] * self.step.sweeps_per_level
        level, settle = self.queue.pop(0)
        self.sweeps += 1
        self.issued += 0 if settle else 1
        return self.plan_at(level, self.sweeps - 1, settle)


class ReversalKind:
    """The reversal step kind."""

    schema = ReversalStep

    def check(self, step: ReversalStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier and stimulator exist; the search range lies within the holding limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_stimulus(profile, step.stimulus) + check_condition(step.condition)
        if amp is not None:
            low, high = profile.devices[amp].limits.holding_mV  # type: ignore[union-attr]
            if not low <= step.start_mV <= high:
                problems.append(StepProblem("start_mV", f"{step.start_mV:g} mV is outside the profile limit "
                                            f"[{low:g}, {high:g}] mV (devices.{amp}.limits.holding_mV)"))
            if step.max_mV is not None and step.max_mV <= step.start_mV:
                problems.append(StepProblem("max_mV", "must be above start_mV"))
        return problems

    def compile(self, step: ReversalStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """The envelope (the real sweeps are chosen during the run)."""
        return ReversalProgram(step, step_index, profile, ReversalAnalysis(step)).envelope()

    def analysis(self, step: ReversalStep) -> ReversalAnalysis:
        """A fresh online analysis."""
        return ReversalAnalysis(step)

    def program(self, step: ReversalStep, step_index: int, profile: HardwareProfile,
                analysis: ReversalAnalysis) -> ReversalProgram:
        """The adaptive search."""
        return ReversalProgram(step, step_index, profile, analysis)


KIND = ReversalKind()
