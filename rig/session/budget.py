"""Per-spine light and depolarization budgets across the runs of a session (the run files' folder).

`session_budget.json` beside the run files keeps, per spine (its target point, within a tolerance), the dose
every sweep that started there delivered. Before a run, the dose its plans will deliver is added to what each
spine already had: a run that would exceed a budget is refused (`on_exceed: refuse`) before anything moves.
During any run, every program is wrapped so that a sweep that would take a spine over a budget never starts
(the step fails with a message naming the spine and the budget); the record is written after every sweep
(atomically), so a killed run still counts what it delivered.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rig.config.budgets import BudgetSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext, StepFailed, StepProgram
from rig.session.dose import Dose, sweep_dose

RECORD_NAME = "session_budget.json"
MAX_RECORD_BYTES = 10_000_000
_LIMITS = (("two_photon_fraction2_s", "power fraction^2 x s of 2P light"), ("led_mJ", "mJ of LED light"),
           ("depolarized_s", "s held above the depolarization threshold"))
_DOSE_PARTS = tuple(f.name for f in fields(Dose))


@dataclass
class SpineDose:
    """What one spine of the session has received."""

    x_um: float
    y_um: float
    dose: Dose = field(default_factory=Dose)
    runs: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """'spine at (1.29, 0.00) um' or 'the cell' for sweeps that targeted no spine."""
        if math.isnan(self.x_um):
            return "the cell (sweeps with no target)"
        return f"spine at ({self.x_um:.2f}, {self.y_um:.2f}) um"


class SessionRecord:
    """The session's per-spine doses, kept in `session_budget.json` in the run folder."""

    def __init__(self, folder: Path, tolerance_um: float):
        self.path = Path(folder) / RECORD_NAME
        self.tolerance_um = tolerance_um
        self.spines: list[SpineDose] = []
        if self.path.is_file():
            if self.path.stat().st_size > MAX_RECORD_BYTES:
                raise ValueError(f"{self.path}: larger than {MAX_RECORD_BYTES} bytes; not a session record")
            for item in json.loads(self.path.read_text(encoding="utf-8")).get("spines", []):
                self.spines.append(SpineDose(float(item["x_um"]), float(item["y_um"]),
                                             Dose(**{k: float(v) for k, v in item["dose"].items()}),
                                             [str(r) for r in item.get("runs", [])]))

    def spine(self, target: tuple[float, float] | None) -> SpineDose:
        """The record of the spine at a target (a new one when none is within the tolerance)."""
        if target is None:
            hit = next((s for s in self.spines if math.isnan(s.x_um)), None)
            if hit is None:
                hit = SpineDose(math.nan, math.nan)
                self.spines.append(hit)
            return hit
        near = [s for s in self.spines if not math.isnan(s.x_um)
                and math.hypot(s.x_um - target[0], s.y_um - target[1]) <= self.tolerance_um]
        if near:
            return min(near, key=lambda s: math.hypot(s.x_um - target[0], s.y_um - target[1]))
        new = SpineDose(float(target[0]), float(target[1]))
        self.spines.append(new)
        return new

    def save(self) -> None:
        """Write the record atomically."""
        data = {"spines": [{"x_um": s.x_um, "y_um": s.y_um, "dose": asdict(s.dose), "runs": s.runs}
                           for s in self.spines]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=RECORD_NAME, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, allow_nan=True)
        os.replace(tmp, self.path)


def over_budget(budget: BudgetSpec, dose: Dose) -> list[str]:
    """Which budgets a spine's dose exceeds, each as 'what: used of allowed'."""
    out = []
    for limit_field, what in _LIMITS:
        limit = getattr(budget, limit_field)
        used = getattr(dose, limit_field)
        if limit is not None and used > limit * (1 + 1e-9):
            out.append(f"{limit_field} {used:.4g} of {limit:g} ({what})")
    return out


class RunBudget:
    """One run's view of the session record: attributes each sweep to its spine and enforces the budgets."""

    def __init__(self, record: SessionRecord, budget: BudgetSpec, profile: HardwareProfile, run_name: str):
        self.record = record
        self.budget = budget
        self.profile = profile
        self.run_name = run_name
        self._last_target: tuple[float, float] | None = None

    def target_of(self, plan: SweepPlan) -> tuple[float, float] | None:
        """The spine a sweep costs: its target, else the run's last target (a settle sweep), else none."""
        if plan.target_um is not None:
            self._last_target = (float(plan.target_um[0]), float(plan.target_um[1]))
        return self._last_target

    def predicted_problems(self, plans: Iterable[SweepPlan], step_planned_sweeps: Sequence[int] | None = None
                           ) -> list[str]:
        """Spines the whole run's plans would take over a budget (each with what it had before).

        `plans` are the steps' envelopes; a step that may run more sweeps than its envelope holds (an adaptive
        step: the reversal search, fCaT, `until:`), per `step_planned_sweeps`, is charged its most costly
        envelope sweep (each dose part's maximum) for every sweep beyond: the run is refused when it could
        exceed a budget, the reversal search's time held depolarized included."""
        added: dict[int, tuple[SpineDose, Dose]] = {}
        by_step: dict[int, list[tuple[SpineDose, Dose]]] = {}
        for plan in plans:
            target = self.target_of(plan)
            spine = self.record.spine(target)
            dose = sweep_dose(plan, self.profile, self.budget.depolarized_above_mV, target)
            before = added.get(id(spine), (spine, Dose()))[1]
            added[id(spine)] = (spine, before + dose)
            by_step.setdefault(plan.step_index, []).append((spine, dose))
        self._last_target = None
        for step_index, charged in by_step.items():
            planned = step_planned_sweeps[step_index] if step_planned_sweeps is not None \
                and step_index < len(step_planned_sweeps) else len(charged)
            extra = planned - len(charged)
            if extra > 0:
                spine = charged[-1][0]
                worst = Dose(*(max(getattr(d, f) for _, d in charged) * extra for f in _DOSE_PARTS))
                added[id(spine)] = (spine, added.get(id(spine), (spine, Dose()))[1] + worst)
        problems = []
        for spine, run_dose in added.values():
            for text in over_budget(self.budget, spine.dose + run_dose):
                problems.append(f"{spine.label}: this run could bring {text}")
        return problems

    def charge(self, plan: SweepPlan) -> None:
        """Add a sweep about to start to its spine; StepFailed (the sweep does not start) if it exceeds a budget."""
        target = self.target_of(plan)
        spine = self.record.spine(target)
        after = spine.dose + sweep_dose(plan, self.profile, self.budget.depolarized_above_mV, target)
        exceeded = over_budget(self.budget, after)
        if exceeded:
            raise StepFailed(f"budget reached for the {spine.label}: the next sweep would bring "
                             f"{'; '.join(exceeded)}")
        spine.dose = after
        if self.run_name not in spine.runs:
            spine.runs.append(self.run_name)
        self.record.save()


class BudgetedProgram:
    """Any step program, each of its plans charged to its spine's budget before it runs."""

    def __init__(self, inner: StepProgram, budget: RunBudget):
        self.inner = inner
        self.budget = budget
        self.step_index = inner.step_index

    @property
    def adaptive(self) -> bool:
        """The inner program's, asked at every plan (a program may wait for its analysis only at some sweeps)."""
        return self.inner.adaptive

    @property
    def planned_sweeps(self) -> int:
        """The inner program's."""
        return self.inner.planned_sweeps

    def envelope(self) -> list[SweepPlan]:
        """The inner program's."""
        return self.inner.envelope()

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """The inner program's next plan, charged to its spine (StepFailed when over budget)."""
        plan = self.inner.next_plan(context)
        if plan is not None:
            self.budget.charge(plan)
        return plan
