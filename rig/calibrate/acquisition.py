"""Run a calibration's sweeps through the real Runner (limits checked, rig made safe on every exit) and keep
every recorded input in memory: calibration sweeps write no run file."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from rig.datatypes.records import DataChunk, Record, RunEnded, RunStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig
from rig.engine.runner import Runner
from rig.engine.stream import Stream


class CalibrationRunFailed(RuntimeError):
    """The calibration's sweeps did not complete (the rig was made safe)."""


@dataclass
class _Collector:
    """Every input chunk of every sweep, and how the run ended."""

    chunks: dict[tuple[int, str], list[tuple[int, np.ndarray]]] = field(default_factory=dict)
    ended: RunEnded | None = None

    def handle(self, record: Record) -> None:
        """Keep input chunks and the end record."""
        if isinstance(record, DataChunk) and record.channel.startswith("in:"):
            self.chunks.setdefault((record.sweep_index, record.channel[3:]), []).append(
                (record.first_sample, np.asarray(record.samples)))
        elif isinstance(record, RunEnded):
            self.ended = record

    def sweep(self, index: int, channels: Sequence[str]) -> dict[str, np.ndarray]:
        """One sweep's inputs, each in sample order."""
        return {c: np.concatenate([s for _, s in sorted(self.chunks[(index, c)], key=lambda t: t[0])])
                for c in channels}


def run_calibration_sweeps(rig: Rig, plans: Sequence[SweepPlan], name: str) -> list[dict[str, np.ndarray]]:
    """Execute the plans with the Runner; the recorded inputs of each sweep (CalibrationRunFailed if any failed)."""
    stream = Stream()
    collector = _Collector()
    stream.attach("calibration", collector, lossless=True, critical=True)
    loaded = rig.profile
    header = RunStarted(name, f"<rig calibrate {name}>", "", str(Path(loaded.path)), loaded.text, {}, tuple(plans),
                        None, time.time())
    try:
        outcome = Runner(rig, stream).run(header)
    finally:
        stream.close()
    if outcome.status != "completed":
        raise CalibrationRunFailed(f"calibration sweeps {outcome.status}: {outcome.message}")
    return [collector.sweep(i, plan.inputs) for i, plan in enumerate(plans)]
