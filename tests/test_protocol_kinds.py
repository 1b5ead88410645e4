"""Every step kind has the one plug-in shape; a new kind (tests/example_kind) plugs in through the registry alone and
runs end to end on the simulated rig; progress counts the sweeps adaptive steps really plan."""

from __future__ import annotations

import importlib
import math
import time
from pathlib import Path

import pytest
import yaml

from conftest import PROFILE, ROOT, assert_rig_safe
from rig.api import prepare_run, run_protocol
from rig.config.problems import InvalidInput
from rig.datatypes.plan_codec import plan_to_data
from rig.datatypes.records import RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.engine.program import FixedProgram
from rig.gui.progress import RunProgress as GuiProgress
from rig.protocols import STEP_KINDS, register_kind, unregister_kind
from rig.protocols.shared.kind import FixedPlanKind
from rig.protocols.step_runs import build_step_run
from rig.storage.reader import RunFile

EXAMPLE = "membrane_test"


def test_every_kind_is_a_package_with_schema_program_and_analysis():
    for name in STEP_KINDS:
        kind = STEP_KINDS[name]
        package = importlib.import_module(f"rig.protocols.{name}")
        folder = Path(package.__file__).parent
        assert folder.name == name and (folder / "schema.py").exists(), name
        assert (folder / "compile.py").exists() or (folder / "program.py").exists(), name
        assert package.KIND is kind
        assert kind.schema.model_fields["kind"].annotation.__args__ == (name,)
        assert isinstance(kind.fixed_plans, bool)
        assert not kind.fixed_plans or isinstance(kind, FixedPlanKind), name


def test_fixed_kinds_run_their_compiled_plans_and_programmed_kinds_their_own():
    prepared = prepare_run(ROOT / "protocols" / "fcat.yaml", PROFILE)
    profile = prepared.profile.profile
    reversal, fcat = prepared.compiled.loaded.protocol.steps
    for i, step in enumerate((reversal, fcat)):
        assert not STEP_KINDS[step.kind].fixed_plans
        assert not isinstance(build_step_run(step, i, profile).program, FixedProgram)
    frap = prepare_run(ROOT / "protocols" / "frap.yaml", PROFILE)
    step = frap.compiled.loaded.protocol.steps[0]
    program = build_step_run(step, 0, frap.profile.profile).program
    assert isinstance(program, FixedProgram)
    assert [plan_to_data(p) for p in program.envelope()] == [plan_to_data(p) for p in frap.compiled.plans]


def test_planned_sweeps_of_an_adaptive_protocol_are_its_sweeps_not_its_envelope():
    compiled = prepare_run(ROOT / "protocols" / "fcat.yaml", PROFILE).compiled
    # the envelope: the search's lowest and highest holding, fCaT's holding range and one CC sweep
    assert len(compiled.plans) == 5
    # the search's most sweeps (6 levels of a settle and 2 measuring sweeps), fCaT's 60 and its 2 settle sweeps
    assert compiled.step_planned_sweeps == [18, 62] and compiled.planned_sweeps == 80


def test_gui_progress_follows_the_runners_planned_count():
    compiled = prepare_run(ROOT / "protocols" / "fcat.yaml", PROFILE).compiled
    plan = compiled.plans[0]
    started = RunStarted("fCaT", "", "", "", "", {}, tuple(compiled.plans), None, time.time(),
                         n_planned_sweeps=compiled.planned_sweeps)
    progress = GuiProgress(started.plans, 0, 0.0, started.planned_sweeps)
    assert progress.total == 80
    for k in range(61):  # the search finished early: the Runner's count falls to what will run
        progress.planned = SweepStarted(k, plan, 0.0, None, 61).n_planned_sweeps
        progress.done = SweepEnded(k, 10, True, 0.0).sweep_index + 1
        assert progress.done <= progress.total == 61
    progress.planned = RunEnded("completed", "", 0.0, (), 61).n_planned_sweeps
    assert (progress.done, progress.total) == (61, 61)
    assert GuiProgress(started.plans, 7).total == 7  # never fewer planned than done


@pytest.fixture
def example_kind():
    """The example kind of tests/example_kind, registered for this test only."""
    register_kind(EXAMPLE, "example_kind")
    yield STEP_KINDS[EXAMPLE]
    unregister_kind(EXAMPLE)


def _protocol(tmp_path: Path, **fields: object) -> Path:
    step = {"kind": EXAMPLE, "name": "membrane", "step_pA": -50, "sweeps": 3, "interval_s": 0} | fields
    path = tmp_path / "membrane_test.yaml"
    path.write_text(yaml.safe_dump({"name": "membrane test", "steps": [step]}))
    return path


def test_the_example_kind_runs_end_to_end_through_the_api(example_kind, tmp_path, journal):
    assert EXAMPLE in STEP_KINDS and example_kind.fixed_plans
    result = run_protocol(_protocol(tmp_path), PROFILE, out_dir=tmp_path / "runs")
    assert result.outcome.status == "completed" and result.outcome.sweeps_completed == 3
    assert result.consumer_failures == [] and not result.storage_failed
    with RunFile(result.path) as f:
        assert f.n_sweeps == 3 and f.summary()["n_planned_sweeps"] == 3
        r_in = [row for row in f.features() if row["name"] == "input_resistance_MOhm"]
    assert [row["sweep"] for row in r_in] == [0, 1, 2]
    # the simulated soma: about 130 MOhm
    assert all(math.isfinite(row["value"]) and 50 < row["value"] < 500 for row in r_in), r_in
    assert_rig_safe(journal)


def test_the_example_kinds_checks_name_the_field(example_kind, tmp_path):
    with pytest.raises(InvalidInput) as err:
        prepare_run(_protocol(tmp_path, step_pA=-1e6), PROFILE)
    (problem,) = err.value.problems
    assert problem.field == "steps.0.step_pA" and "holding_pA" in problem.message


def test_a_kind_name_cannot_be_taken_twice(example_kind):
    with pytest.raises(ValueError, match="already registered"):
        register_kind(EXAMPLE, "somewhere_else")
    with pytest.raises(ValueError, match="already registered"):
        register_kind("frap", "example_kind")
