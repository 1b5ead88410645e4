"""Shared fixtures: the project paths, the simulated profile, journals of simulated hardware."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulated_devices.journal import final_outputs as journal_outputs
from simulated_devices.journal import read_events

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "hardware_profiles" / "simulated.yaml"
FRAP = ROOT / "protocols" / "frap.yaml"

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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
})


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test of a slow file `slow` (files, not tests: their module fixtures are the cost)."""
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
