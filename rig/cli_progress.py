"""Progress display for `rig run`: a rich progress bar with the latest estimate (may skip records).

The total is the Runner's planned sweep count as carried by the records: it grows when an adaptive
step runs longer than it planned and, at the end of a completed run, equals the sweeps run, so the
bar never shows more sweeps done than planned.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rig.datatypes.records import Estimate, Record, RunEnded, RunStarted, SweepEnded, SweepStarted


class RunProgress:
    """Shows sweeps done and the latest spine estimate while the run goes."""

    def __init__(self, total_sweeps: int, enabled: bool = True):
        self._console = Console(stderr=True)
        self._enabled = enabled
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=self._console, disable=not enabled)
        self._task = self._progress.add_task("sweeps", total=total_sweeps)
        self._lock = threading.Lock()
        self._latest = ""
        self.total = total_sweeps
        self.done = 0

    def __enter__(self) -> "RunProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def say(self, message: str) -> None:
        """Print a line above the bar."""
        self._console.print(message)

    def handle(self, record: Record) -> None:
        """Update from a record (called on the display consumer's thread)."""
        with self._lock:
            if isinstance(record, RunStarted):
                self._set(total=record.planned_sweeps)
            elif isinstance(record, SweepStarted) and record.n_planned_sweeps >= 0:
                self._set(total=record.n_planned_sweeps)
            elif isinstance(record, RunEnded) and record.n_planned_sweeps >= 0:
                self._set(total=record.n_planned_sweeps)
            elif isinstance(record, SweepEnded) and record.completed:
                self._set(done=record.sweep_index + 1)
            elif isinstance(record, Estimate):
                self._latest = f"{record.name} {record.value:.3g} [{record.low:.3g}, {record.high:.3g}] {record.unit}"
                if record.name.startswith("tau"):
                    self._progress.update(self._task, description=f"sweeps  {self._latest}")

    def _set(self, total: int | None = None, done: int | None = None) -> None:
        if done is not None:
            self.done = max(self.done, done)
        if total is not None:
            self.total = total
        self.total = max(self.total, self.done)
        self._progress.update(self._task, total=self.total, completed=self.done)
