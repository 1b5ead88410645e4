"""What an `until:` step still needs: the sweeps its stopping rule predicts and the dose those sweeps will cost."""

from __future__ import annotations

from dataclasses import dataclass

from rig.config.budgets import BudgetSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.session.dose import Dose, sweep_dose

FEATURE = "sweeps_to_target"  # published after every sweep of a step with `until:` (rig.protocols.stopping)


@dataclass(frozen=True)
class TargetPrediction:
    """After a sweep of a step with a stopping rule: sweeps still needed, the step's sweep budget, their dose."""

    step: str
    sweeps_needed: int
    sweeps_done: int
    sweeps_budget: int
    dose: Dose

    @property
    def beyond_budget(self) -> bool:
        """True when the target is predicted to need more sweeps than the step may take."""
        return self.sweeps_done + self.sweeps_needed > self.sweeps_budget

    def text(self) -> str:
        """'target in ~4 more sweeps (2P 0.012 P²·s, LED 3.1 mJ)' or 'target reached'."""
        if self.sweeps_needed <= 0:
            return f"{self.step}: target reached"
        parts = [f"2P {self.dose.two_photon_fraction2_s:.3g} P²·s"] if self.dose.two_photon_fraction2_s else []
        if self.dose.led_mJ:
            parts.append(f"LED {self.dose.led_mJ:.3g} mJ")
        if self.dose.depolarized_s:
            parts.append(f"depolarized {self.dose.depolarized_s:.3g} s")
        cost = f" ({', '.join(parts)})" if parts else ""
        text = f"{self.step}: target in ~{self.sweeps_needed} more sweep(s){cost}"
        if self.beyond_budget:
            text += f" - beyond its budget of {self.sweeps_budget} sweeps"
        return text


def predict(step: str, sweeps_needed: float, plan: SweepPlan, sweeps_done: int, sweeps_budget: int,
            profile: HardwareProfile, budget: BudgetSpec | None) -> TargetPrediction:
    """The prediction after a sweep, costing each sweep still needed like `plan` (the step's last sweep)."""
    needed = max(0, int(round(sweeps_needed)))
    threshold = budget.depolarized_above_mV if budget is not None else BudgetSpec().depolarized_above_mV
    target = None if plan.target_um is None else (float(plan.target_um[0]), float(plan.target_um[1]))
    one = sweep_dose(plan, profile, threshold, target)
    dose = Dose(one.two_photon_fraction2_s * needed, one.led_mJ * needed, one.depolarized_s * needed)
    return TargetPrediction(step, needed, sweeps_done, sweeps_budget, dose)
