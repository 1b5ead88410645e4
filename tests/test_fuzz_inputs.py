"""Fuzzed profiles, protocols and overrides: no traceback, no hang, no unsafe value accepted, no file.

The mutator starts from the shipped files in hardware_profiles/ and protocols/ and applies, with a
fixed seed, what a hurried or hostile editor does: deleted and duplicated keys, changed types,
huge/negative/zero/NaN/infinite numbers, deep nesting, alias bombs, long strings, unicode,
wrong-length lists. Every case goes through `rig validate`'s own function in this process
(rig.validate.validate_files); a handful goes through the real `rig validate` / `rig run`.
"""

from __future__ import annotations

import copy
import math
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from conftest import FRAP, PROFILE, ROOT
from rig.config.problems import MAX_LINE_CHARS, InvalidInput, Problem
from rig.config.profile import HardwareProfile, load_profile
from rig.config.yaml_loading import parse_yaml_text, validate_data
from rig.engine.limits import MAX_PLANNED_BYTES, MAX_SWEEP_S
from rig.protocols.protocol_file import apply_overrides, compile_protocol, load_protocol
from rig.validate import validate_files

PROFILES = sorted((ROOT / "hardware_profiles").glob("*.yaml"))
PROTOCOLS = sorted((ROOT / "protocols").glob("*.yaml"))
N_CASES = 1_100
CASE_TIMEOUT_S = 20  # a hang detector, far above any case (typically < 0.1 s)

BAD_NUMBERS: list[Any] = [0, -1, -0.0, -1e9, 1e9, 1e300, -1e300, 1e-300, 2**63, 10**20, float("nan"),
                          float("inf"), float("-inf"), 0.5, 3]
NON_FINITE = ("nan", "inf")
SAFETY_LIMITS = ("max_bleach_duration_ms", "max_amplitude_V", "max_pulse_ms", "max_sample_rate_hz",
                 "field_half_width_um", "max_imaging_power_fraction", "max_bleach_power_fraction",
                 "max_duty_fraction", "max_line_rate_hz", "max_frame_rate_hz", "holding_mV", "holding_pA")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
UNICODE = ["é", "\u202e", "😀", "\u0000", "\u2028", "ß" * 3, "\ufeff", "名前", "\U0001f9ea" * 50]


@dataclass
class Case:
    """One fuzzed input: its text, what was done to it, and whether a non-finite or unsafe value was put in."""

    label: str
    base: Path
    text: str
    unsafe: bool  # a value was made non-finite, or a safety limit absurd: validation must refuse


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if len(prefix) > 12:  # not into a nest a previous mutation made (PyYAML's emitter recurses)
        return out
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, prefix + (i,))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(node, path[:-1])[path[-1]] = value


def _delete(node: Any, path: tuple[Any, ...]) -> None:
    parent = _get(node, path[:-1])
    del parent[path[-1]]


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _mutate_data(rng: random.Random, data: dict[str, Any]) -> tuple[str, bool]:
    """One structural mutation of parsed data, in place; returns its label and whether it is unsafe."""
    paths = _paths(data)
    path = rng.choice(paths)
    name = str(path[-1])
    current = _get(data, path)
    numeric = [p for p in paths if isinstance(_get(data, p), (int, float)) and not isinstance(_get(data, p), bool)]
    choice = rng.randrange(10)
    if choice <= 2 and numeric:  # the most telling mutation: a number becomes extreme
        path = rng.choice(numeric)
        name = str(path[-1])
        value = rng.choice(BAD_NUMBERS)
        _set(data, path, value)
        non_finite = isinstance(value, float) and not math.isfinite(value)
        absurd_limit = (any(str(p) in SAFETY_LIMITS for p in path) and isinstance(value, (int, float))
                        and (abs(value) >= 1e9 or value < 0) and not any("holding" in str(p) for p in path))
        return f"number {'.'.join(map(str, path))} = {value!r}", non_finite or absurd_limit
    if choice == 3:
        _delete(data, path)
        return f"delete {'.'.join(map(str, path))}", False
    if choice == 4:  # duplicate: the same value under a new key, or a list item twice
        parent = _get(data, path[:-1])
        if isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(current))
        else:
            parent[f"{name}_copy"] = copy.deepcopy(current)
        return f"duplicate {'.'.join(map(str, path))}", False
    if choice == 5:  # change the type
        replacement = rng.choice([str(current), [current], {"value": current}, None, True, "yes", [], {}])
        _set(data, path, replacement)
        return f"type {'.'.join(map(str, path))} -> {type(replacement).__name__}", False
    if choice == 6:  # wrong list: too short, too long, nested, NaN inside
        replacement = rng.choice([[], [1.0], [1.0, 2.0, 3.0], [[1.0, 2.0]], [float("nan"), 0.0],
                                  [0.0] * rng.choice([5, 1000, 20_000]), [float("inf")] * 2])
        _set(data, path, replacement)
        unsafe = any(isinstance(v, float) and not math.isfinite(v) for v in replacement if isinstance(v, float))
        return f"list {'.'.join(map(str, path))} -> {len(replacement)} items", unsafe
    if choice == 7:  # long or unicode strings, as a value or as a key
        text = rng.choice(UNICODE) * rng.choice([1, 10, 1000]) if rng.random() < 0.5 else "x" * rng.choice(
            [300, 20_000, 300_000, 5_000_000])
        parent = _get(data, path[:-1])
        if rng.random() < 0.5 or not isinstance(parent, dict):
            _set(data, path, text)
        else:
            parent[text[:300_000]] = 1  # as a key
        return f"string at {'.'.join(map(str, path))} ({len(text)} chars)", False
    if choice == 8:  # deep nesting as data (kept dumpable: PyYAML's emitter recurses)
        _set(data, path, _deep(rng.choice([5, 40, 200])))
        return f"nested {'.'.join(map(str, path))}", False
    _set(data, path, rng.choice([0, -5, 10**6, 2**31]))  # integer-ish extremes
    return f"int {'.'.join(map(str, path))}", False


def _text_mutation(rng: random.Random, text: str) -> tuple[str, str]:
    """A mutation of the raw text that a data round-trip cannot express."""
    lines = text.splitlines()
    choice = rng.randrange(7)
    if choice == 0:  # alias bomb
        bomb = "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 9))
        return "alias bomb", bomb + text
    if choice == 1:  # deep flow nesting, far beyond what the composer can recurse
        depth = rng.choice([33, 1000, 100_000])
        return f"deep nesting {depth}", text + f"\nnest: {'[' * depth}{']' * depth}\n"
    if choice == 2:  # a duplicated line: YAML keeps the last of duplicate keys, or it is a syntax error
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return f"duplicate line {i + 1}", "\n".join(lines)
    if choice == 3:  # truncated
        cut = rng.randrange(len(text))
        return f"truncated at {cut}", text[:cut]
    if choice == 4:  # a 5 MB string
        return "5 MB string", text + "\nblob: " + "y" * 5_000_000 + "\n"
    if choice == 5:  # a recursive alias
        return "recursive alias", text + "\nloop: &loop [*loop]\n"
    i = rng.randrange(len(lines))  # random bytes of unicode in a line
    lines[i] = lines[i][: len(lines[i]) // 2] + rng.choice(UNICODE) + lines[i][len(lines[i]) // 2:]
    return f"unicode in line {i + 1}", "\n".join(lines)


def _unsafe_in(data: Any) -> bool:
    """Whether the data holds a non-finite number anywhere, or an absurd safety limit (>= 1e9 or negative)."""
    for path in _paths(data):
        value = _get(data, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return True
        names = [str(part) for part in path]
        if any(n in SAFETY_LIMITS for n in names) and not any("holding" in n for n in names) and (
                abs(value) >= 1e9 or value < 0):
            return True
    return False


def make_cases(seed: int, n: int) -> list[Case]:
    """`n` deterministic fuzz cases from the shipped files."""
    rng = random.Random(seed)
    texts = {p: p.read_text() for p in PROFILES + PROTOCOLS}
    parsed = {p: yaml.load(text, Loader=_LOADER) for p, text in texts.items()}
    cases: list[Case] = []
    for k in range(n):
        base = rng.choice(PROFILES) if rng.random() < 0.4 else rng.choice(PROTOCOLS)
        if rng.random() < 0.25:
            label, text = _text_mutation(rng, texts[base])
            cases.append(Case(f"#{k} {base.name}: {label}", base, text, False))
            continue
        data = copy.deepcopy(parsed[base])
        labels = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if not isinstance(data, dict) or not data:
                break
            label, _ = _mutate_data(rng, data)
            labels.append(label)
        unsafe = _unsafe_in(data)  # judged on the final data: a later mutation may remove an earlier one
        text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=10**9)
        cases.append(Case(f"#{k} {base.name}: {'; '.join(labels)}", base, text, unsafe))
    return cases


class _Hang(Exception):
    pass


def _with_timeout(seconds: int, func: Callable[[], Any]) -> Any:
    """Run func in this (main) thread; raise _Hang if it takes longer than `seconds`."""
    def alarm(signum: int, frame: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        return func()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _floats(value: Any) -> list[float]:
    if isinstance(value, BaseModel):
        return [f for name in type(value).model_fields for f in _floats(getattr(value, name))]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


def _accepted_is_safe(path: Path, is_profile: bool) -> str | None:
    """For an input that validated: why what was accepted is unsafe, or None."""
    if is_profile:
        floats = _floats(load_profile(path).profile)
    else:
        compiled = compile_protocol(load_protocol(path), load_profile(PROFILE))
        floats = _floats(compiled.loaded.protocol)
        unique: dict[int, int] = {}
        for plan in compiled.plans:
            if plan.n_samples / plan.sample_rate_hz > MAX_SWEEP_S:
                return f"a sweep of {plan.n_samples / plan.sample_rate_hz} s was accepted"
            for wave in plan.outputs.values():
                if not np.all(np.isfinite(wave)):
                    return "a non-finite output waveform was accepted"
                unique[id(wave)] = wave.nbytes
        if sum(unique.values()) > MAX_PLANNED_BYTES:
            return "more than the planned-memory bound was accepted"
    bad = [f for f in floats if not math.isfinite(f) or abs(f) > 1e12]
    return f"accepted values {bad[:3]}" if bad else None


def _problem_line_faults(problems: list[Problem]) -> list[str]:
    faults = []
    for p in problems:
        line = str(p)
        if len(line) > MAX_LINE_CHARS or len(line.splitlines()) != 1:
            faults.append(f"line of {len(line)} chars / {len(line.splitlines())} lines: {line[:120]!r}")
    return faults


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="the hang detector uses SIGALRM")
def test_fuzzed_inputs_are_refused_cleanly(tmp_path, monkeypatch):
    """>= 1,000 mutated files: 0 tracebacks, 0 hangs, 0 unsafe values accepted, 0 files written."""
    monkeypatch.chdir(tmp_path)  # anything written relative to the working folder would land here
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    cases = make_cases(seed=12, n=N_CASES)
    failures: list[str] = []
    refused = accepted = 0
    for case in cases:
        is_profile = case.base in PROFILES
        path = inputs / ("profile.yaml" if is_profile else "protocol.yaml")
        path.write_text(case.text, encoding="utf-8")
        try:
            ok, problems = _with_timeout(CASE_TIMEOUT_S, lambda: validate_files([path], None))
            failures += [f"{case.label}: {fault}" for fault in _problem_line_faults(problems)]
            if problems:
                refused += 1
            else:
                accepted += 1
                if case.unsafe:
                    failures.append(f"{case.label}: an unsafe value was accepted")
                why = _with_timeout(CASE_TIMEOUT_S, lambda: _accepted_is_safe(path, is_profile))
                if why:
                    failures.append(f"{case.label}: {why}")
        except _Hang:
            failures.append(f"{case.label}: no answer within {CASE_TIMEOUT_S} s")
        except Exception as exc:  # noqa: BLE001 - any exception here is a traceback the user would see
            failures.append(f"{case.label}: {exc.__class__.__name__}: {str(exc)[:200]}")
        path.unlink()
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p != inputs)
    assert written == [], f"files written: {written[:5]}"
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures[:30])
    assert len(cases) >= 1_000 and refused > 0.5 * len(cases) and accepted > 0.02 * len(cases), (refused, accepted)


def test_every_non_finite_or_absurd_safety_limit_is_refused():
    """Each safety limit of the shipped profiles, set to NaN, +-inf, 0, negative or 1e300: refused."""
    base = yaml.safe_load(PROFILE.read_text())
    limit_paths = [p for p in _paths(base) if str(p[-1]) in SAFETY_LIMITS or (
        len(p) > 1 and str(p[-2]) in SAFETY_LIMITS)]
    assert len(limit_paths) >= 10
    for path in limit_paths:
        for value in (float("nan"), float("inf"), float("-inf"), 1e300, -1e300):
            data = copy.deepcopy(base)
            _set(data, path, value)
            with pytest.raises(InvalidInput) as caught:
                validate_data(HardwareProfile, data, "p.yaml")
            dotted = ".".join(map(str, path))
            limit = next(str(part) for part in reversed(path) if str(part) in SAFETY_LIMITS)
            assert any(dotted.startswith(p.field) and (limit in p.field or limit in p.message)
                       for p in caught.value.problems), (path, value, caught.value.problems)


@pytest.mark.parametrize("override", [
    "interval_s=.inf", "holding_mV=.nan", "recovery_ms=1e9", "sweeps=1e9", "line_rate_hz=-1",
    "steps.0.bleach.point_um=[.nan, 0]", "steps.0.line=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "steps.0.99999999999999999999.x=1", "steps.0.name=" + "n" * 10_001, "bogus.path=&a [*a]",
], ids=lambda override: override[:40])
def test_fuzzed_overrides_are_refused_in_one_short_line(override):
    with pytest.raises(InvalidInput) as caught:
        compile_protocol(load_protocol(FRAP, [override]), load_profile(PROFILE))
    assert caught.value.problems
    assert not _problem_line_faults(caught.value.problems)


def test_apply_overrides_never_raises_anything_but_invalid_input():
    """Random override strings on the FRAP data: either applied or InvalidInput, never another exception."""
    rng = random.Random(5)
    data = yaml.safe_load(FRAP.read_text())
    keys = ["sweeps", "steps", "steps.0", "steps.0.bleach", "steps.x", "steps.-1", "steps.0.line.start_um.1",
            "name", "description", "", ".", "steps..", "clamp.mode", "steps.0.kind", "²", "steps.²"]
    values = ["1", "[", "{", "&a [*a]", ".inf", "-0", "~", "!!binary aGk=", "2024-13-45", "9" * 5000, "'",
              "[1, 2", "é", "- a\n- b", "a: b: c"]
    for _ in range(500):
        item = f"{rng.choice(keys)}{rng.choice(['=', '', '=='])}{rng.choice(values)}"
        try:
            apply_overrides(data, [item])
        except InvalidInput as exc:
            assert not _problem_line_faults(exc.problems), item


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("[]{}&*!:,-?|>'\"#%@`~ \n\tab01.e+é\u202e")), max_size=120),
       st.sampled_from(["sweeps", "steps.0.bleach.duration_ms", "interval_s", "steps.0.line", "name"]))
def test_any_text_as_yaml_or_override_is_data_or_one_short_problem(text, key):
    """Hypothesis-made YAML fragments: the loader and --set give data or InvalidInput, nothing else."""
    for attempt in (lambda: parse_yaml_text(text, "f.yaml"),
                    lambda: compile_protocol(load_protocol(FRAP, [f"{key}={text}"]), load_profile(PROFILE))):
        try:
            attempt()
        except InvalidInput as exc:
            assert not _problem_line_faults(exc.problems), text


def _run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "rig", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


@pytest.mark.slow
def test_real_commands_on_fuzzed_files_exit_2_without_traceback_or_file(tmp_path):
    """The installed `rig validate` and `rig run`: exit 2, short lines, no traceback, nothing in --out."""
    frap = FRAP.read_text()
    profile = PROFILE.read_text()
    files = {
        "inf_limit.yaml": profile.replace("max_bleach_duration_ms: 2.0", "max_bleach_duration_ms: .inf"),
        "evil_backend.yaml": profile.replace("backend: simulated", "backend: os:system"),
        "long_recovery.yaml": frap.replace("recovery_ms: 1000", "recovery_ms: 1e9"),
        "nan_roi.yaml": frap.replace("point_um: [1.288, 0.0]", "point_um: [.nan, 0.0]"),
        "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)) + frap,
        "deep.yaml": frap + "\nx: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "huge.yaml": frap + "\ndescription2: " + "z" * 5_000_000 + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = _run_cli(["validate", *files], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(files), proc.stderr[:2000]
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert "Traceback" not in proc.stderr + proc.stdout
    for name in files:
        assert sum(line.startswith(f"{name}: ") for line in lines) == 1, (name, lines)
    profile_args = ["--profile", "inf_limit.yaml"]
    for args in (["long_recovery.yaml"], ["nan_roi.yaml"], ["bomb.yaml"], ["deep.yaml"], ["huge.yaml"],
                 [str(FRAP), *profile_args], [str(FRAP), "--profile", "evil_backend.yaml"],
                 [str(FRAP), "--set", "interval_s=.inf"]):
        out = tmp_path / "out"
        proc = _run_cli(["run", *args, "--out", str(out), "--quiet"], tmp_path)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr + proc.stdout, args
        assert all(len(line) <= MAX_LINE_CHARS for line in proc.stderr.splitlines()), args
        assert not out.exists() or not any(out.iterdir()), args
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "out") == sorted(files)
