"""HDF5 run writer: a lossless stream consumer that writes as the run goes.

The file is opened in SWMR mode once every dataset exists (all channels are known from
the compiled plans), so another process can read it while it is written and a `kill -9`
leaves every flushed sweep readable. A sweep counts as stored once its row is in
`sweeps`; that row is appended only after the sweep's samples are flushed.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rig.engine.records import (DataChunk, Estimate, Feature, Notice, Record, RunEnded, RunStarted, SweepEnded,
                                SweepStarted)
from rig.storage.layout import FORMAT, FORMAT_VERSION, SPAN_ROW, TABLES, channel_group

log = logging.getLogger(__name__)

_STR = h5py.string_dtype()


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _text(s: str, size: int) -> bytes:
    return s.encode("utf-8")[:size]


class Hdf5RunWriter:
    """Writes one run to one HDF5 file."""

    def __init__(self, path: Path, chunk_samples: int = 65536):
        self.path = path
        self._chunk = chunk_samples
        self._file: h5py.File | None = None
        self._sweep_meta: dict[int, tuple[SweepStarted, dict[str, int]]] = {}

    # ----- consumer ------------------------------------------------------------------
    def handle(self, record: Record) -> None:
        """Write one record."""
        if isinstance(record, RunStarted):
            self._start(record)
        elif isinstance(record, SweepStarted):
            self._sweep_meta[record.sweep_index] = (record, {})
            for name, value in (record.truth or {}).items():
                self._append("truth", (record.sweep_index, _text(name, 64), value))
        elif isinstance(record, DataChunk):
            self._append_samples(record)
        elif isinstance(record, SweepEnded):
            self._end_sweep(record)
        elif isinstance(record, Feature):
            self._append("features", (record.sweep_index, _text(record.step_name, 64), _text(record.name, 64),
                                      record.value, record.low, record.high, _text(record.unit, 16)))
        elif isinstance(record, Estimate):
            self._append("estimates", (record.sweep_index, _text(record.step_name, 64), _text(record.name, 64),
                                       record.value, record.low, record.high, _text(record.unit, 16),
                                       _text(record.basis, 256)))
        elif isinstance(record, Notice):
            self._append("notices", (record.sweep_index, _text(record.level, 16), _text(record.source, 64),
                                     _text(record.message, 512)))
        elif isinstance(record, RunEnded):
            self._finish(record)

    def close(self) -> None:
        """Close the file if the run did not end properly (it stays readable)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    # ----- internals -------------------------------------------------------------------
    def _start(self, run: RunStarted) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = h5py.File(self.path, "w", libver="latest")
        f.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "protocol_name": run.protocol_name,
            "protocol_path": run.protocol_path, "profile_path": run.profile_path, "started_utc": _utc(run.started_unix),
            "started_unix": run.started_unix, "status": "running", "versions_json": json.dumps(dict(run.versions)),
            "n_planned_sweeps": len(run.plans),
        })
        f.create_dataset("protocol_yaml", data=run.protocol_text, dtype=_STR)
        f.create_dataset("profile_yaml", data=run.profile_text, dtype=_STR)
        f.create_dataset("plans_json", data=[json.dumps(p.summary()) for p in run.plans], dtype=_STR)
        if run.specimen is not None:
            f.create_dataset("specimen_json", data=json.dumps(run.specimen, default=_jsonable), dtype=_STR)
        channels: dict[str, np.dtype] = {}
        for plan in run.plans:
            for name in plan.inputs:
                channels[f"in:{name}"] = np.dtype("f4")
            for name in plan.outputs:
                channels[f"out:{name}"] = np.dtype("f4")
        for channel, dtype in channels.items():
            g = f.create_group(channel_group(channel))
            g.create_dataset("samples", shape=(0,), maxshape=(None,), dtype=dtype, chunks=(self._chunk,))
            g.create_dataset("spans", shape=(0,), maxshape=(None,), dtype=SPAN_ROW, chunks=(256,))
        for table, dtype in TABLES.items():
            f.create_dataset(table, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(256,))
        f.swmr_mode = True
        self._file = f

    def _append(self, table: str, row: tuple[Any, ...]) -> None:
        ds = self._file[table]  # type: ignore[index]
        n = ds.shape[0]
        ds.resize((n + 1,))
        ds[n] = np.array(row, dtype=ds.dtype)
        ds.flush()

    def _append_samples(self, chunk: DataChunk) -> None:
        g = self._file[channel_group(chunk.channel)]  # type: ignore[index]
        ds = g["samples"]
        meta = self._sweep_meta[chunk.sweep_index][1]
        n = ds.shape[0]
        meta.setdefault(chunk.channel, n)
        ds.resize((n + chunk.samples.shape[0],))
        ds[n:] = chunk.samples

    def _end_sweep(self, end: SweepEnded) -> None:
        started, first = self._sweep_meta.pop(end.sweep_index)
        f = self._file
        assert f is not None
        for channel, start in first.items():
            g = f[channel_group(channel)]
            g["samples"].flush()
            spans = g["spans"]
            k = spans.shape[0]
            spans.resize((k + 1,))
            spans[k] = np.array((end.sweep_index, start, g["samples"].shape[0]), dtype=SPAN_ROW)
            spans.flush()
        plan = started.plan
        self._append("sweeps", (end.sweep_index, plan.step_index, plan.sweep_in_step, end.n_samples,
                                plan.sample_rate_hz, started.started_unix, end.ended_unix, int(end.completed)))

    def _finish(self, end: RunEnded) -> None:
        if self._file is None:
            return
        self._file.close()
        self._file = None
        with h5py.File(self.path, "r+") as f:  # out of SWMR: attributes can be written again
            f.attrs.update({"status": end.status, "message": end.message, "ended_utc": _utc(end.ended_unix),
                            "ended_unix": end.ended_unix, "safety_json": json.dumps(list(end.safety))})
        log.info("run file closed: %s (%s)", self.path, end.status)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
