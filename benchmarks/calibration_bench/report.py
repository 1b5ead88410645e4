"""The benchmark's table (rich or plain text) and docs/calibration.md."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from calibration_bench.budget import JUDGEABLE_SPINES
from calibration_bench.kinds import KindSpec, default_kinds
from calibration_bench.population import PopulationRanges
from calibration_bench.scoring import RESOLVABLE_HALF_WIDTHS, TREND_TOLERANCE
from calibration_bench.spine_rig import WATCHDOG_TIMEOUT_MS, KindTarget
from calibration_bench.summary import FAIL, Row, SpineResult, format_fraction
from calibration_bench.targets import BIAS_TARGETS, COVERAGE_TARGET, DELIVERY_TARGET

COLUMNS = ("kind", "step", "estimate", "spines", "delivered", "bias", "abs bias", "coverage", "width", "changing",
           "target", "status")


def _signed(value: float | None, fmt: str, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:{fmt}}" + (f" {unit}" if unit and unit != "1" else "")


def row_cells(row: Row) -> list[str]:
    """The table cells of one row."""
    delivered = f"{row.n_delivered}/{row.n_spines} ({format_fraction(row.delivered_fraction)})"
    if row.n_bounds:
        delivered += f", {row.n_bounds} bound(s)"
    if row.n_delivered_as_bound:
        delivered += f", {row.n_delivered_as_bound} as {row.delivered_as}"
    if row.n_own_delivered and not row.n_with_truth:
        coverage = "no truth"
    elif row.n_with_truth:
        coverage = f"{row.n_covered}/{row.n_with_truth} ({format_fraction(row.coverage)})"
        if row.n_no_interval:
            coverage += f", {row.n_no_interval} without interval"
    else:
        coverage = "-"
    width = format_fraction(row.median_relative_width)
    if row.unit == "mV" and row.median_absolute_width is not None:
        width += f" ({row.median_absolute_width:.2g} mV)"
    changing = (f"{row.n_truth_changed} changed ({row.n_change_resolvable} resolvable, {row.n_resolvable_reported} "
                f"of them reported), {row.n_trend_reported} reported"
                if row.n_truth_changed or row.n_trend_reported else "-")
    target = "; ".join(f"{c.what} {c.target}" for c in row.checks) or "-"
    failed = [c.what for c in row.checks if c.status == FAIL]
    status = row.status + (f" ({', '.join(failed)})" if failed else "")
    name = row.name + (" *" if row.headline else "")
    return [row.kind, row.step, name, row.stratum, delivered, _signed(row.median_relative_bias, "+.1%"),
            _signed(row.median_absolute_bias, "+.3g", row.unit), coverage, width, changing, target, status]


def print_table(rows: Sequence[Row], plain: bool = False) -> None:
    """Print the table: rich if available (and not `plain`), else aligned text."""
    cells = [row_cells(r) for r in rows]
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if not plain:
        table = Table(title="Calibration of the online estimators (* headline estimate)", show_lines=False)
        for c in COLUMNS:
            table.add_column(c, overflow="fold")
        for r, line in zip(rows, cells):
            style = {"PASS": "green", "FAIL": "red", "n.s.": "yellow"}.get(r.status, "")
            table.add_row(*line[:-1], f"[{style}]{line[-1]}[/]" if style else line[-1])
        Console(width=240).print(table)
        return
    widths = [max(len(c), *(len(line[i]) for line in cells)) if cells else len(c) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    for line in cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))


def markdown_table(rows: Sequence[Row]) -> str:
    """The table as GitHub markdown."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = [c.replace("|", "\\|") for c in row_cells(r)]
        cells[-1] = f"**{cells[-1]}**" if r.status == FAIL else cells[-1]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


@dataclass(frozen=True)
class RunInfo:
    """How the table was made."""

    command: str
    date: str
    revision: str
    seed: int
    workers: int
    wall_s: float
    ranges: PopulationRanges
    sizing: str = ""  # the --budget-min sizes and their predicted wall time


def _common_notices(results: Sequence[SpineResult], top: int = 4) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for r in results:
        if r.score is None:
            continue
        seen = {re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?!\w)", "#", n.partition(": ")[2]) for n in r.score.notices}
        counts.update(seen)
    return counts.most_common(top)


def _spine_lines(results: Sequence[SpineResult]) -> list[str]:
    out = ["| spine | R_neck MOhm | V um3 | p | silent | run | wall, CPU s | estimates: value [low, high] / truth |",
           "|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.spine
        if r.score is None:
            run, estimates = "not run", r.error.replace("|", "\\|")
        else:
            run = f"{r.score.status}, {r.score.n_sweeps} sweeps"
            parts = []
            for e in r.score.estimates:
                truth = "no truth" if e.truth is None else f"{e.truth:.4g}"
                interval = {"lower": f"[>= {e.low:.4g}]", "upper": f"[<= {e.high:.4g}]"}.get(
                    e.bound, f"[{e.low:.4g}, {e.high:.4g}]")
                trend = f" (trend: {e.trend})" if e.trend else ""
                parts.append(f"{e.step}/{e.name} {e.value:.4g} {interval} / {truth}{trend}")
            estimates = "; ".join(parts) or "none"
        out.append(f"| {s.index} | {s.neck_resistance_MOhm:.0f} | {s.head_volume_um3:.3f} | "
                   f"{s.release_probability:.2f} | {'yes' if s.silent else 'no'} | {run} | "
                   f"{r.wall_s:.0f}, {r.cpu_s:.0f} | "
                   f"{estimates} |")
    return out


def markdown_document(info: RunInfo, kinds: Sequence[KindSpec], targets: dict[str, KindTarget],
                      rows: Sequence[Row], results: Sequence[SpineResult]) -> str:
    """docs/calibration.md: the table, the command that made it, the date, the population and per-kind notes."""
    by_kind = {k.key: [r for r in results if r.kind == k.key] for k in kinds}
    lo, hi = COVERAGE_TARGET
    lines = [
        "# Calibration of the online estimators",
        "",
        f"Generated by `{info.command}` on {info.date} (revision {info.revision}; seed {info.seed}, "
        f"{info.workers} worker(s), {info.wall_s / 60:.1f} min wall). Regenerate with the same command; "
        "this file is overwritten.",
        "",
        "## How to read the table",
        "",
        "- One row per estimate of each step of each kind's protocol, over one group of spines (`spines`). "
        "`*` marks a headline estimate (issue 11: delivered on >= "
        f"{DELIVERY_TARGET:.0%} of the spines where it is defined).",
        "- **delivered**: spines whose run ended with a finite value of this estimate (two-sided) or a finite "
        "one-sided bound, out of the spines of the group. A run that failed counts as not delivered.",
        "- **truth**: the run file's per-sweep truth of the *same name*, at the start of the sweeps the final "
        "estimate rests on (its step's sweeps up to the sweep it was published after that gave the step's analysis "
        "a feature or an estimate: a no-stimulus reference sweep is not one of them); their mean, or, when "
        f"the truth changed by more than {TREND_TOLERANCE:.0%} over those sweeps (plasticity, photodamage), "
        "the last sweep's: the spine as it is when the operator reads the estimate. `no truth`: the file "
        "has no truth of that name (a defect of the truth, reported, not hidden).",
        "- **bias**: median of estimate / truth - 1; **abs bias**: median of estimate - truth (unit of the "
        "estimate); over two-sided estimates with truth.",
        f"- **coverage**: how often the 95 % interval contains the truth (target {lo:.0%}-{hi:.0%}); a one-sided "
        "bound covers when the truth is on its side (rows of bounds only: >= 90 %). An estimate without an "
        "interval counts as not covering. **width**: median (high - low) / |value|.",
        f"- **changing**: spines whose truth changed by more than {TREND_TOLERANCE:.0%} over the estimate's sweeps; "
        f"of them, those whose change is *resolvable* (the truth's range exceeds {RESOLVABLE_HALF_WIDTHS:.2f} half "
        "widths of the published 95 % interval: about the size a straight line over evenly spaced sweeps detects "
        "at p < 0.05 half the time) and how many of those the estimate reported as a trend; last, all spines "
        "whose estimate reported a trend (issue 11 item 4: a spine that changes is reported as changing). A change "
        "that is not resolvable is real in the simulated spine (photodamage, plasticity) but smaller than the "
        "sweeps' noise can show; no trend report is expected, and the estimate is still compared with the last "
        "sweep's truth (its interval must be wide enough to hold it).",
        "- **status**: PASS when every target of the row is met; FAIL when one is not; `n.s.` when a coverage "
        "lies outside the target range but its exact 95 % binomial interval still reaches the range, or a median "
        "bias misses its target but the median's distribution-free 95 % interval (order statistics; none with "
        "fewer than 6 spines) still reaches it (too few spines to tell). Delivery is judged on the observed "
        "fraction. `not defined`: the quantity does not exist on those spines (a spine drawn Ca-silent, with few "
        "NMDA receptors, gives no NMDA CaT to take a ratio of: it is reported as silent with `fcat_upper_bound` and "
        "`head_depolarization_upper_bound_mV`, the headlines there; fCaT strata follow the drawn silence because "
        "with the co-released synapses in the truth no drawn spine's true fcat is below SCIENCE.md's 0.05).",
        "- FRAP bounds: a spine whose tau the step's recovery does not resolve (the recovery shorter than the upper "
        "end of tau's interval) gets `tau_frap_lower_bound_ms` and `neck_resistance_lower_bound_MOhm` instead of "
        "`tau_frap_ms` and `neck_resistance_MOhm`. Over all spines such a spine counts as delivered by its bound "
        "(`1 as tau_frap_lower_bound_ms` in the delivered column; issue 11 item 5, bounds are bounds); on the issue's "
        "range (tau 20-1000 ms) only the two-sided estimate delivers. The bound rows are judged on their own coverage.",
        "- Na/Ca strata: the spines are split on the true `tau_na_ms` at two sodium frames (the protocol's 500 Hz "
        "alternates two LEDs: a sodium frame every 4 ms). Where the decay is faster, its halving falls between "
        "frames and the data can only bound it: there `tau_na_ms` and `na_half_decay_ms` count as delivered by "
        "their one-sided upper bounds too (`k as <bound>` in the delivered column; issue 11 item 5, bounds are "
        "bounds), while the bound rows are judged on their own coverage. Above two frames only the two-sided "
        "estimates deliver. The cut is on the truth, not on what the analysis chose to publish.",
        "- Targets (issue 11): " + "; ".join(f"{t.step_kind} `{t.name}` ({t.stratum}): |median bias| {t.describe()}"
                                            for t in BIAS_TARGETS) + ".",
        "",
        "## Population",
        "",
        f"- {info.ranges.describe()}.",
        "- Each spine replaces the profile's spine that the protocol targets, head centred on the protocol's "
        "target point (same side and y): the neck length is what puts the head there, the neck radius what "
        "gives the drawn R_neck (diffusional time constants depend on R_neck and V only: "
        "tau = R_neck V / (rho_i D)). Other spines, bath, optics: as the kind's profile.",
        "- The analysis is given the head volume an operator would: the true volume times (1 + rel_sd)^z, "
        "z the spine's drawn normal quantile, rel_sd the protocol's stated head-volume uncertainty.",
        f"- The simulated DAQ watchdog's timeout is set to {WATCHDOG_TIMEOUT_MS / 1000:g} s where the profile schema "
        "has `daq.watchdog_timeout_ms` (it counts wall time; a worker stalled on a shared machine otherwise "
        "ends its run with WatchdogExpired, which says nothing about the estimators).",
        "- Kinds that draw the same number of spines draw the same spines (spine i of a seed is one spine); each "
        "spine's rig noise has its own seed.",
        "",
        "- Without `--spines` or `--budget-min` each kind draws its own default number (sized from the CPU time "
        "per spine measured on 2026-12-02 to take ~20 min on 2 idle cores): "
        + ", ".join(f"{k.key} {k.default_spines}" for k in default_kinds()) + ". `--budget-min M` sizes every "
        "kind not named in `--spines` to fit M minutes (n ~ 1 / sqrt(cost per spine): the sizes that minimise the summed "
        "sampling variance of the coverages; "
        f"benchmarks/calibration_bench/budget.py); a coverage of 90-98 % can pass only from about "
        f"{JUDGEABLE_SPINES} spines."
        + (f" This run: {info.sizing}." if info.sizing else ""),
        "",
        "## Kinds",
        "",
        "| kind | protocol | profile (spine replaced) | overrides | runs completed | per spine: wall, CPU |",
        "|---|---|---|---|---|---|",
    ]
    for k in kinds:
        rs = by_kind[k.key]
        done = sum(1 for r in rs if r.score is not None and r.score.status == "completed")
        wall = sum(r.wall_s for r in rs) / len(rs) if rs else 0.0
        cpu = sum(r.cpu_s for r in rs) / len(rs) if rs else 0.0
        t = targets.get(k.key)
        replaced = f" ('{t.replaced.name}' at {t.point_um[0]:g}, {t.point_um[1]:g} um)" if t else ""
        lines.append(f"| {k.key} | protocols/{k.protocol.name} | {k.profile.name}{replaced} | "
                     f"{k.describe_overrides()} | {done}/{len(rs)} | {wall:.0f} s, {cpu:.0f} s |")
    lines += ["", "## Results", "", markdown_table(rows), "", "## Notes per kind", ""]
    for k in kinds:
        rs = by_kind[k.key]
        lines += [f"### {k.title} (`{k.key}`)", ""]
        if k.note:
            lines.append(f"- Setup: {k.note}.")
        errors = [f"spine {r.spine.index}: {r.error or (r.score.status + ' ' + r.score.message)}"
                  for r in rs if r.score is None or r.score.status != "completed"]
        if errors:
            lines.append("- Runs that did not complete: " + "; ".join(errors) + ".")
        no_truth = sorted({f"{row.step}/{row.name}" for row in rows
                           if row.kind == k.key and row.n_own_delivered and not row.n_with_truth})
        if no_truth:
            lines.append("- Estimates without a truth of the same name: " + ", ".join(f"`{n}`" for n in no_truth)
                         + ".")
        fails = sorted({f"{row.step}/{row.name}" for row in rows if row.kind == k.key and row.status == FAIL})
        if fails:
            lines.append("- Rows failing a target: " + ", ".join(f"`{n}`" for n in fails) + ".")
        common = _common_notices(rs)
        if common:
            lines.append("- Most common notices (spines with it): "
                         + "; ".join(f"\"{m}\" ({c})" for m, c in common) + ".")
        lines += ["", "<details><summary>per spine</summary>", "", *_spine_lines(rs), "", "</details>", ""]
    return "\n".join(lines) + "\n"
