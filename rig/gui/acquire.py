"""Run GUI-built SweepPlans (membrane test, frame scan) through the same Runner and clock, without storage."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from rig.config.problems import InvalidInput
from rig.datatypes.records import Record, RunStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.limits import check_plan
from rig.engine.rig import Rig
from rig.engine.runner import Runner, RunOutcome
from rig.engine.stream import Stream


class _Forward:
    """Consumer that hands every record to a callable."""

    def __init__(self, callback: Callable[[Record], None]):
        self._callback = callback

    def handle(self, record: Record) -> None:
        self._callback(record)


def check_plans(rig: Rig, plans: Sequence[SweepPlan], source: str) -> None:
    """Raise InvalidInput if any plan breaks the profile's limits (before anything moves)."""
    distinct = {id(plan.outputs): plan for plan in plans}.values()  # repeats share their waveforms
    problems = [p for plan in distinct for p in check_plan(plan, rig.profile.profile, source)]
    if problems:
        raise InvalidInput(problems)


def acquire_plans(rig: Rig, plans: Sequence[SweepPlan], label: str, on_record: Callable[[Record], None],
                  on_runner: Callable[[Runner], None] | None = None) -> RunOutcome:
    """Check, then execute plans on the rig; records go to `on_record` (lossless, off this thread)."""
    check_plans(rig, plans, label)
    stream = Stream()
    stream.attach(label, _Forward(on_record))
    runner = Runner(rig, stream)
    if on_runner is not None:
        on_runner(runner)
    loaded = rig.profile
    header = RunStarted(label, "", "", str(loaded.path), loaded.text, {}, tuple(plans), None, time.time())
    try:
        return runner.run(header)
    finally:
        stream.close()
