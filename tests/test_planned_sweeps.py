"""Sweep counts never read 'done > planned': an adaptive step that runs longer than it planned grows the total."""

from __future__ import annotations

import time

from conftest import FRAP, PROFILE
from rig.api import prepare_run, software_versions
from rig.cli_progress import RunProgress
from rig.datatypes.records import RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.engine.program import FixedProgram, RunContext, planned_sweeps
from rig.engine.rig import build_rig
from rig.engine.runner import Runner
from rig.engine.stream import Stream
from rig.storage.reader import RunFile
from rig.storage.writer import Hdf5RunWriter


class _LongerThanPlanned:
    """An adaptive program that plans one sweep and runs `runs` of them (like a reversal search that keeps looking)."""

    adaptive = True

    def __init__(self, plan, runs: int, planned: int = 1):
        self.step_index = 0
        self.planned_sweeps = planned
        self._plan = plan
        self._left = runs

    def envelope(self):
        return [self._plan] * 5

    def next_plan(self, context: RunContext):
        if self._left == 0:
            return None
        self._left -= 1
        return self._plan


def test_planned_sweeps_of_fixed_and_adaptive_programs():
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200"], sweeps=3)
    plans = list(prepared.compiled.plans)
    assert planned_sweeps(FixedProgram(0, plans)) == 3
    assert planned_sweeps(_LongerThanPlanned(plans[0], runs=2, planned=4)) == 4  # its own count, not its envelope's


def test_adaptive_step_longer_than_planned_grows_the_total(tmp_path):
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=100", "interval_s=0"], sweeps=1)
    plan = prepared.compiled.plans[0]
    rig = build_rig(prepared.profile)
    stream = Stream()
    path = tmp_path / "run.h5"
    stream.attach("storage", Hdf5RunWriter(path), critical=True)
    seen: list = []
    stream.attach("seen", type("C", (), {"handle": lambda self, r: seen.append(r)})())
    runner = Runner(rig, stream)
    programs = [_LongerThanPlanned(plan, runs=3), FixedProgram(1, [plan])]
    header = RunStarted("t", str(FRAP), "", str(PROFILE), "", software_versions(), (plan, plan), None, time.time())
    outcome = runner.run(header, programs)
    stream.close()
    assert outcome.status == "completed" and outcome.sweeps_completed == 4
    started = [r for r in seen if isinstance(r, RunStarted)]
    assert started[0].planned_sweeps == 2
    for r in seen:
        if isinstance(r, SweepStarted):
            assert r.n_planned_sweeps >= r.sweep_index + 1
    assert [r.n_planned_sweeps for r in seen if isinstance(r, SweepStarted)] == [2, 3, 4, 4]
    (end,) = [r for r in seen if isinstance(r, RunEnded)]
    assert end.n_planned_sweeps == 4
    with RunFile(path) as f:
        assert f.n_sweeps == 4 and f.summary()["n_planned_sweeps"] == 4

    progress = RunProgress(2, enabled=False)
    for r in seen:
        progress.handle(r)
        assert progress.done <= progress.total
    assert (progress.done, progress.total) == (4, 4)


def test_progress_never_shows_more_done_than_planned_even_when_records_are_skipped():
    progress = RunProgress(2, enabled=False)
    for k in range(5):  # the display lane may skip SweepStarted records: completions alone must grow the total
        progress.handle(SweepEnded(k, 10, True, 0.0))
        assert progress.done <= progress.total
    assert (progress.done, progress.total) == (5, 5)
