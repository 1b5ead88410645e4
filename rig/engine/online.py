"""The online model consumer: gathers each sweep's data and runs its step's analysis off the acquisition thread."""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from rig.datatypes.records import DataChunk, Notice, Record, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.stream import Stream

log = logging.getLogger(__name__)


class OnlineModel:
    """Consumer that feeds completed sweeps to per-step analyses and publishes their results."""

    def __init__(self, stream: Stream, analysis_for_step: Callable[[int], Any]):
        self._stream = stream
        self._analysis_for_step = analysis_for_step
        self._analyses: dict[int, Any] = {}
        self._plan: SweepPlan | None = None
        self._chunks: dict[str, list[np.ndarray]] = {}

    def handle(self, record: Record) -> None:
        """Buffer a sweep's inputs; analyse it when it completes."""
        if isinstance(record, SweepStarted):
            self._plan = record.plan
            self._chunks = {}
        elif isinstance(record, DataChunk) and record.channel.startswith("in:") and self._plan is not None:
            self._chunks.setdefault(record.channel[3:], []).append(record.samples)
        elif isinstance(record, SweepEnded) and self._plan is not None:
            plan, self._plan = self._plan, None
            if record.completed:
                self._analyse(record.sweep_index, plan)

    def _analyse(self, sweep_index: int, plan: SweepPlan) -> None:
        if plan.step_index not in self._analyses:
            self._analyses[plan.step_index] = self._analysis_for_step(plan.step_index)
        analysis = self._analyses[plan.step_index]
        if analysis is None:
            return
        data = {name: np.concatenate(parts) for name, parts in self._chunks.items()}
        try:
            update = analysis.analyze(sweep_index, plan, data)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:
            log.warning("analysis of sweep %d failed: %s", sweep_index, exc)
            self._stream.publish(Notice("warning", "analysis", f"sweep {sweep_index + 1}: analysis failed: {exc}",
                                        sweep_index))
            return
        for item in (*update.features, *update.estimates, *update.notices):
            self._stream.publish(item)
