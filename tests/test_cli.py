"""The `rig` command as an operator uses it: run FRAP, read the file back as JSON, `python -m rig`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import FRAP, ROOT
from rig.cli import main


@pytest.fixture(scope="module")
def frap_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = subprocess.run([sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(out), "--sweeps", "3",
                           "--set", "recovery_ms=400", "--set", "interval_s=1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    return proc, out


def test_run_prints_path_status_and_estimates(frap_run):
    proc, out = frap_run
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("*.h5")
    assert f"run file: {path}" in proc.stdout
    assert "status: completed" in proc.stdout
    assert "frap: tau_frap_ms = " in proc.stdout and "frap: neck_resistance_MOhm = " in proc.stdout


def test_info_json_has_estimates_next_to_truth(frap_run, capsys):
    _, out = frap_run
    (path,) = out.glob("*.h5")
    assert main(["info", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_sweeps"] == 3
    for name in ("tau_frap_ms", "neck_resistance_MOhm"):
        est = summary["estimates"][name]
        assert set(est) >= {"value", "low", "high", "unit"}
        assert est["low"] < est["value"] < est["high"]
        assert name in summary["truth"]
    assert summary["estimates"]["tau_frap_ms"]["unit"] == "ms"
    assert summary["status"] == "completed"
    assert all(s["safe"] for s in summary["safety"])


def test_info_table(frap_run, capsys):
    _, out = frap_run
    (path,) = out.glob("*.h5")
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "tau_frap_ms" in text and "truth" in text


def test_info_on_a_non_run_file_is_a_clear_error(tmp_path, capsys):
    bogus = tmp_path / "x.h5"
    bogus.write_text("not hdf5")
    assert main(["info", str(bogus)]) == 2
    assert f"{bogus}: cannot read as a run file" in capsys.readouterr().err


def test_console_script_help():
    proc = subprocess.run(["rig", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "run" in proc.stdout and "validate" in proc.stdout
