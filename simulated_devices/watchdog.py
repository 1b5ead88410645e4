"""The simulated DAQ's hardware watchdog: a timer in a process of its own, fed through shared memory.

Feeding is one store of a monotonic timestamp into a memory-mapped file that the watchdog
process (simulated_devices/watchdog_process.py) polls: no round-trip, 5-10 us per chunk with
the report of the guarded outputs and the simulated-hardware marks (0.6 us for the feed alone). Like a DAQ board's watchdog, it acts without the program: if the
program is killed or hangs while armed, the process applies the expiration states (light off,
shutter closed, LEDs off, stimulator idle) and writes them to the simulated hardware journal.
"""

from __future__ import annotations

import logging
import mmap
import os
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Mapping

from rig.hal.watchdog import WatchdogExpired
from simulated_devices import watchdog_process as wp

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0  # generous: the machine may be loaded; the process is only polled at the first arm


def _shutdown(proc: subprocess.Popen[bytes], view: memoryview[float], mm: mmap.mmap, path: Path) -> None:
    """Tell the process to exit (expire now if still armed, as a board would once nobody feeds it) and reap it."""
    try:
        command = wp.EXPIRE_NOW if view[wp.ARMED] == 1.0 and view[wp.EXPIRED] == 0.0 else wp.QUIT
        if proc.stdin is not None:
            try:
                proc.stdin.write(command)
                proc.stdin.close()
            except OSError:
                pass  # the process is gone already
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    finally:
        view.release()
        mm.close()
        try:
            path.unlink()
        except OSError:
            pass  # the process removed it


class SimulatedWatchdog:
    """The Watchdog of the simulated rig: arm, feed, disarm, close, and the held values the process reports."""

    def __init__(self, safe_values: Mapping[str, float], timeout_ms: float, journal: Path | None):
        self.timeout_ms = float(timeout_ms)
        self.safe_values = dict(safe_values)
        self._names = list(self.safe_values)
        fd, name = tempfile.mkstemp(prefix="spinerig-watchdog-", suffix=".bin")
        path = Path(name)
        try:
            os.ftruncate(fd, wp.slots(len(self._names)) * 8)
            mm = mmap.mmap(fd, wp.slots(len(self._names)) * 8)
        finally:
            os.close(fd)
        self._view = memoryview(mm).cast("d")
        self._path = path
        args = [sys.executable, str(Path(wp.__file__)), str(path), repr(self.timeout_ms),
                str(journal) if journal is not None else "-", *(f"{n}={v!r}" for n, v in self.safe_values.items())]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, close_fds=True)
        self._finalizer = weakref.finalize(self, _shutdown, self._proc, self._view, mm, path)
        self._ready = False

    @property
    def pid(self) -> int:
        """The watchdog process's pid."""
        return self._proc.pid

    @property
    def alive(self) -> bool:
        """True while the watchdog process runs."""
        return self._proc.poll() is None

    @property
    def armed(self) -> bool:
        """True while the timer runs."""
        return self._view[wp.ARMED] == 1.0

    @property
    def expiries(self) -> int:
        """How often the watchdog has expired since the rig was built."""
        return int(self._view[wp.EXPIRIES])

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self._view[wp.READY] != 1.0:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the simulated watchdog process exited with {self._proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the simulated watchdog process did not start")
            time.sleep(0.005)
        self._ready = True
        try:
            self._path.unlink()  # both sides have it mapped; nothing is left behind even after a kill -9
        except OSError:
            pass  # e.g. Windows keeps mapped files; the process removes it when it exits

    def arm(self) -> None:
        """Start the timer (clearing an earlier expiry); waits for the process the first time."""
        if not self._ready:
            self._wait_ready()
        if not self.alive:  # no watchdog, no light: refuse rather than run unguarded
            raise RuntimeError(f"the simulated watchdog process has exited ({self._proc.returncode})")
        view = self._view
        view[wp.EXPIRED] = 0.0
        view[wp.BUSY] = 0.0
        view[wp.LAST_FEED] = time.monotonic()
        view[wp.ARMED] = 1.0

    def feed(self) -> None:
        """Restart the timeout; WatchdogExpired if the process applied the expiration states."""
        view = self._view
        if view[wp.ARMED] != 1.0:
            return
        if view[wp.EXPIRED] != 0.0:
            raise WatchdogExpired(f"the simulated DAQ watchdog expired (no feed for {self.timeout_ms:g} ms): light "
                                  "off, shutter closed, LEDs off")
        view[wp.LAST_FEED] = time.monotonic()

    def simulating(self, busy: bool) -> None:
        """Enter (True) or leave (False) the simulated hardware's own computation, which is not program time.

        Leaving counts as a feed: the program has control again.
        """
        view = self._view
        if busy:
            view[wp.BUSY] = time.monotonic()
        else:
            view[wp.LAST_FEED] = time.monotonic()
            view[wp.BUSY] = 0.0

    def report(self, held: Mapping[str, float]) -> None:
        """Publish the values the guarded outputs hold (what an expiry overrides); one store per channel."""
        view = self._view
        for i, name in enumerate(self._names):
            view[wp.HELD + i] = held[name]

    def disarm(self) -> None:
        """Stop the timer and clear an expired state."""
        self._view[wp.ARMED] = 0.0
        self._view[wp.EXPIRED] = 0.0

    def close(self) -> None:
        """Stop the process (if still armed it applies the expiration states first) and reap it."""
        self._finalizer()
