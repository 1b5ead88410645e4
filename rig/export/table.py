"""One table of final estimates over run files: a row per file, spine, step and estimate (pandas)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rig.export.run_view import RunView

COLUMNS = ("file", "protocol", "status", "step", "spine_x_um", "spine_y_um", "spine_index", "estimate", "value",
           "low", "high", "bound", "unit", "sweeps", "published_after_sweep", "trend", "truth", "basis")


def _nan(value: float | None) -> float:
    return math.nan if value is None or not math.isfinite(value) else float(value)


def estimates_table(paths: Sequence[Path]) -> pd.DataFrame:
    """Final estimate of each name in each step of each run, with its spine, sweep count and (simulated) truth."""
    rows: list[dict[str, object]] = []
    for path in paths:
        with RunView(path) as view:
            by_index = {s.index: s for s in view.sweeps}
            spine_index = {sweep: value for sweep, name, value in view.truth_rows() if name == "spine_index"}
            for e in view.final_estimates():
                sweeps_of_step = [s for s in view.sweeps if s.step_name == e.step and s.index <= e.sweep]
                targets = [s.target_um for s in sweeps_of_step if s.target_um is not None]
                target = targets[-1] if targets else (by_index[e.sweep].target_um if e.sweep in by_index else None)
                rows.append({
                    "file": str(path), "protocol": str(view.attrs.get("protocol_name", "")),
                    "status": view.run.status, "step": e.step,
                    "spine_x_um": math.nan if target is None else target[0],
                    "spine_y_um": math.nan if target is None else target[1],
                    "spine_index": spine_index.get(e.sweep, math.nan), "estimate": e.name,
                    "value": _nan(e.value), "low": _nan(e.low), "high": _nan(e.high), "bound": e.bound,
                    "unit": e.unit, "sweeps": len(sweeps_of_step), "published_after_sweep": e.sweep,
                    "trend": e.trend, "truth": _nan(e.truth), "basis": e.basis})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_table(table: pd.DataFrame, out: Path) -> None:
    """Write as CSV or Parquet by the file's suffix (Parquet needs pyarrow)."""
    if out.suffix.lower() == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)
