"""The writer's lock file: `<run file>.lock` beside a run file while a process writes it.

It holds the writer's pid, host and start time as JSON, padded to a fixed size when created so that
a later in-place update (the reason a write failed) needs no new disk blocks, even on a full disk.
It is removed only after the run file was closed properly; a lock whose process is gone marks a
file left by kill -9, a crash or a full disk, which `rig recover` closes.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_SUFFIX = ".lock"
LOCK_BYTES = 4096


def lock_path(run_path: Path) -> Path:
    """The lock file of a run file ('x.h5' -> 'x.h5.lock')."""
    return run_path.with_name(run_path.name + LOCK_SUFFIX)


@dataclass(frozen=True)
class WriterLock:
    """Who writes (or wrote) a run file, and why it stopped if the writer said so before dying."""

    pid: int
    host: str
    started_unix: float
    reason: str = ""

    def writer_alive(self) -> bool:
        """True if the writing process may still run: same host and its pid exists (another host: assume alive)."""
        if self.host != socket.gethostname():
            return True
        return pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (a zombie counts as gone)."""
    if pid <= 0:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.exists() and Path("/proc/self").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there; assume the writer may live
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_lock(run_path: Path) -> WriterLock:
    """Create the lock of a run file for this process (exclusively: FileExistsError if one exists)."""
    lock = WriterLock(os.getpid(), socket.gethostname(), time.time())
    fd = os.open(lock_path(run_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, _encode(lock))
        os.fsync(fd)
    finally:
        os.close(fd)
    return lock


def mark_lock(run_path: Path, reason: str) -> None:
    """Record in the lock (in place, no new blocks) why this writer stopped writing; never raises."""
    try:
        current = read_lock(run_path)
        if current is None:
            return
        data = _encode(WriterLock(current.pid, current.host, current.started_unix, reason[:1000]))
        with open(lock_path(run_path), "r+b") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass  # the lock still names the dead writer; recovery gives a generic reason


def read_lock(run_path: Path) -> WriterLock | None:
    """The lock of a run file, or None if there is none (or it is unreadable)."""
    try:
        raw = json.loads(lock_path(run_path).read_bytes().decode("utf-8", "replace").strip() or "{}")
        return WriterLock(int(raw["pid"]), str(raw["host"]), float(raw["started_unix"]), str(raw.get("reason", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_lock(run_path: Path) -> None:
    """Remove the lock (the run file was closed properly)."""
    try:
        lock_path(run_path).unlink()
    except FileNotFoundError:
        pass


def _encode(lock: WriterLock) -> bytes:
    text = json.dumps({"pid": lock.pid, "host": lock.host, "started_unix": lock.started_unix,
                       "reason": lock.reason}).encode("utf-8")
    return text + b" " * max(0, LOCK_BYTES - len(text))
