"""Progress display for `rig run`: a rich progress bar with the latest estimate (may skip records)."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rig.engine.records import Estimate, Record, SweepEnded


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
            if isinstance(record, SweepEnded) and record.completed:
                self._progress.update(self._task, completed=record.sweep_index + 1)
            elif isinstance(record, Estimate):
                self._latest = f"{record.name} {record.value:.3g} [{record.low:.3g}, {record.high:.3g}] {record.unit}"
                if record.name.startswith("tau"):
                    self._progress.update(self._task, description=f"sweeps  {self._latest}")
