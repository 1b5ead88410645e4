"""Live sweep data for display: chunks assembled into the current sweep, previous sweeps and a running average."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rig.datatypes.sweep_plan import SweepPlan


@dataclass
class ChannelHistory:
    """One input channel: the sweep being acquired, recent complete sweeps and their running average."""

    current: np.ndarray
    filled: int = 0
    previous: deque = field(default_factory=lambda: deque(maxlen=5))
    average: np.ndarray | None = None
    n_averaged: int = 0


class SweepBuffers:
    """Assembles DataChunks of 'in:' channels into arrays; tolerant of skipped records (display may drop)."""

    def __init__(self, max_previous: int = 5):
        self.max_previous = max_previous
        self.plan: SweepPlan | None = None
        self.sweep_index = -1
        self.channels: dict[str, ChannelHistory] = {}
        self.version = 0  # bumped on every change, so views redraw only when needed

    def reset(self) -> None:
        """Forget everything (a new run)."""
        self.plan, self.sweep_index, self.channels = None, -1, {}
        self.version += 1

    def start_sweep(self, sweep_index: int, plan: SweepPlan) -> None:
        """A new sweep: fresh current arrays (NaN until samples arrive)."""
        if self.plan is not None and self.plan.n_samples != plan.n_samples:
            self.channels = {}  # a different sweep shape (new step): averages would not line up
        self.plan, self.sweep_index = plan, sweep_index
        for name in plan.inputs:
            hist = self.channels.get(name)
            current = np.full(plan.n_samples, np.nan, dtype=np.float32)
            if hist is None:
                self.channels[name] = ChannelHistory(current, previous=deque(maxlen=self.max_previous))
            else:
                hist.current, hist.filled = current, 0
        self.version += 1

    def add_chunk(self, sweep_index: int, channel: str, first_sample: int, samples: np.ndarray) -> None:
        """Place samples of an input channel ('in:' prefix stripped by the caller) into the current sweep."""
        hist = self.channels.get(channel)
        if hist is None or sweep_index != self.sweep_index:
            return
        stop = min(first_sample + samples.shape[0], hist.current.shape[0])
        hist.current[first_sample:stop] = samples[:stop - first_sample]
        hist.filled = max(hist.filled, stop)
        self.version += 1

    def end_sweep(self, sweep_index: int, completed: bool) -> None:
        """Move a complete sweep to the history and fold it into the running average."""
        if sweep_index != self.sweep_index or not completed:
            return
        for hist in self.channels.values():
            if hist.filled < hist.current.shape[0]:
                continue  # some chunks were skipped by the display lane: not averaged
            done = hist.current.copy()
            hist.previous.append(done)
            if hist.average is None or hist.average.shape != done.shape:
                hist.average, hist.n_averaged = done.astype(np.float64), 1
            else:
                hist.n_averaged += 1
                hist.average += (done - hist.average) / hist.n_averaged
        self.version += 1

    def time_ms(self) -> np.ndarray:
        """Sample times of the current sweep."""
        if self.plan is None:
            return np.zeros(0)
        return np.arange(self.plan.n_samples) * (1000.0 / self.plan.sample_rate_hz)
