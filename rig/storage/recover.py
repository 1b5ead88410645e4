"""Close run files whose writer died (kill -9, a crash, a full disk) so that any HDF5 reader opens them.

A writer that dies leaves the superblock's "open for SWMR write" flags set, and plain
`h5py.File(path, "r")` (HDFView, MATLAB) refuses the file until they are cleared. SWMR readers
still see every flushed object, so recovery copies every object of the file through an SWMR read
into a new file created beside it, marks it `interrupted` (status, stored sweeps, reason) and
atomically puts it in place of the original. Nothing is dropped: every stored sweep, table row
and partial sample block is copied as it is. The copy needs free space of about the file's size.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from rig.storage.layout import FORMAT, RUN_END, RUN_END_BYTES
from rig.storage.lock import lock_path, read_lock, remove_lock

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted"


class RecoveryRefused(Exception):
    """The file cannot or must not be recovered (not a run file, writer alive, ...): one line why."""


@dataclass(frozen=True)
class Recovered:
    """What recovery did to one file."""

    path: Path
    status: str
    n_sweeps: int
    reason: str
    changed: bool  # False: the file was already closed properly


def opens_plainly(path: Path) -> bool:
    """True if a plain (non-SWMR) HDF5 read open succeeds."""
    try:
        with h5py.File(path, "r"):
            return True
    except OSError:
        return False


def recover(path: Path | str, force: bool = False) -> Recovered:
    """Close a run file left open by a dead writer; RecoveryRefused if it is no run file or still written.

    `force` recovers even when the lock names a writer that may be alive (a lock from another computer
    cannot be checked); never use it on a file a run is writing.
    """
    path = Path(path)
    closed = _closed_properly(path)  # checked before the SWMR open: HDF5 refuses a second open in one process
    if closed is not None:
        remove_lock(path)
        return closed
    try:
        src = h5py.File(path, "r", swmr=True, locking=False)
    except OSError as exc:
        raise RecoveryRefused(f"{path}: cannot read as a run file ({_line(exc)})") from None
    with src:
        if src.attrs.get("format") != FORMAT:
            raise RecoveryRefused(f"{path}: not a spinerig run file")
        end = _run_end(src)
        lock = read_lock(path)
        if lock is not None and not force and lock.writer_alive() and end is None:
            raise RecoveryRefused(f"{path}: still being written by pid {lock.pid} on {lock.host} "
                                  "(--force if that process is known to be gone)")
        rows = src["sweeps"][:]
        n_sweeps = int(np.count_nonzero(rows["completed"] == 1))
        if end is not None:
            status, reason = str(end["status"]), str(end.get("message", ""))
        else:
            status = INTERRUPTED
            who = f"pid {lock.pid} on {lock.host}" if lock is not None else "its writer"
            reason = lock.reason if lock is not None and lock.reason else (
                f"the run was interrupted: {who} ended without closing the file (killed, crashed or lost power)")
        planned = int(src.attrs.get("n_planned_sweeps", 0))
        temp = path.with_name(f".{path.name}.recovering-{os.getpid()}")
        try:
            with h5py.File(temp, "x", libver="latest") as dst:
                for name in src:
                    src.copy(src[name], dst, name)
                dst.attrs.update({k: v for k, v in src.attrs.items()})
                record = dict(end) if end is not None else {
                    "status": status, "message": reason, "ended_utc": "", "ended_unix": None, "safety": []}
                record.setdefault("n_planned_sweeps", max(planned, n_sweeps))
                record["recovered_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                dst[RUN_END][()] = json.dumps(record).encode("utf-8")[:RUN_END_BYTES]
                dst.attrs.update({"status": status, "n_stored_sweeps": n_sweeps, "interrupted_reason": reason})
            with open(temp, "rb+") as fh:
                os.fsync(fh.fileno())
        except BaseException as exc:  # also Ctrl-C: never leave a half-written copy
            temp.unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            raise RecoveryRefused(f"{path}: could not write the closed copy ({_line(exc)}); "
                                  f"the file is unchanged, free some space and run `rig recover` again") from None
    os.replace(temp, path)
    _fsync_dir(path.parent)
    remove_lock(path)
    log.info("recovered %s: %s, %d stored sweeps", path, status, n_sweeps)
    return Recovered(path, status, n_sweeps, reason, True)


def _closed_properly(path: Path) -> Recovered | None:
    """What a run file says if it opens plainly and its run ended; None otherwise."""
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                return None
            end = _run_end(f)
            if end is None:
                return None
            n_sweeps = int(np.count_nonzero(f["sweeps"][:]["completed"] == 1))
            return Recovered(path, str(end["status"]), n_sweeps, str(end.get("message", "")), False)
    except (OSError, KeyError, ValueError):
        return None


def needs_recovery(path: Path) -> bool:
    """True if the file's writer is gone without closing it (or it was closed but still will not open plainly)."""
    try:
        with h5py.File(path, "r", swmr=True, locking=False) as f:
            if f.attrs.get("format") != FORMAT or "lock_file" not in f.attrs:
                return False
            ended = _run_end(f) is not None
    except OSError:
        return False
    lock = read_lock(path)
    if not ended and lock is not None and lock.writer_alive():
        return False
    return not ended or lock_path(path).exists() or not opens_plainly(path)


def _run_end(f: h5py.File) -> dict | None:
    raw = f[RUN_END][()] if RUN_END in f else b""
    return json.loads(raw.decode("utf-8")) if raw else None


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
