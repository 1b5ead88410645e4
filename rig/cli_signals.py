"""Signals during `rig run`: handlers only set StopFlags; messages and exit codes are derived later.

First SIGINT (Ctrl-C): stop after the current sweep. A second SIGINT, or any SIGTERM, SIGHUP,
SIGQUIT (SIGBREAK, Ctrl-Break, on Windows): stop now. The exit code of a run that received a
signal is 128 + the number of the signal that decided the stop (the first stop-now signal, else
the first SIGINT): 130 SIGINT, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT (149 SIGBREAK on Windows).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, Callable, Union

from rig.engine.stop_flags import StopFlags

_Handler = Union[Callable[[int, Union[FrameType, None]], Any], int, signal.Handlers, None]  # what signal.signal returns

STOP_SIGNAL_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGBREAK")


def stop_signals() -> list[int]:
    """The stop signals this platform has."""
    return [int(getattr(signal, n)) for n in STOP_SIGNAL_NAMES if hasattr(signal, n)]


class SignalGuard:
    """Installs flag-only handlers for the stop signals (main thread only) and can put them back or ignore them."""

    def __init__(self, flags: StopFlags):
        self.flags = flags
        self._previous: dict[int, _Handler] = {}

    def install(self) -> None:
        """Route every stop signal to the flags (only possible on the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in stop_signals():
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        # only flags: no print, no logging, no locks (the main thread may be anywhere, e.g. inside rich or HDF5)
        flags = self.flags
        flags.signals.append(signum)
        if signum != signal.SIGINT or flags.any:
            flags.now = True
        flags.after_sweep = True

    def ignore(self) -> None:
        """Ignore stop signals from now on (the rig is safe; let interpreter shutdown finish undisturbed)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in stop_signals():
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        """Put back the handlers that were installed before."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def deciding_signal(flags: StopFlags) -> int | None:
    """The signal that decided the stop: the first stop-now one, else the first one; None if none came."""
    if not flags.signals:
        return None
    for k, signum in enumerate(flags.signals):
        if signum != signal.SIGINT or k > 0:
            return signum
    return flags.signals[0]


def signal_exit_code(flags: StopFlags) -> int | None:
    """128 + the deciding signal's number, or None when no signal came."""
    signum = deciding_signal(flags)
    return None if signum is None else 128 + signum


def signal_name(signum: int) -> str:
    """'SIGINT', 'SIGTERM', ... for a number."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe(signum: int, first: bool) -> str:
    """The operator's message for a signal that arrived."""
    if signum == signal.SIGINT and first:
        return "Ctrl-C: stopping after this sweep (Ctrl-C again to stop now)"
    return f"{signal_name(signum)}: stopping now"


class Announcer:
    """A thread that prints one message per arrived signal (outside the handler), until stopped."""

    def __init__(self, flags: StopFlags, say: Callable[[str], None], period_s: float = 0.1):
        self._flags = flags
        self._say = say
        self._period_s = period_s
        self._done = threading.Event()
        self._told = 0
        self._thread = threading.Thread(target=self._loop, name="signal-announcer", daemon=True)

    def __enter__(self) -> "Announcer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5.0)
        self.flush()

    def flush(self) -> None:
        """Announce the signals not yet announced."""
        signals = list(self._flags.signals)
        while self._told < len(signals):
            try:
                self._say(describe(signals[self._told], first=self._told == 0))
            except (OSError, ValueError):
                pass  # the terminal is gone (SIGHUP): nothing to tell
            self._told += 1

    def _loop(self) -> None:
        while not self._done.wait(self._period_s):
            self.flush()
