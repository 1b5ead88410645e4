"""The fCaT step kind and its program: sweeps at the reversal (VC) and free-running (CC), built once it is known.

With an `until:` rule (e.g. `{estimate: fcat, relative_half_width: 0.3}`) the conditions alternate in blocks of
`block_sweeps` (the step's `order` says which comes first; `interleaved`: blocks of one) until the rule's
StopWatch says the combined interval is tight enough, each condition at most `sweeps_per_condition` sweeps.

With `min_reversal_releases` the step first runs `sweeps_per_condition` of each condition; then, while fewer CaTs
than that were detected at the reversal, it adds extension rounds (a block of each condition, in the step's
order) up to `max_sweeps_per_condition`. The decision reads only the count of detected reversal CaTs, not the
amplitudes the fCaT is the ratio of.
"""

from __future__ import annotations

import math

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import FcatMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext, StepFailed
from rig.protocols.fcat.analysis import FcatAnalysis
from rig.protocols.fcat.schema import FcatStep
from rig.protocols.shared.calcium_scan import (
    calcium_sweep,
    check_condition,
    check_current,
    check_imaging,
    check_stimulus,
)
from rig.protocols.shared.common import StepProblem, resolve_device
from rig.protocols.stopping import StopWatch


def condition_order(step: FcatStep) -> list[str]:
    """'reversal'/'cc' for every sweep, in blocks or interleaved."""
    n = step.sweeps_per_condition
    if step.order == "blocks":
        return ["reversal"] * n + ["cc"] * n
    if step.order == "blocks_cc_first":
        return ["cc"] * n + ["reversal"] * n
    return ["reversal", "cc"] * n


def block_order(step: FcatStep, block: int) -> list[str]:
    """The conditions of every measuring sweep an `until:` step may run: blocks of `block` sweeps alternating
    (first the step's first condition), each condition capped at sweeps_per_condition."""
    first = condition_order(step)[0]
    pair = [first, "cc" if first == "reversal" else "reversal"]
    left = {c: step.sweeps_per_condition for c in pair}
    order: list[str] = []
    k = 0
    while any(left.values()):
        condition = pair[k % 2]
        n = min(block, left[condition])
        order += [condition] * n
        left[condition] -= n
        k += 1
    return order


def until_block(step: FcatStep) -> int:
    """Measuring sweeps per block under `until:`: the rule's block_sweeps, 1 when interleaved, else a third of
    sweeps_per_condition (at least 2: fCaT needs two sweeps of each condition)."""
    if step.until is not None and step.until.block_sweeps is not None:
        return step.until.block_sweeps
    if step.order == "interleaved":
        return 1
    return extension_block(step)


def extension_block(step: FcatStep) -> int:
    """Sweeps of each condition per extension round (and per `until:` block by default): a third of
    sweeps_per_condition, at least 2 (fCaT needs two sweeps of each condition)."""
    return max(2, math.ceil(step.sweeps_per_condition / 3))


def round_orders(step: FcatStep) -> list[list[str]]:
    """The conditions of the base sweeps, then of every extension round min_reversal_releases may add."""
    rounds = [condition_order(step)]
    if step.min_reversal_releases <= 0 or step.max_sweeps_per_condition is None:
        return rounds
    left = step.max_sweeps_per_condition - step.sweeps_per_condition
    while left > 0:
        n = min(extension_block(step), left)
        rounds.append(condition_order(step.model_copy(update={"sweeps_per_condition": n})))
        left -= n
    return rounds


def fcat_sweep(step: FcatStep, step_index: int, profile: HardwareProfile, sweep: int, condition: str,
               reversal_mV: float, settle: bool = False) -> SweepPlan:
    """One fCaT sweep (or a short settle sweep, no light or stimulus, when the clamp changes)."""
    amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
    vc = condition == "reversal"
    return calcium_sweep(profile, step_index=step_index, step_name=step.name or "fcat", kind="fcat",
                         sweep_in_step=sweep, amplifier=amp, mode="VC" if vc else "CC",
                         holding=reversal_mV if vc else step.cc_holding_pA,
                         duration_ms=20.0 if settle else step.sweep_ms, imaging=None if settle else step.imaging,
                         stimulus=None if settle else step.stimulus, stimuli_ms=() if settle else (step.stimulus_ms,),
                         condition=step.condition, interval_after_s=max(step.interval_s, 1.0) if settle else step.interval_s,
                         meta=SweepMeta(role="settle" if settle else condition,
                                        kind_meta=FcatMeta(step.stimulus_ms)))


class FcatProgram:
    """Plans made at run time from the reversal potential in the RunContext (or the step's fixed holding)."""

    def __init__(self, step: FcatStep, step_index: int, profile: HardwareProfile,
                 analysis: FcatAnalysis | None = None):
        self.step, self.step_index, self.profile = step, step_index, profile
        self.analysis = analysis
        self._plans: list[SweepPlan] | None = None
        self._rounds = round_orders(step)
        self._round_starts: list[int] = []  # plans left when each extension round starts (counted from the end)
        self.watch: StopWatch | None = None
        self.adaptive = False  # True just before an extension round: the decision needs every sweep analysed
        self.extensions_run = 0

    @property
    def planned_sweeps(self) -> int:
        """The sweeps the step expects to run: the measuring sweeps of its base (extension rounds run only when
        too few reversal CaTs are detected; the Runner's count grows when they do) and a settle sweep at every
        clamp change."""
        order = self._rounds[0]
        return len(order) + sum(1 for k, c in enumerate(order) if k == 0 or c != order[k - 1])

    @property
    def measuring_sweeps(self) -> int:
        """Measuring sweeps of the base (settle sweeps left out): both conditions' sweeps_per_condition."""
        return len(self._rounds[0])

    def stop_with(self, watch: StopWatch) -> "FcatProgram":
        """This program, alternating its conditions in blocks and ending once the watch's rule is met or after
        its budget of measuring sweeps (adaptive: each next sweep waits for the analysis of the last)."""
        self.watch = watch
        self.adaptive = True
        self._rounds = [block_order(self.step, until_block(self.step))[:watch.budget]]
        return self

    def envelope(self) -> list[SweepPlan]:
        """VC sweeps at both ends of the allowed holding range and one CC sweep."""
        low, high = self.step.holding_range_mV
        return [fcat_sweep(self.step, self.step_index, self.profile, 0, "reversal", low),
                fcat_sweep(self.step, self.step_index, self.profile, 1, "reversal", high),
                fcat_sweep(self.step, self.step_index, self.profile, 2, "cc", 0.0)]

    def plans_for(self, reversal_mV: float) -> list[SweepPlan]:
        """Every sweep, with a settle sweep wherever the clamp mode or holding changes."""
        plans: list[SweepPlan] = []
        previous: str | None = None
        starts: list[int] = []
        for k, conditions in enumerate(self._rounds):
            if k > 0:
                starts.append(len(plans))
            for condition in conditions:
                if condition != previous:
                    plans.append(fcat_sweep(self.step, self.step_index, self.profile, len(plans), condition,
                                            reversal_mV, settle=True))
                plans.append(fcat_sweep(self.step, self.step_index, self.profile, len(plans), condition,
                                        reversal_mV))
                previous = condition
        self._round_starts = [len(plans) - s for s in starts]
        return plans

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """Plans in order; the first call reads the reversal potential; before each extension round, the count
        of detected reversal CaTs decides whether it runs."""
        if self._plans is None:
            holding = self.step.reversal_holding
            value = context.get("reversal_mV") if holding == "reversal" else float(holding)
            low, high = self.step.holding_range_mV
            if not low <= value <= high:
                raise StepFailed(f"fcat: reversal potential {value:.2f} mV is outside this step's holding_range_mV "
                                 f"[{low:g}, {high:g}] (checked before the run); widen it if that potential is right")
            self._plans = self.plans_for(value)
        if self.watch is not None and self.watch.done:
            return None
        if self._round_starts and len(self._plans) == self._round_starts[0]:
            self._round_starts.pop(0)
            if not self._extend():
                self._plans = []
        plan = self._plans.pop(0) if self._plans else None
        if self.watch is None:
            # wait for the analysis only where the next call decides on an extension round
            self.adaptive = bool(self._round_starts) and len(self._plans) == self._round_starts[0]
        return plan

    def _extend(self) -> bool:
        """True when too few CaTs were detected at the reversal so far: the next extension round runs."""
        if self.analysis is None:
            return False
        wanted = self.step.min_reversal_releases
        detected = self.analysis.reversal_releases_detected()
        if detected >= wanted:
            return False
        self.extensions_run += 1
        block = len(self._rounds[self.extensions_run]) // 2
        last = not self._round_starts
        self.analysis.note(
            f"{detected} of the {wanted} CaTs wanted detected at the reversal (min_reversal_releases): extension "
            f"{self.extensions_run}, {block} more sweeps of each condition"
            + (f" (the last: max_sweeps_per_condition {self.step.max_sweeps_per_condition})" if last else ""))
        return True


class FcatKind:
    """The fCaT step kind."""

    schema = FcatStep
    fixed_plans = False  # the VC holding is the reversal an earlier step finds
    stops_on_until = True  # FcatProgram.stop_with

    def check(self, step: FcatStep, profile: HardwareProfile) -> list[StepProblem]:
        """Devices, imaging, stimulus, holding range and CC holding within the profile's limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_imaging(profile, step.imaging) + check_stimulus(profile, step.stimulus)
        problems += check_condition(step.condition) + check_current(profile, amp, step.cc_holding_pA, 0.0, "cc_holding_pA")
        if amp is not None:
            low, high = profile.amplifier(amp).limits.holding_mV
            if step.holding_range_mV[0] < low or step.holding_range_mV[1] > high:
                problems.append(StepProblem("holding_range_mV", f"{list(step.holding_range_mV)} mV reaches outside "
                                            f"the profile limit [{low:g}, {high:g}] mV (devices.{amp}.limits.holding_mV)"))
        return problems

    def analysis(self, step: FcatStep) -> FcatAnalysis:
        """A fresh online analysis."""
        return FcatAnalysis(step)

    def program(self, step: FcatStep, step_index: int, profile: HardwareProfile, analysis: object) -> FcatProgram:
        """Plans built when the step starts; extension rounds (min_reversal_releases) read the analysis."""
        return FcatProgram(step, step_index, profile, analysis if isinstance(analysis, FcatAnalysis) else None)
