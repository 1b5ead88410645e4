"""Bad profiles, protocols and overrides: one clear line per problem, exit 2, nothing moves, no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.cli import main


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_PROFILE = """\
name: x
backend: simulated
daq: {max_sample_rate_hz: -5}
devices:
  laser:
    kind: pockels_laser
    wavelength_nm: 810
    channels: {power: a}
    limits: {max_imaging_power_fraction: 0.3, max_bleach_power_fraction: 1.5, max_bleach_duration_ms: 2, colour: red}
  amp: {kind: toaster}
"""


def test_bad_profile_lists_every_problem_with_field_and_allowed(tmp_path, capsys):
    path = _write(tmp_path, "profile.yaml", BAD_PROFILE)
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert f"{path}: daq.max_sample_rate_hz: Input should be greater than 0 (got -5)" in lines
    assert any(l.startswith(f"{path}: devices.laser.limits.max_bleach_power_fraction: ") and "1.5" in l for l in lines)
    assert any("devices.laser.limits.colour: unknown key 'colour' (allowed: max_bleach_duration_ms" in l for l in lines)
    assert any("devices.amp: unknown kind 'toaster' (allowed:" in l for l in lines)
    assert len(lines) == 4


@pytest.mark.parametrize("step_yaml, field, fragment", [
    ("sweeps: -1", "steps.0.sweeps", "greater than 0"),
    ("pixelz: 3", "steps.0.pixelz", "unknown key 'pixelz' (allowed: "),
    ("bleach: {point_um: [1.288, 0], duration_ms: 5}", "steps.0.bleach.duration_ms", "5 ms exceeds 2 ms"),
    ("bleach: {point_um: [1.288, 0], power_fraction: 1.2}", "steps.0.bleach.power_fraction", "less than or equal to 1"),
    ("line_rate_hz: 5000", "steps.0.line_rate_hz", "exceeds the scanner limit 2000 Hz"),
    ("imaging_power_fraction: 0.5", "steps.0.imaging_power_fraction", "exceeds 0.3"),
    ("laser: laser2", "steps.0.laser", "no pockels_laser named 'laser2'"),
    ("pmt: blue", "steps.0.pmt", "has no PMT 'blue'"),
    ("clamp: {mode: VC, holding_mV: -150}", "steps.0.clamp.holding_mV", "outside the profile limit [-100, 40] mV"),
    ("clamp: {mode: CC, holding_mV: 0}", "steps.0.clamp", "CC takes holding_pA"),
    ("line: {start_um: [-80, 0], end_um: [2.5, 0]}", "steps.0.line.start_um", "outside the scan field"),
])
def test_bad_protocol_field_is_named(tmp_path, capsys, step_yaml, field, fragment):
    base = {"line": "line: {start_um: [-1.5, 0], end_um: [2.5, 0]}", "bleach": "bleach: {point_um: [1.288, 0]}"}
    key = step_yaml.split(":")[0]
    base[key] = step_yaml
    body = "\n".join(f"    {v}" for v in base.values())
    path = _write(tmp_path, "p.yaml", f"name: t\nsteps:\n  - kind: frap\n{body}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {field}: " in err and fragment in err, err


def test_yaml_syntax_and_missing_file(tmp_path, capsys):
    broken = _write(tmp_path, "broken.yaml", "name: [unclosed\n")
    assert main(["validate", str(broken), str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: line 2 column 1: YAML syntax error" in err
    assert f"{tmp_path / 'missing.yaml'}: file not found" in err


def test_good_files_validate(capsys):
    assert main(["validate", str(PROFILE), str(FRAP), str(ROOT / "protocols" / "frap_step_depolarization.yaml")]) == 0
    assert capsys.readouterr().out.count(": ok") == 3


def test_run_refuses_bad_override_before_anything_moves(tmp_path, journal, capsys):
    out = tmp_path / "out"
    code = main(["run", str(FRAP), "--out", str(out), "--set", "steps.0.bleach.duration_ms=3", "--quiet"])
    assert code == 2
    assert "steps.0.bleach.duration_ms: 3 ms exceeds 2 ms" in capsys.readouterr().err
    assert not out.exists()  # no file written
    assert not journal.exists()  # no output of the simulated DAQ moved


@pytest.mark.parametrize("args, fragment", [
    (["--set", "bogus=3"], "--set: bogus: no step of this protocol has that field"),
    (["--sweeps", "-2"], "--sweeps: must be a positive whole number (got -2)"),
    (["--set", "steps.0.sweeps=-4"], "steps.0.sweeps: Input should be greater than 0 (got -4)"),
    (["--profile", "nope.yaml"], "nope.yaml: file not found"),
])
def test_run_refuses_bad_arguments(tmp_path, capsys, args, fragment):
    assert main(["run", str(FRAP), "--out", str(tmp_path / "o"), "--quiet", *args]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_device_in_protocol_subprocess_has_no_traceback(tmp_path):
    """The installed command: one line, exit 2, no traceback."""
    path = _write(tmp_path, "p.yaml", "name: t\nsteps:\n  - kind: frap\n    scanner: galvo9\n"
                  "    line: {start_um: [0, 0], end_um: [1, 0]}\n    bleach: {point_um: [1, 0]}\n")
    proc = subprocess.run([sys.executable, "-m", "rig", "run", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"{path}: steps.0.scanner: no galvo_scanner named 'galvo9' in the profile "
                                   f"(available: scanner)")
    assert "Traceback" not in proc.stderr + proc.stdout
