"""Adaptive fCaT (`until:` on fcat) against the fixed protocol, over a seeded spine population (issue 16 item 4).

For each drawn spine (the calibration benchmark's population placed as protocols/fcat.yaml looks) it runs the
protocol as written (reversal search, then sweeps_per_condition sweeps in each condition), and the same with
`steps.1.until: {estimate: fcat, relative_half_width: GOAL}` and a budget of `--budget-factor` x the fixed sweeps
per condition (blocks of a third of the fixed count, alternating, CC first). It prints, side by side, over the
fCaT step: measuring sweeps, 2P dose on the spine (power fraction^2 x s, rig.session.dose), time held depolarized
(whole run, the reversal search included), fcat's final relative half width, coverage of the truth `fcat` at
that sweep, the median bias, the true damage factor at the end; then the ratios adaptive / fixed.

    python benchmarks/bench_adaptive.py --kind fcat --spines 3 --fixed-per-condition 20 --goal 0.6 --workers 6

`--rule releases` compares instead the count rule protocols/fcat.yaml uses (`min_reversal_releases`): a base of
`--base-per-condition` sweeps, then rounds while fewer than `--min-releases` CaTs were detected at the reversal, up
to `--max-per-condition`; it reads no amplitude, so it cannot select the ratio the way a width rule does.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibration_bench.kinds import KINDS  # noqa: E402
from calibration_bench.population import DrawnSpine, draw_spines  # noqa: E402
from calibration_bench.spine_rig import find_target, protocol_overrides, write_spine_profile  # noqa: E402
from rig.api import run_protocol  # noqa: E402
from rig.config.profile import BudgetSpec, load_profile  # noqa: E402
from rig.session.dose import Dose, sweep_dose  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402

FCAT_STEP = 1


@dataclass(frozen=True)
class FcatOutcome:
    """One fCaT run on one spine (the fcat step's figures; depolarization over the whole run)."""

    sweeps: int
    two_photon_fraction2_s: float
    depolarized_s: float
    half_width: float
    covered: bool
    bias: float
    damage_factor: float
    estimated: bool
    truth: float = float("nan")
    absolute_half_width: float = float("inf")
    value: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")


def fcat_outcome(path: Path, profile: Path) -> FcatOutcome:
    """The figures of one run file."""
    spec = load_profile(profile).profile
    threshold = BudgetSpec().depolarized_above_mV
    with RunFile(path) as run:
        estimates = [e for e in run.estimates() if e.name == "fcat"]
        truth_rows = run.truth_rows()
        last = max(s for s, _, _ in truth_rows)
        damage = [v for s, name, v in truth_rows if s == last and name == "damage_factor"]
        fcat_dose, run_dose, measuring, target = Dose(), Dose(), 0, None
        for plan in run.sweep_plans():
            if plan.target_um is not None:
                target = (float(plan.target_um[0]), float(plan.target_um[1]))
            dose = sweep_dose(plan, spec, threshold, target)
            run_dose = run_dose + dose
            if plan.step_index == FCAT_STEP:
                fcat_dose = fcat_dose + dose
                measuring += plan.meta.role != "settle"
        if not estimates:
            return FcatOutcome(measuring, fcat_dose.two_photon_fraction2_s, run_dose.depolarized_s, float("inf"),
                               False, float("nan"), damage[0] if damage else float("nan"), False)
        e = estimates[-1]
        truth = {name: v for s, name, v in truth_rows if s == e.sweep}["fcat"]
        # fcat is cut at 0: there its relative width is unbounded (the spine reads silent, not precise)
        half_width = (e.high - e.low) / 2 / abs(e.value) if e.value != 0 else float("inf")
        return FcatOutcome(measuring, fcat_dose.two_photon_fraction2_s, run_dose.depolarized_s,
                           half_width, e.low <= truth <= e.high, e.value / truth - 1,
                           damage[0] if damage else float("nan"), True, truth, (e.high - e.low) / 2, e.value, e.low,
                           e.high)


@dataclass(frozen=True)
class ReleasesRule:
    """The count rule of protocols/fcat.yaml: base sweeps per condition, then rounds while fewer reversal CaTs."""

    base_per_condition: int
    min_releases: int
    max_per_condition: int


def _run_one(job: tuple[DrawnSpine, str, float, int, float, str, ReleasesRule | None, bool]) -> FcatOutcome:
    spine, mode, goal, fixed_per_condition, budget_factor, folder, releases, absolute = job
    kind = KINDS["fcat"]
    profile = write_spine_profile(kind, find_target(kind), spine, Path(folder) / f"profiles_{mode}")
    # "fixed" is fixed: the protocol file's extension rounds (min_reversal_releases) switched off
    overrides = protocol_overrides(kind, spine) + ["steps.1.min_reversal_releases=0",
                                                   f"steps.1.sweeps_per_condition={fixed_per_condition}"]
    if mode == "adaptive" and releases is not None:
        overrides[-2:] = [f"steps.1.sweeps_per_condition={releases.base_per_condition}",
                          f"steps.1.min_reversal_releases={releases.min_releases}",
                          f"steps.1.max_sweeps_per_condition={releases.max_per_condition}"]
    elif mode == "adaptive":
        overrides[-1] = f"steps.1.sweeps_per_condition={round(budget_factor * fixed_per_condition)}"
        width = "absolute_half_width" if absolute else "relative_half_width"
        overrides.append(f"steps.1.until={{estimate: fcat, {width}: {goal:.4f}, min_sweeps: 4, "
                         f"block_sweeps: {max(2, fixed_per_condition // 3)}}}")
    result = run_protocol(kind.protocol, profile, overrides, out_dir=Path(folder) / mode)
    return fcat_outcome(result.path, profile)


def _width(o: FcatOutcome, absolute: bool) -> float:
    return o.absolute_half_width if absolute else o.half_width


def _summary(label: str, outs: list[FcatOutcome], goal: float, absolute: bool = False) -> dict[str, float]:
    done = [o for o in outs if o.estimated]
    row = {"sweeps": statistics.mean(o.sweeps for o in outs),
           "two_photon": statistics.mean(o.two_photon_fraction2_s for o in outs),
           "depolarized_s": statistics.mean(o.depolarized_s for o in outs),
           "half_width": statistics.median(o.half_width for o in outs),
           "absolute_half_width": statistics.median(o.absolute_half_width for o in outs),
           "coverage": sum(o.covered for o in done) / max(1, len(done)),
           "bias": statistics.median(o.bias for o in done) if done else float("nan"),
           "damage_factor": statistics.mean(o.damage_factor for o in outs),
           "reached": sum(_width(o, absolute) <= goal * (1 + 1e-9) for o in outs) / len(outs)}
    print(f"{label:<9} sweeps {row['sweeps']:5.1f}  2P {row['two_photon']:.4g} P^2 s  depolarized "
          f"{row['depolarized_s']:5.1f} s  half width {100 * row['half_width']:5.1f} % ({row['absolute_half_width']:.3f})  coverage "
          f"{100 * row['coverage']:5.1f} % ({len(done)} with fcat)  bias {100 * row['bias']:+5.1f} %  damage factor "
          f"{row['damage_factor']:.4f}  at target {100 * row['reached']:5.1f} %")
    return row


def compare_fcat(spines: int, seed: int, goal: float | None, quantile: float, fixed_per_condition: int,
                 budget_factor: float, workers: int, releases: ReleasesRule | None = None,
                 absolute: bool = False) -> None:
    """Run both protocols on every spine and print the comparison; goal (the adaptive runs' relative half
    width) None: the `quantile` of the fixed runs' widths. With `releases` the adaptive runs use the count rule
    instead of `until:` (goal then only marks the 'at target' column: the fixed runs' quantile). `absolute`: the
    rule (and goal, and the quantile) on fcat's absolute half width instead of its relative one."""
    drawn = draw_spines(spines, seed)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(max_workers=workers) as pool:
        if releases is not None:
            both = list(pool.map(_run_one, [(s, mode, 0.0, fixed_per_condition, budget_factor, tmp, releases, False)
                                            for s in drawn for mode in ("fixed", "adaptive")]))
            fixed, adaptive = both[0::2], both[1::2]
            widths = sorted(_width(o, absolute) for o in fixed if o.estimated)
            goal = widths[min(len(widths) - 1, int(quantile * (len(widths) - 1) + 0.5))] if widths else float("inf")
        elif goal is None:  # the adaptive runs wait for the fixed runs' widths
            fixed = list(pool.map(_run_one, [(s, "fixed", 0.0, fixed_per_condition, budget_factor, tmp, None,
                                              absolute) for s in drawn]))
            widths = sorted(_width(o, absolute) for o in fixed if o.estimated)
            if not widths:
                raise SystemExit("no fixed run estimated fcat: give --goal")
            goal = widths[min(len(widths) - 1, int(quantile * (len(widths) - 1) + 0.5))]
            adaptive = list(pool.map(_run_one, [(s, "adaptive", goal, fixed_per_condition, budget_factor, tmp, None,
                                                 absolute) for s in drawn]))
        else:  # all runs at once
            both = list(pool.map(_run_one, [(s, mode, goal, fixed_per_condition, budget_factor, tmp, None, absolute)
                                            for s in drawn for mode in ("fixed", "adaptive")]))
            fixed, adaptive = both[0::2], both[1::2]
    rule = (f"{releases.base_per_condition} per condition, then rounds while fewer than {releases.min_releases} "
            f"reversal CaTs, up to {releases.max_per_condition} (at target: the fixed runs' {quantile:.0%} quantile "
            f"{100 * goal:.0f} %)" if releases is not None else
            (f"until fcat's absolute half width <= {goal:.3f}" if absolute else
             f"until fcat's half width <= {100 * goal:.0f} %")
            + f", budget {round(budget_factor * fixed_per_condition)} per condition")
    print(f"fCaT, {spines} spines (seed {seed}); fixed: {fixed_per_condition} sweeps per condition; adaptive: {rule}")
    for spine, fo, ao in zip(drawn, fixed, adaptive):
        print(f"  spine {spine.index:2d} {'silent' if spine.silent else 'active'} p {spine.release_probability:.2f} "
              f"R {spine.neck_resistance_MOhm:6.0f} MOhm: truth {fo.truth:.3f}; fixed {fo.value:.3f} [{fo.low:.3f}, "
              f"{fo.high:.3f}] ({fo.sweeps}); adaptive {ao.value:.3f} [{ao.low:.3f}, {ao.high:.3f}] ({ao.sweeps})")
    f, a = _summary("fixed", fixed, goal, absolute), _summary("adaptive", adaptive, goal, absolute)
    print(f"ratios adaptive/fixed: sweeps {a['sweeps'] / f['sweeps']:.2f}, 2P dose {a['two_photon'] / f['two_photon']:.2f}, "
          f"depolarized {a['depolarized_s'] / f['depolarized_s']:.2f}, median half width "
          f"{a['half_width'] / f['half_width']:.2f} (absolute {a['absolute_half_width'] / f['absolute_half_width']:.2f}), damage factor {a['damage_factor'] / f['damage_factor']:.4f}")
