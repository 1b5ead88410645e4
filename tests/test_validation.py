"""Bad profiles, protocols and overrides: one clear line per problem, exit 2, nothing moves, no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.cli import main
from rig.config.problems import InvalidInput


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
    assert any(l.endswith(f"{path.name}: daq.max_sample_rate_hz: Input should be greater than 0 (got -5)")
               for l in lines)
    assert any(f"{path.name}: devices.laser.limits.max_bleach_power_fraction: " in l and "1.5" in l for l in lines)
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
    assert f"{path.name}: {field}: " in err and fragment in err, err


def test_yaml_syntax_and_missing_file(tmp_path, capsys):
    broken = _write(tmp_path, "broken.yaml", "name: [unclosed\n")
    assert main(["validate", str(broken), str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{broken.name}: line 2 column 1: YAML syntax error" in err
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
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.strip().endswith(f"{path.name}: steps.0.scanner: no galvo_scanner named 'galvo9' in the "
                                        f"profile (available: scanner)")
    assert "Traceback" not in proc.stderr + proc.stdout


# Issue 12 item 6: every value the issue found accepted, now refused in one line naming field and bound.
PROFILE_TEXT = PROFILE.read_text()
FRAP_TEXT = FRAP.read_text()


@pytest.mark.parametrize("old, new, line", [
    ("max_bleach_duration_ms: 2.0", "max_bleach_duration_ms: .inf",
     "devices.laser.limits.max_bleach_duration_ms: Input should be a finite number"),
    ("max_amplitude_V: 10", "max_amplitude_V: .inf", "devices.stimulator.limits.max_amplitude_V: Input should be a finite"),
    ("holding_mV: [-100, 40]", "holding_mV: [-100, .inf]", "devices.amplifier.limits.holding_mV.1: Input should be a finite"),
    ("max_sample_rate_hz: 500000", "max_sample_rate_hz: .inf", "daq.max_sample_rate_hz: Input should be a finite"),
    ("field_half_width_um: 50", "field_half_width_um: .inf", "devices.scanner.limits.field_half_width_um: Input should be"),
    ("field_half_width_um: 50", "field_half_width_um: 1e300",
     "devices.scanner.limits.field_half_width_um: Input should be less than or equal to 10000 (got '1e300')"),
    ("max_bleach_duration_ms: 2.0", "max_bleach_duration_ms: 1e9",
     "devices.laser.limits.max_bleach_duration_ms: Input should be less than or equal to 60000"),
    ("sensor_px: [80, 80]", "sensor_px: [-80, 80]", "devices.camera.sensor_px.0: Input should be greater than 0 (got -80)"),
    ("backend: simulated", "backend: anymodule:anyfunction",
     "backend: unknown backend 'anymodule:anyfunction' (known: ni, simulated)"),
])
def test_unsafe_profile_values_are_refused(tmp_path, capsys, old, new, line):
    assert old in PROFILE_TEXT
    path = _write(tmp_path, "profile.yaml", PROFILE_TEXT.replace(old, new, 1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}: {line}" in err, err  # the folder may be abbreviated (a deep temporary path)


@pytest.mark.parametrize("old, new, line", [
    ("interval_s: 5", "interval_s: .inf", "steps.0.interval_s: Input should be a finite number"),
    ("interval_s: 5", "interval_s: 1e300", "steps.0.interval_s: 1e+300 s is beyond 3600 s"),
    ("point_um: [1.288, 0.0]", "point_um: [.nan, 0.0]", "steps.0.bleach.point_um.0: Input should be a finite number"),
    ("recovery_ms: 1000", "recovery_ms: 1e9", "steps.0.recovery_ms: 1e+09 ms is beyond 60000 ms (a sweep, and every time"),
    ("line_rate_hz: 500", "line_rate_hz: 1e-9", "steps.0.line_rate_hz: 1e-09 Hz is below 0.000278 Hz"),
    ("holding_mV: -70", "holding_mV: .nan", "steps.0.clamp.holding_mV: Input should be a finite number"),
])
def test_unsafe_protocol_values_are_refused(tmp_path, capsys, old, new, line):
    assert old in FRAP_TEXT
    path = _write(tmp_path, "frap.yaml", FRAP_TEXT.replace(old, new, 1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}: {line}" in err, err  # the folder may be abbreviated (a deep temporary path)


def test_plan_memory_is_estimated_before_compile(tmp_path, capsys):
    """A 59 s recovery at the profile's fastest line rate passes every field bound, but its plan would
    need GiBs: refused by the estimate (rate x duration x channels) before any array is allocated."""
    text = FRAP_TEXT.replace("recovery_ms: 1000", "recovery_ms: 59000").replace("line_rate_hz: 500", "line_rate_hz: 2000")
    text = text.replace("pixels_per_line: 80", "pixels_per_line: 200")
    path = _write(tmp_path, "frap.yaml", text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path.name}: steps.0: plans ~" in err and "allowed at most 2 GiB" in err, err
    assert len(err) <= 200


def test_hostile_yaml_is_refused_in_one_short_line(tmp_path, capsys):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))
    files = {"bomb.yaml": bomb, "deep.yaml": "a: " + "[" * 100_000 + "]" * 100_000,
             "huge.yaml": "a: " + "x" * 5_000_000, "loop.yaml": "a: &a [*a]\n", "digits.yaml": "a: " + "9" * 5000,
             "key.yaml": FRAP_TEXT.replace("pmt: red", "pmt: red\n    " + "\u202e" * 500 + ": 1")}
    paths = [_write(tmp_path, name, text) for name, text in files.items()]
    assert main(["validate", *map(str, paths)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == len(files) and all(len(line) <= 200 for line in lines), lines
    assert any("bomb.yaml: line" in l and "expands to more than 20,000 values" in l for l in lines)
    assert any("deep.yaml: line 1 column" in l and "nested deeper than 32 levels" in l for l in lines)
    assert any("huge.yaml: document has more than 262,144 characters" in l for l in lines)
    assert any("loop.yaml: line 1 column" in l and "recursive alias" in l for l in lines)
    assert any("digits.yaml: YAML value cannot be read" in l for l in lines)
    assert any("key.yaml: steps.0.\\u202e" in l and "unknown key" in l for l in lines)


def test_loaded_protocol_pickles_with_its_per_kind_schema():
    """The schema is built for the kinds a protocol uses; a loaded protocol still pickles (e.g. to a worker)."""
    import pickle

    from rig.protocols.protocol_file import ProtocolFile, load_protocol

    loaded = load_protocol(ROOT / "protocols" / "frap_step_depolarization.yaml")
    assert isinstance(loaded.protocol, ProtocolFile)
    assert type(loaded.protocol).__name__ == "ProtocolFile__frap__hold"
    assert pickle.loads(pickle.dumps(loaded)).protocol == loaded.protocol


def test_watchdog_timeout_is_a_bounded_profile_field(tmp_path, capsys):
    """daq.watchdog_timeout_ms: the schema's bounds are the watchdog's own; outside them, one line at validation."""
    from rig.config.device_specs import DaqSpec
    from rig.hal.watchdog import MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, watchdog_timeout_ms

    field = DaqSpec.model_fields["watchdog_timeout_ms"]
    bounds = {type(m).__name__: m for m in field.metadata}
    assert (bounds["Ge"].ge, bounds["Le"].le) == (MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)
    assert "watchdog_timeout_ms: 2000" in PROFILE_TEXT
    text = PROFILE_TEXT.replace("watchdog_timeout_ms: 2000", "watchdog_timeout_ms: 250")
    from rig.config.profile import load_profile

    assert watchdog_timeout_ms(load_profile(_write(tmp_path, "ok.yaml", text)).profile) == 250.0
    bad = _write(tmp_path, "bad.yaml", text.replace("watchdog_timeout_ms: 250", "watchdog_timeout_ms: .inf"))
    assert main(["validate", str(bad)]) == 2
    assert f"{bad.name}: daq.watchdog_timeout_ms: Input should be a finite number" in capsys.readouterr().err


@pytest.mark.parametrize("use_libyaml", [True, False], ids=["libyaml", "pure-python"])
def test_both_yaml_parsers_enforce_the_same_bounds(monkeypatch, use_libyaml):
    """Without libyaml the pure-Python loader must refuse the same documents, as quickly."""
    from rig.config import yaml_loading

    if not use_libyaml:
        monkeypatch.setattr(yaml_loading, "_CLoader", None)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))
    cases = {"a: " + "[" * 100_000: "nested deeper than 32 levels", "- " * 1000 + "x": "nested deeper than 32 levels",
             bomb: "expands to more than 20,000 values", "a: &a [*a]\n": "recursive alias",
             "a: [" + "1, " * 30_000 + "]": "more than 20,000 values",
             "x: &x 1\na: [" + ", ".join(["*x"] * 200) + "]": "more than 100 aliases"}
    for text, fragment in cases.items():
        with pytest.raises(InvalidInput) as caught:
            yaml_loading.parse_yaml_text(text, "f.yaml")
        assert fragment in str(caught.value), (text[:40], str(caught.value))
    assert yaml_loading.parse_yaml_text(FRAP_TEXT, "f.yaml") == __import__("yaml").safe_load(FRAP_TEXT)
