"""Shared fixtures: the project paths, the simulated profile, journals of simulated hardware."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from simulated_devices.journal import final_outputs as journal_outputs
from simulated_devices.journal import read_events

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "hardware_profiles" / "simulated.yaml"
FRAP = ROOT / "protocols" / "frap.yaml"

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    # The xdist workers and every `python -m rig` child would compile all our modules again (0.8 s CPU per
    # `rig run`); their bytecode goes to a cache outside the tree instead, so the tree still gets no .pyc files.
    os.environ.setdefault("PYTHONPYCACHEPREFIX",
                          str(Path(tempfile.gettempdir()) / f"spinerig-pycache-{Path.home().name}"))


@pytest.fixture
def journal(tmp_path, monkeypatch) -> Path:
    """Enable the simulated hardware journal for this test; returns its path."""
    path = tmp_path / "journal.jsonl"
    monkeypatch.setenv("SPINERIG_SIM_JOURNAL", str(path))
    return path


def final_outputs(journal_path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """The value every output channel holds and each amplifier's mode, at the end of the journal."""
    return journal_outputs(read_events(journal_path))


def assert_rig_safe(journal_path: Path) -> None:
    """The journal ends with light off, shutter closed, stimulator idle, LEDs off, amplifier at -70 mV in VC."""
    held, modes = final_outputs(journal_path)
    assert held["laser.power"] == 0.0
    assert held["shutter.open"] == 0.0
    assert held["stimulator.trigger"] == 0.0
    assert held["camera.trigger"] == 0.0
    for led in ("uv385", "blue460", "green520"):
        assert held[f"leds.{led}"] == 0.0
    assert held["amplifier.command"] == -70.0
    assert modes.get("amplifier", "VC") == "VC"


# The fast tier (`python -m pytest -m "not slow"`, under a minute on 2 cores) leaves out these files:
# end-to-end runs of the simulated rig (module fixtures of tens of seconds), real subprocesses with
# signals and kills, populations. Measured with `python -m pytest --durations=150` (docs in README).
SLOW_FILES = frozenset({
    "test_fcat_population.py", "test_specimen_plasticity.py", "test_calibration_subset.py",
    "test_specimen_fcat_physics.py", "test_fcat_truth.py", "test_quantal_truth.py", "test_truth_complete.py",
    "test_na_ca_truth.py", "test_specimen_vc_steady_state.py", "test_watchdog.py", "test_gui_window.py",
    "test_signals.py", "test_calcium_protocols_runs.py", "test_fcat_protocol.py", "test_run_subprocess.py",
    "test_vsd_protocol.py", "test_recover.py", "test_frap_truth.py", "test_run_files.py",
    "test_reversal_search.py", "test_paired_transient_kinetics.py", "test_na_ca_camera.py",
    "test_fuzz_inputs.py", "test_neuron_passive_comparison.py", "test_electrical_model.py", "test_export.py",
    "test_stopping_rules.py", "test_session_budgets.py", "test_gui_camera.py",
    "test_sim_regression.py",
    # whole operator windows (menus, budgets): 23 s of the fast tier's 87 s of tests on 2026-12-03, which ran 65-70 s
    "test_gui_menus.py", "test_gui_budgets.py",
})


# Scheduling on the xdist workers (`--dist loadgroup --no-loadscope-reorder` in pyproject.toml): every test gets an
# xdist_group, by default its file (module fixtures are built once, as with loadfile). The files below, the heaviest,
# are split into independent parts: tests that share a module- or session-scoped fixture stay together (so every such
# fixture is still built once), the others are scheduled one by one. Work is handed out heaviest first, so both
# workers finish together. Costs: CPU seconds per file (the worker's and its waited children's, summed over the
# file's tests) measured on 2026-12-03 on a loaded machine (before the GUI's
# forkserver child: the GUI files now cost less), divided by 1.5 (the load's inflation of the heaviest
# tests against their idle times); the subprocess files that mostly wait (watchdog, run_files, recover) by their wall.
FILE_COST_S = {
    "test_quantal_truth.py": 57, "test_fcat_population.py": 46, "test_gui_window.py": 45,
    "test_specimen_plasticity.py": 32, "test_truth_complete.py": 28, "test_gui_placement.py": 27,
    "test_calibration_subset.py": 23, "test_specimen_fcat_physics.py": 20, "test_fuzz_inputs.py": 19,
    "test_na_ca_truth.py": 19, "test_fcat_truth.py": 19, "test_calcium_protocols_runs.py": 18,
    "test_gui_camera.py": 18, "test_signals.py": 17, "test_vsd_protocol.py": 17, "test_export.py": 12,
    "test_run_subprocess.py": 12, "test_run_files.py": 12, "test_watchdog.py": 12, "test_paired_transient_kinetics.py": 11,
    "test_fcat_protocol.py": 10, "test_recover.py": 9, "test_cli.py": 3, "test_sim_regression.py": 2,
    "test_quantal_mixture.py": 1,
}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the fast tier (`-m "not slow"`) the slow files are not even imported: every xdist worker collects every
    file, and importing the slow ones (NEURON, nwbinspector, hypothesis, their fixtures' modules) cost each worker
    ~2 CPU-s of the tier's ~100 for tests it then deselects."""
    if collection_path.name in SLOW_FILES and (config.option.markexpr or "").split() == ["not", "slow"]:
        return True
    return None


def _shared_fixture_groups(items: list[pytest.Item]) -> dict[str, str]:
    """nodeid -> part of its file: tests joined when they share a module- or session-scoped fixture."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    shared: dict[str, list[str]] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        shared[item.nodeid] = [] if info is None else [
            name for name, defs in info.name2fixturedefs.items()
            if defs and defs[-1].scope in ("module", "package", "session")
            and defs[-1].baseid != ""]  # plugins' session fixtures (e.g. qapp) are cheap and built per worker anyway
    names = {name for used in shared.values() for name in used}
    for item in items:
        # a parameter naming a shared fixture: the test takes it with request.getfixturevalue
        params = getattr(getattr(item, "callspec", None), "params", {})
        dynamic = [v for v in params.values() if isinstance(v, str) and v in names]
        for name in shared[item.nodeid] + dynamic:
            parent[find(item.nodeid)] = find(f"fixture:{name}")
    return {item.nodeid: find(item.nodeid) for item in items}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test of a slow file `slow` (files, not tests: their module fixtures are the cost); give every
    test its xdist group and put the heaviest work first (see FILE_COST_S)."""
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
        by_file.setdefault(item.path.name, []).append(item)
    cost: dict[str, float] = {}
    for name, file_items in by_file.items():
        parts = _shared_fixture_groups(file_items) if name in FILE_COST_S else {}
        number = {root: k for k, root in enumerate(dict.fromkeys(parts.values()))}  # short names: xdist shows them
        for item in file_items:
            stem = name.removeprefix("test_").removesuffix(".py")
            group = stem if item.nodeid not in parts else f"{stem}.{number[parts[item.nodeid]]}"
            item.add_marker(pytest.mark.xdist_group(group))
            cost[item.nodeid] = FILE_COST_S.get(name, 0.0)
    items.sort(key=lambda item: -cost[item.nodeid])  # stable: a file's tests keep their order
