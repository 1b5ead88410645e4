"""Read run files, including ones still being written or left by a killed writer (SWMR read)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rig.datatypes.plan_codec import is_full_plan, plan_from_data
from rig.datatypes.sweep_plan import SweepPlan
from rig.storage.layout import FORMAT, RUN_END, channel_group
from rig.storage.lock import WriterLock, read_lock


def _s(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class ValueWithInterval:
    """A stored estimate."""

    sweep: int
    step: str
    name: str
    value: float
    low: float
    high: float
    unit: str
    basis: str
    bound: str = ""
    trend: str = ""


class RunFile:
    """A run file opened for reading; safe while another process writes it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._f = h5py.File(self.path, "r", swmr=True, locking=False)
        if self._f.attrs.get("format") != FORMAT:
            self._f.close()
            raise ValueError(f"{path}: not a spinerig run file")

    def __enter__(self) -> "RunFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._f.close()

    def refresh(self) -> None:
        """See rows appended since opening (while the run is being written)."""
        for ds in ("sweeps", "features", "estimates", "truth", "notices"):
            self._f[ds].refresh()

    def run_end(self) -> dict[str, Any] | None:
        """How the run ended (status, message, times, safety), or None while it runs or if the writer died."""
        ds = self._f[RUN_END]
        ds.refresh()
        raw = ds[()]
        return json.loads(raw.decode("utf-8")) if raw else None

    @property
    def status(self) -> str:
        """'completed', 'stopped', 'aborted', 'error', 'interrupted' (writer died; see `rig recover`) or 'running'.

        Files written before lock files existed say 'running' when their writer died.
        """
        end = self.run_end()
        if end:
            return str(end["status"])
        if self.writer_gone:
            return "interrupted"
        return str(self._f.attrs.get("status", "unknown"))

    @property
    def writer_lock(self) -> WriterLock | None:
        """The lock file of the writer, while it writes or after it died without closing the file."""
        return read_lock(self.path)

    @property
    def writer_gone(self) -> bool:
        """True when the run never ended properly and no live process writes it any more."""
        if self.run_end() is not None or "lock_file" not in self._f.attrs:
            return False
        lock = self.writer_lock
        return lock is None or not lock.writer_alive()

    @property
    def attrs(self) -> dict[str, Any]:
        """File attributes, with the run-end fields (message, ended_utc, safety_json) once the run ended."""
        out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self._f.attrs.items()}
        end = self.run_end()
        if end:
            out |= {"status": end["status"], "message": end["message"], "ended_utc": end["ended_utc"],
                    "ended_unix": end["ended_unix"], "safety_json": json.dumps(end["safety"])}
        return out

    def sweeps(self) -> np.ndarray:
        """The table of completed (stored) sweeps."""
        rows = self._f["sweeps"][:]
        return rows[rows["completed"] == 1]

    @property
    def n_sweeps(self) -> int:
        """Number of completed sweeps stored."""
        return int(self.sweeps().shape[0])

    @property
    def n_planned_sweeps(self) -> int:
        """Sweeps planned: the final count once the run ended, else the count at the start; never below n_sweeps."""
        end = self.run_end() or {}
        planned = end.get("n_planned_sweeps", self._f.attrs.get("n_planned_sweeps", 0))
        return max(int(planned), self.n_sweeps)

    def plans(self) -> list[dict[str, Any]]:
        """The stored plan each sweep executed, by sweep index (sweeps that started), as JSON data: the full plan
        (rig.datatypes.plan_codec; `sweep_plan` rebuilds it) or, in files written before, its summary."""
        return [json.loads(raw.decode("utf-8")) for _, raw in sorted(self._plan_json().items())]

    def _plan_json(self) -> dict[int, bytes]:
        parts: dict[int, list[bytes]] = {}
        for r in self._f["sweep_plans"][:]:  # rows in the order written: a long plan's parts follow each other
            parts.setdefault(int(r["sweep"]), []).append(bytes(r["plan_json"]))
        return {sweep: b"".join(p) for sweep, p in parts.items()}

    def sweep_plan(self, sweep: int) -> SweepPlan:
        """The plan a sweep executed, exactly (waveforms from its stored `out:` channels, checked by digest);
        PlanDecodeError for a file written before plans were stored in full, KeyError for a sweep never started."""
        raw = self._plan_json()[sweep]
        return plan_from_data(json.loads(raw.decode("utf-8")), lambda name: self.sweep_data(sweep, f"out:{name}"))

    def sweep_plans(self) -> list[SweepPlan]:
        """Every executed plan, exactly, by sweep index (see sweep_plan)."""
        return [self.sweep_plan(sweep) for sweep in sorted(self._plan_json())]

    def stores_full_plans(self) -> bool:
        """True when the file stores every executed plan in full (False: summaries of an older version)."""
        raw = self._plan_json()
        return bool(raw) and is_full_plan(json.loads(next(iter(raw.values())).decode("utf-8")))

    def planned(self) -> list[dict[str, Any]]:
        """The plans known before the run: every sweep of fixed steps, the envelope of adaptive ones."""
        return [json.loads(_s(p)) for p in self._f["plans_json"][:]]

    def text(self, name: str) -> str:
        """Stored text: 'protocol_yaml' or 'profile_yaml'."""
        return _s(self._f[name][()])

    def specimen(self) -> dict[str, Any] | None:
        """The simulated specimen's truth, if any."""
        return json.loads(_s(self._f["specimen_json"][()])) if "specimen_json" in self._f else None

    def channels(self) -> list[str]:
        """Stored channels ('in:...' and 'out:...')."""
        out = []
        for direction in ("in", "out"):
            if direction in self._f["channels"]:
                out += [f"{direction}:{n}" for n in self._f["channels"][direction]]
        return out

    def channel_unit(self, channel: str) -> str:
        """Physical unit stored with a channel ('in:...' / 'out:...'); "" in files written before units were."""
        return _s(self._f[channel_group(channel)].attrs.get("unit", ""))

    def sweep_data(self, sweep: int, channel: str) -> np.ndarray:
        """Samples of one channel in one sweep."""
        g = self._f[channel_group(channel)]
        spans = g["spans"][:]
        hit = spans[spans["sweep"] == sweep]
        if hit.size == 0:
            raise KeyError(f"sweep {sweep} has no data on {channel}")
        return g["samples"][int(hit[-1]["start"]):int(hit[-1]["stop"])]

    def estimates(self) -> list[ValueWithInterval]:
        """Every estimate row, in order."""
        rows = self._f["estimates"][:]
        names = rows.dtype.names or ()
        has_bound, has_trend = "bound" in names, "trend" in names  # files before format 1.1 lack them
        return [ValueWithInterval(int(r["sweep"]), _s(r["step"]), _s(r["name"]), float(r["value"]), float(r["low"]),
                                  float(r["high"]), _s(r["unit"]), _s(r["basis"]),
                                  _s(r["bound"]) if has_bound else "", _s(r["trend"]) if has_trend else "")
                for r in rows]

    def features(self) -> list[dict[str, Any]]:
        """Every per-sweep feature row."""
        return [{"sweep": int(r["sweep"]), "step": _s(r["step"]), "name": _s(r["name"]), "value": float(r["value"]),
                 "low": float(r["low"]), "high": float(r["high"]), "unit": _s(r["unit"])}
                for r in self._f["features"][:]]

    def truth_rows(self) -> list[tuple[int, str, float]]:
        """(sweep, name, value) rows of the specimen's truth at each sweep start."""
        return [(int(r["sweep"]), _s(r["name"]), float(r["value"])) for r in self._f["truth"][:]]

    def notices(self) -> list[dict[str, Any]]:
        """Warnings and errors recorded during the run."""
        return [{"sweep": int(r["sweep"]), "level": _s(r["level"]), "source": _s(r["source"]),
                 "message": _s(r["message"])} for r in self._f["notices"][:]]

    def summary(self) -> dict[str, Any]:
        """A summary: status, sweeps, final estimates (last per name, and last per name in every step) and truth.

        Values may be NaN (the open side of a one-sided bound); `json_safe` turns them into None.
        """
        latest: dict[str, ValueWithInterval] = {}
        by_step: dict[str, dict[str, Any]] = {}
        estimates_by_step: dict[str, dict[str, Any]] = {}
        for e in self.estimates():
            latest[e.name] = e
            by_step.setdefault(e.step, {"estimates": {}, "truth": {}})["estimates"][e.name] = _est(e)
            estimates_by_step.setdefault(e.step, {})[e.name] = _est(e)
        truth_by_sweep: dict[int, dict[str, float]] = {}
        for sweep, name, value in self.truth_rows():
            truth_by_sweep.setdefault(sweep, {})[name] = value
        truth: dict[str, float] = {}
        for e in latest.values():
            t = truth_by_sweep.get(e.sweep, {})
            if e.name in t:
                truth[e.name] = t[e.name]
        for e in self.estimates():
            t = truth_by_sweep.get(e.sweep, {})
            if e.name in t:
                by_step[e.step]["truth"][e.name] = t[e.name]
        attrs = self.attrs
        return {
            "path": str(self.path),
            "protocol": attrs.get("protocol_name"),
            "status": self.status,
            "message": attrs.get("message", ""),
            "started_utc": attrs.get("started_utc"),
            "ended_utc": attrs.get("ended_utc"),
            "n_sweeps": self.n_sweeps,
            "n_planned_sweeps": self.n_planned_sweeps,
            "estimates": {name: _est(e) for name, e in latest.items()},
            "estimates_by_step": estimates_by_step,
            "truth": truth if self.specimen() is not None else None,
            "steps": by_step,
            "notices": self.notices(),
            "safety": json.loads(attrs["safety_json"]) if "safety_json" in attrs else None,
            "versions": json.loads(attrs.get("versions_json", "{}")),
        }


def _est(e: ValueWithInterval) -> dict[str, Any]:
    return {"value": e.value, "low": e.low, "high": e.high, "unit": e.unit, "sweep": e.sweep, "basis": e.basis,
            "bound": e.bound, "trend": e.trend, "step": e.step}


def json_safe(value: Any) -> Any:
    """A copy of a summary with every non-finite float as None, so strict JSON parsers accept it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
