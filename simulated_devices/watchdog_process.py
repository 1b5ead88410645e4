"""The simulated DAQ's watchdog timer, run as a process of its own (standard library only: it starts fast).

    python watchdog_process.py STATE_FILE TIMEOUT_MS JOURNAL|- CHANNEL=SAFE...

The parent (simulated_devices.watchdog.SimulatedWatchdog) maps STATE_FILE and writes, per chunk,
the time of its last feed and the values the guarded outputs hold. This process polls that
memory; when an armed watchdog has not been fed for TIMEOUT_MS it applies the expiration states
(writes them to the simulated hardware's journal and flags the expiry), as a DAQ board would.
It also notices the parent's death (EOF on stdin, or a new parent pid): an armed watchdog then
still expires on time, and the process exits. A normal close ("q" on stdin) exits at once.

Time the parent spends computing the simulated hardware itself (a chunk of the specimen, which
a real DAQ does in hardware) is not program time: while the parent flags it (BUSY), the timer
runs only if the parent process is stopped (SIGSTOP; read from /proc on Linux) or dead.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import threading
import time
from pathlib import Path

# Slots of the shared float64 array (BUSY: monotonic time the parent entered simulated hardware, 0 outside).
READY, ARMED, LAST_FEED, EXPIRED, EXPIRIES, BUSY, HELD = 0, 1, 2, 3, 4, 5, 6
QUIT, EXPIRE_NOW = b"q", b"x"


def slots(n_channels: int) -> int:
    """Number of float64 slots of the shared state for n guarded channels."""
    return HELD + n_channels


class _Parent:
    """Watches stdin: a command from the parent, or EOF when the parent is gone."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.command = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            self.command = sys.stdin.buffer.read(1)
        except OSError:
            self.command = b""
        self.done.set()


def process_stopped(pid: int) -> bool:
    """True when the process is stopped (state T: SIGSTOP, a debugger); False where /proc does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:][:1] in (b"T", b"t")


def _journal(path: Path | None, event: str, **fields: object) -> None:
    if path is None:
        return
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"t": time.time(), "event": event, **fields}) + "\n")
    except OSError as exc:  # the expiry still takes effect (EXPIRED is set); only its record is lost
        print(f"simulated watchdog: cannot write the journal {path}: {exc}", file=sys.stderr)


def run(state_path: Path, timeout_ms: float, journal: Path | None, safe: dict[str, float]) -> int:
    """Poll the shared state until the parent closes us or dies; apply the expiration states on timeout."""
    names = list(safe)
    with state_path.open("r+b") as fh:
        mm = mmap.mmap(fh.fileno(), slots(len(names)) * 8)
    view = memoryview(mm).cast("d")
    timeout_s = timeout_ms / 1000.0
    poll_s = min(0.01, timeout_s / 20.0)
    idle_poll_s = min(0.1, timeout_s / 5.0)  # disarmed: only the arming needs noticing, well before any expiry
    parent_pid = os.getppid()
    parent = _Parent()
    seen_running = 0.0  # last poll at which the parent was running inside simulated hardware
    alive = True

    def last_feed(now: float) -> float:
        """The last feed, counting the parent's time in simulated hardware as fed while it runs."""
        nonlocal seen_running
        feed = view[LAST_FEED]
        if view[BUSY] > 0.0:
            if alive and not process_stopped(parent_pid):
                seen_running = now
            feed = max(feed, view[BUSY], seen_running)
        return feed

    def expire(cause: str) -> None:
        now = time.monotonic()
        since_ms = (now - last_feed(now)) * 1000.0
        held = {n: view[HELD + i] for i, n in enumerate(names)}
        wall = time.time()  # one clock reading for t and last_feed_t: they must differ by exactly since_feed_ms
        _journal(journal, "watchdog_expired", t=wall, cause=cause, timeout_ms=timeout_ms,
                 since_feed_ms=round(since_ms, 3), last_feed_t=wall - since_ms / 1000.0, held_before=held,
                 applied=safe, pid=os.getpid())
        for i, n in enumerate(names):
            view[HELD + i] = safe[n]
        view[EXPIRIES] += 1
        view[EXPIRED] = 1.0

    def due() -> bool:
        if view[ARMED] != 1.0 or view[EXPIRED] != 0.0:
            return False
        now = time.monotonic()
        return now - last_feed(now) > timeout_s

    view[READY] = 1.0
    try:
        while True:
            if due():
                expire("timeout")
            gone = os.getppid() != parent_pid
            if parent.done.is_set() or gone:
                alive = False
                if parent.command == QUIT and not gone:
                    return 0
                if parent.command == EXPIRE_NOW and view[ARMED] == 1.0 and view[EXPIRED] == 0.0:
                    expire("closed while armed")
                    return 0
                while view[ARMED] == 1.0 and view[EXPIRED] == 0.0:  # the parent died: the board still expires
                    if due():
                        expire("timeout (parent gone)")
                        break
                    time.sleep(poll_s)
                return 0
            parent.done.wait(poll_s if view[ARMED] == 1.0 else idle_poll_s)
    finally:
        view.release()
        mm.close()
        try:
            state_path.unlink()
        except OSError:
            pass  # already removed by the parent


def main(argv: list[str]) -> int:
    """Command-line entry: STATE_FILE TIMEOUT_MS JOURNAL|- CHANNEL=SAFE..."""
    state, timeout, journal, *pairs = argv
    safe = {name: float(value) for name, _, value in (p.partition("=") for p in pairs)}
    return run(Path(state), float(timeout), None if journal == "-" else Path(journal), safe)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
