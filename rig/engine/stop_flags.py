"""Stop requests a signal handler may set: plain attributes, importable before anything heavy is loaded."""

from __future__ import annotations


class StopFlags:
    """Stop requests as plain attributes, so a signal handler can set them without locks or I/O.

    `after_sweep`: finish the current sweep, then stop. `now`: stop mid-sweep. `signals`: numbers of the
    signals that asked, in order (appended by the handler; read later to announce and pick the exit code).
    """

    def __init__(self) -> None:
        self.after_sweep = False
        self.now = False
        self.signals: list[int] = []

    @property
    def any(self) -> bool:
        """True once any stop was asked for."""
        return self.after_sweep or self.now
