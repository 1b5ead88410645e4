"""How the Data panel draws a stored sweep: an ephys trace in its unit, a line-scan channel as its kymograph (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from rig.analysis.line_scan import fold_lines

_RUN_NAME = re.compile(r"^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})_(.+)\.h5$")


@dataclass(frozen=True)
class StoredTrace:
    """A channel against time, in its unit."""

    time_ms: np.ndarray
    values: np.ndarray
    unit: str


@dataclass(frozen=True)
class StoredKymograph:
    """A line-scan channel folded into lines: (line, pixel) counts, the sweep's span and the line's length."""

    image: np.ndarray
    duration_ms: float
    line_length_um: float


def ephys_unit(role: str, mode: str | None) -> str:
    """The unit of an amplifier channel: the primary is the current in VC and the voltage in CC; the secondary the
    other."""
    current = (role == "primary") == (mode == "VC")
    return "pA" if current else "mV"


def stored_view(data: np.ndarray, channel: str, sample_rate_hz: float, meta: dict[str, Any] | None
                ) -> StoredTrace | StoredKymograph:
    """The view of one stored sweep's channel ('in:device.role'), from the plan it ran (`sweep_meta` of the summary)."""
    device, _, role = channel.removeprefix("in:").partition(".")
    meta = meta or {}
    t = np.arange(data.shape[0]) * 1000.0 / sample_rate_hz
    if device == meta.get("amplifier"):
        return StoredTrace(t, data, ephys_unit(role, meta.get("amplifier_mode")))
    layout = meta.get("line_scan")
    if isinstance(layout, dict) and data.ndim == 1:
        lines = fold_lines(np.asarray(data, np.float32), int(layout["first_sample"]), int(layout["samples_per_line"]),
                           int(layout["pixels_per_line"]), int(layout["n_slots"]))
        start, end = np.asarray(layout["start_um"], float), np.asarray(layout["end_um"], float)
        return StoredKymograph(lines, data.shape[0] * 1000.0 / sample_rate_hz, float(np.hypot(*(end - start))))
    return StoredTrace(t, data, "")


def run_label(name: str, info: str = "") -> str:
    """'02:03:24  frap' (from the run file's name; the date when not today's is in the tooltip) plus what is known."""
    m = _RUN_NAME.match(name)
    label = f"{m[4]}:{m[5]}:{m[6]}  {m[7]}" if m else name
    return f"{label}  -  {info}" if info else label


def run_info(summary: dict[str, Any]) -> str:
    """'completed 6/6 sweeps, 2 estimates' from a run's summary."""
    n = len(summary.get("estimates", {}))
    return (f"{summary.get('status')} {summary.get('n_sweeps')}/{summary.get('n_planned_sweeps')} sweeps"
            + (f", {n} estimate(s)" if n else ""))
