"""HDF5 run writer: a lossless stream consumer that writes as the run goes.

The file is created exclusively (`create_run_file`: never over another run's file, also when two
processes pick the same name in the same second) before anything moves, with a lock file beside
it naming this process (rig.storage.lock). It is switched to SWMR mode once every dataset exists
(all channels are known from the compiled plans), so another process can read it while it is
written and a `kill -9` leaves every flushed sweep readable. A sweep counts as stored once its row
is in `sweeps`; that row is appended only after the sweep's samples are flushed. The lock is
removed only after a proper close; `rig recover` closes files whose writer died.

Samples go to disk by whole HDF5 chunks (`ChunkAppender`): a chunk is written once it is full,
and the partly filled last chunk of every channel when its sweep ends (benchmarks/bench_storage.py
compares this with `tofile`). Crash safety is unchanged: a sweep's data counts only once its row
is in `sweeps`, and that row still follows the flush of every one of its samples; what a kill
loses is the unwritten tail (< one chunk per channel) of the sweep that was running, never counted.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from h5py import h5s

from rig.datatypes.channels import ChannelSpec
from rig.datatypes.plan_codec import plan_to_data
from rig.datatypes.records import (
    DataChunk,
    Estimate,
    Feature,
    Notice,
    Record,
    RunEnded,
    RunStarted,
    SweepEnded,
    SweepStarted,
)
from rig.storage.layout import (
    FORMAT,
    FORMAT_VERSION,
    PLAN_PART_BYTES,
    RUN_END,
    RUN_END_BYTES,
    SPAN_ROW,
    TABLES,
    channel_group,
)
from rig.storage.lock import LOCK_SUFFIX, create_lock, mark_lock, remove_lock

log = logging.getLogger(__name__)

_STR = h5py.string_dtype()


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _text(s: str, size: int) -> bytes:
    return s.encode("utf-8")[:size]


MAX_NAME_TRIES = 1000
# Chunk cache per dataset: HDF5 2.0 raised the default to 8 MiB, so a file with a dozen channels held
# ~100 MB of cached chunks (RSS grew with the first ~100 MB written, issue 12 item 7). Appends bypass the
# cache (whole-chunk writes); readers need one chunk at a time: 1 MiB holds four of ours (256 KiB).
CHUNK_CACHE_BYTES = 1 << 20


class TableAppender:
    """Appends rows to a 1-d table dataset, written with the dataset's own HDF5 type as the memory type.

    h5py's `ds[n:] = rows` builds a new memory type per write and HDF5 then searches a conversion
    path for it: 3-6x the cost of the write itself for our compound rows.
    """

    def __init__(self, dataset: h5py.Dataset):
        if dataset.ndim != 1:
            raise ValueError(f"{dataset.name}: a table must be 1-d")
        self.dataset = dataset
        self.dtype = dataset.dtype
        self.length = int(dataset.shape[0])
        self._file_type = dataset.id.get_type()

    def append(self, rows: list[tuple[Any, ...]], flush: bool = True) -> None:
        """Append rows (tuples in the table's field order); flushed, i.e. visible to readers, unless told not."""
        if not rows:
            return
        data = np.array(rows, dtype=self.dtype)
        n, k = self.length, len(rows)
        ds = self.dataset.id
        ds.set_extent((n + k,))
        file_space = ds.get_space()
        file_space.select_hyperslab((n,), (k,))
        ds.write(h5s.create_simple((k,)), file_space, data, mtype=self._file_type)
        self.length = n + k
        if flush:
            self.dataset.flush()


class ChunkAppender:
    """Appends rows to one chunked, unfiltered, initially empty dataset by whole chunks (HDF5 H5Dwrite_chunk).

    Writing whole chunks directly bypasses HDF5's chunk cache and selection machinery, which cost
    ~10x `tofile` when every 20 ms chunk of samples was its own resize + write. The last, partly
    filled chunk is mirrored in memory: `commit` writes it padded with zeros to full size (HDF5
    stores edge chunks full-size; rows past the extent are never read) and sets the extent to the
    rows added; later rows complete it in memory and it is written again in place.
    """

    def __init__(self, dataset: h5py.Dataset):
        if dataset.shape[0] != 0 or dataset.chunks is None or dataset.compression or dataset.shuffle \
                or dataset.fletcher32 or dataset.scaleoffset is not None:
            raise ValueError(f"{dataset.name}: whole-chunk appends need an empty, chunked dataset without filters")
        self.dataset = dataset
        self.rows = int(dataset.chunks[0])
        self.item_shape: tuple[int, ...] = tuple(dataset.shape[1:])
        self.dtype = dataset.dtype
        self.length = 0  # rows added
        self._extent = 0  # rows the dataset's extent covers
        self._tail = np.zeros((self.rows, *self.item_shape), dtype=self.dtype)
        self._tail_start = 0  # first row of the chunk being filled
        self._fill = 0  # rows of that chunk filled
        self._zeros = (0,) * len(self.item_shape)

    def add(self, samples: np.ndarray) -> None:
        """Append rows; every chunk they complete is written at once, the rest waits in the tail."""
        block = samples if samples.dtype == self.dtype and samples.flags.c_contiguous else \
            np.ascontiguousarray(samples, dtype=self.dtype)
        if block.shape[1:] != self.item_shape:
            raise ValueError(f"{self.dataset.name}: rows of shape {block.shape[1:]} do not fit items of shape "
                             f"{self.item_shape}")
        k = int(block.shape[0])
        if k == 0:
            return
        pos = 0
        if self._fill:
            pos = min(self.rows - self._fill, k)
            self._tail[self._fill:self._fill + pos] = block[:pos]
            self._fill += pos
        full = (k - pos) // self.rows
        completes_tail = self._fill == self.rows
        if completes_tail or full:
            self._extend(self.length + pos + full * self.rows)
        if completes_tail:
            self._write_chunk(self._tail)
            self._fill = 0
        for _ in range(full):
            self._write_chunk(block[pos:pos + self.rows])
            pos += self.rows
        rest = k - pos
        if rest:
            self._tail[:rest] = block[pos:]
            self._fill = rest
        self.length += k

    def commit(self) -> int:
        """Write the partly filled chunk and set the extent to every row added (not flushed); the row count."""
        self._extend(self.length)
        if self._fill:
            self._tail[self._fill:] = 0
            self.dataset.id.write_direct_chunk((self._tail_start, *self._zeros), self._tail)
        return self.length

    def _extend(self, rows: int) -> None:
        if rows > self._extent:
            self.dataset.id.set_extent((rows, *self.item_shape))
            self._extent = rows

    def _write_chunk(self, data: np.ndarray) -> None:
        self.dataset.id.write_direct_chunk((self._tail_start, *self._zeros), data)
        self._tail_start += self.rows


def create_run_file(out_dir: Path, stem: str) -> tuple[Path, h5py.File]:
    """Create `<stem>.h5` (or `<stem>_1.h5`, ...) in out_dir exclusively, with its lock; return path and open file.

    Exclusive creation (O_EXCL through HDF5's mode 'x') makes two writers choosing the same name
    race-safe: the second one gets FileExistsError and takes the next suffix. OSError (read-only
    folder, ...) propagates.
    """
    for k in range(MAX_NAME_TRIES):
        path = out_dir / (f"{stem}.h5" if k == 0 else f"{stem}_{k}.h5")
        if path.with_name(path.name + LOCK_SUFFIX).exists():
            continue  # a dead writer's lock: leave that name to `rig recover`
        try:
            f = h5py.File(path, "x", libver="latest", rdcc_nbytes=CHUNK_CACHE_BYTES)
        except FileExistsError:
            continue
        try:
            create_lock(path)
        except OSError:
            f.close()
            path.unlink(missing_ok=True)
            raise
        return path, f
    raise FileExistsError(f"{out_dir}: {MAX_NAME_TRIES} run files named {stem}* exist already")


class Hdf5RunWriter:
    """Writes one run to one HDF5 file (created exclusively on RunStarted unless given already open)."""

    def __init__(self, path: Path, chunk_samples: int = 65536, file: h5py.File | None = None):
        """chunk_samples: HDF5 chunk size of a channel, in float32 samples (the same bytes for other items)."""
        self.path = path
        self._chunk = chunk_samples
        self._file: h5py.File | None = file
        self._locked = file is not None
        # One open handle per dataset for the whole run: HDF5 writes cached data when a handle
        # closes, and h5py ignores errors raised while deallocating a handle, so short-lived
        # handles would hide a full disk. Explicit flushes of these handles raise instead.
        self._datasets: dict[str, h5py.Dataset] = {}
        self._appenders: dict[str, ChunkAppender] = {}
        self._tables: dict[str, TableAppender] = {}
        self._sweep_meta: dict[int, tuple[SweepStarted, dict[str, int]]] = {}
        # Simulated truth still being computed (off the acquisition path): written once resolved, never waited
        # for during the run, so computing it never holds up storage and, through it, the next sweep.
        self._pending_truth: list[tuple[int, Mapping[str, float]]] = []
        self.failed = False
        self._failure = ""
        self._captured = io.StringIO()
        self._saved_stderr = sys.stderr

    # ----- consumer ------------------------------------------------------------------
    def handle(self, record: Record) -> None:
        """Write one record; a write fault marks the writer failed and propagates."""
        try:
            self._handle(record)
        except Exception as exc:
            if not self.failed:
                self.failed = True
                self._failure = str(exc)
                # Until close, h5py prints a traceback for every handle it cannot release after a write
                # fault; collect that noise (logging keeps its own stream) and report it as one line.
                self._saved_stderr = sys.stderr
                sys.stderr = self._captured
            raise

    def _handle(self, record: Record) -> None:
        if isinstance(record, DataChunk):  # by far the most frequent record
            self._append_samples(record)
        elif isinstance(record, RunStarted):
            self._start(record)
        elif isinstance(record, SweepStarted):
            self._sweep_meta[record.sweep_index] = (record, {})
            # the executed plan in full: its waveforms by reference to this sweep's `out:` channels (float32, as
            # stored), any other dtype inline; rows of PLAN_PART_BYTES, in order, whose bytes join to the JSON
            plan_json = json.dumps(plan_to_data(record.plan, inline=_not_stored_exactly)).encode("utf-8")
            self._append_rows("sweep_plans", [(record.sweep_index, plan_json[k:k + PLAN_PART_BYTES])
                                              for k in range(0, max(1, len(plan_json)), PLAN_PART_BYTES)])
            if record.truth is not None:
                self._pending_truth.append((record.sweep_index, record.truth))
            self._write_truth(wait=False)
        elif isinstance(record, SweepEnded):
            self._write_truth(wait=False)
            self._end_sweep(record)
        elif isinstance(record, Feature):
            self._append("features", (record.sweep_index, _text(record.step_name, 64), _text(record.name, 64),
                                      record.value, record.low, record.high, _text(record.unit, 16)))
        elif isinstance(record, Estimate):
            self._append("estimates", (record.sweep_index, _text(record.step_name, 64), _text(record.name, 64),
                                       record.value, record.low, record.high, _text(record.unit, 16),
                                       _text(record.basis, 256), _text(record.bound, 8),
                                       _text(record.trend, 256)))
        elif isinstance(record, Notice):
            self._append("notices", (record.sweep_index, _text(record.level, 16), _text(record.source, 64),
                                     _text(record.message, 512)))
        elif isinstance(record, RunEnded):
            self._finish(record)

    def discard(self) -> None:
        """Delete a created file that never received a RunStarted (the run did not start)."""
        if self._file is not None and "protocol_yaml" not in self._file:
            self._file.close()
            self._file = None
            self.path.unlink(missing_ok=True)
            remove_lock(self.path)
            self._locked = False

    def close(self) -> None:
        """Close the file if the run did not end properly; what was flushed stays readable."""
        if self._file is None:
            return
        if self.failed:
            mark_lock(self.path, "storage failed: " + _first_line(self._failure))
        if not self.failed:
            self._saved_stderr, sys.stderr = sys.stderr, self._captured
        try:
            self._appenders.clear()
            self._tables.clear()
            self._datasets.clear()
            self._file.close()
        except (RuntimeError, OSError) as exc:  # e.g. the disk is full: flushed sweeps are already safe
            self._captured.write(f"Traceback\n{exc}\n")
        finally:
            sys.stderr = self._saved_stderr
        noise = self._captured.getvalue().count("Traceback")
        if noise:
            log.error("closed %s after a write failure (%d further HDF5 errors); completed sweeps are kept",
                      self.path, noise)
        self._file = None

    # ----- internals -------------------------------------------------------------------
    def _open_file(self) -> h5py.File:
        """The run file being written; RuntimeError once it is closed."""
        if self._file is None:
            raise RuntimeError(f"run file {self.path} is closed")
        return self._file

    def _start(self, run: RunStarted) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = h5py.File(self.path, "x", libver="latest", rdcc_nbytes=CHUNK_CACHE_BYTES)
            create_lock(self.path)
            self._locked = True
        f = self._file
        f.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION, "protocol_name": run.protocol_name,
            "protocol_path": run.protocol_path, "profile_path": run.profile_path, "started_utc": _utc(run.started_unix),
            "started_unix": run.started_unix, "status": "running", "versions_json": json.dumps(dict(run.versions)),
            "n_planned_sweeps": run.planned_sweeps, "lock_file": self.path.name + LOCK_SUFFIX,
        })
        f.create_dataset("protocol_yaml", data=run.protocol_text, dtype=_STR)
        f.create_dataset("profile_yaml", data=run.profile_text, dtype=_STR)
        # the plans known at the start (their waveforms described by digest; executed ones are in sweep_plans)
        f.create_dataset("plans_json", data=[json.dumps(plan_to_data(p, inline=False)) for p in run.plans],
                         dtype=_STR)
        if run.specimen is not None:
            f.create_dataset("specimen_json", data=json.dumps(run.specimen, default=_jsonable), dtype=_STR)
        channels: dict[str, ChannelSpec] = {}
        for plan in run.plans:
            channels |= plan.recorded_channels()
        for channel, spec in channels.items():
            dtype, item_shape = spec.dtype, spec.item_shape
            g = f.create_group(channel_group(channel))
            g.attrs["unit"] = spec.unit
            # chunks of the bytes of chunk_samples float32 samples (256 KiB by default) whatever the item:
            # 20 frames of 80x80 per chunk, not 10, halves the whole-chunk writes of a camera channel
            rows = max(1, (self._chunk * 4) // spec.item_bytes)
            samples = g.create_dataset("samples", shape=(0, *item_shape), maxshape=(None, *item_shape), dtype=dtype,
                                       chunks=(rows, *item_shape))
            self._datasets[f"{channel}/samples"] = samples
            self._appenders[channel] = ChunkAppender(samples)
            spans = g.create_dataset("spans", shape=(0,), maxshape=(None,), dtype=SPAN_ROW, chunks=(256,))
            self._datasets[f"{channel}/spans"] = spans
            self._tables[f"{channel}/spans"] = TableAppender(spans)
        for table, dtype in TABLES.items():
            rows = max(4, min(256, 65536 // dtype.itemsize))  # chunks of at most ~64 KB
            self._datasets[table] = f.create_dataset(table, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(rows,))
            self._tables[table] = TableAppender(self._datasets[table])
        # The end of the run is written into this fixed-size dataset while still in SWMR mode (attributes
        # cannot change under SWMR, and reopening read-write clashes with readers in the same process).
        self._datasets[RUN_END] = f.create_dataset(RUN_END, shape=(), dtype=f"S{RUN_END_BYTES}")
        f.swmr_mode = True

    def _append(self, table: str, row: tuple[Any, ...]) -> None:
        self._append_rows(table, [row])

    def _append_rows(self, table: str, rows: list[tuple[Any, ...]], flush: bool = True) -> None:
        """Append rows to a table in one write; flushed (visible to readers) unless told otherwise."""
        self._tables[table].append(rows, flush)

    def _append_samples(self, chunk: DataChunk) -> None:
        appender = self._appenders[chunk.channel]
        self._sweep_meta[chunk.sweep_index][1].setdefault(chunk.channel, appender.length)
        appender.add(chunk.samples)

    def _end_sweep(self, end: SweepEnded) -> None:
        started, first = self._sweep_meta.pop(end.sweep_index)
        for channel, start in first.items():
            stop = self._appenders[channel].commit()
            self._append_rows(f"{channel}/spans", [(end.sweep_index, start, stop)], flush=False)
        self._open_file().flush()  # every sample and span; raises if they did not reach the disk
        plan = started.plan
        # the sweep row is the commit mark: appended only once every sample is on disk
        self._append("sweeps", (end.sweep_index, plan.step_index, plan.sweep_in_step, end.n_samples,
                                plan.sample_rate_hz, started.started_unix, end.ended_unix, int(end.completed)))
        self._open_file().flush()

    def _write_truth(self, wait: bool) -> None:
        """Append the truth rows of sweeps whose truth has resolved (all of them, waiting, when `wait`)."""
        still = []
        for sweep, truth in self._pending_truth:
            if wait or getattr(truth, "resolved", True):
                self._append_rows("truth", [(sweep, _text(name, 64), value) for name, value in truth.items()])
            else:
                still.append((sweep, truth))
        self._pending_truth = still

    def _finish(self, end: RunEnded) -> None:
        if self._file is None:
            return
        self._write_truth(wait=True)
        record = {"status": end.status, "message": end.message, "ended_utc": _utc(end.ended_unix),
                  "ended_unix": end.ended_unix, "safety": list(end.safety)}
        if end.n_planned_sweeps >= 0:
            record["n_planned_sweeps"] = end.n_planned_sweeps
        ds = self._datasets[RUN_END]
        ds[()] = json.dumps(record).encode("utf-8")[:RUN_END_BYTES]
        ds.flush()
        self._appenders.clear()
        self._tables.clear()
        self._datasets.clear()
        self._file.close()
        self._file = None
        if self._locked:
            remove_lock(self.path)  # closed properly: no longer needs recovery
        log.info("run file closed: %s (%s)", self.path, end.status)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "write failed"
    if any(k in text for k in ("errno = 28", "errno = 27", "No space left", "File too large")):
        line += " (the disk is full or the file reached its size limit)"
    return line[:300]


def _not_stored_exactly(name: str, wave: np.ndarray) -> bool:
    """True when a plan output's `out:` samples (float32) would not be the waveform itself."""
    return np.asarray(wave).dtype != np.float32 or np.ndim(wave) != 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
