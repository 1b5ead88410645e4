"""Generic bounds every validated profile and protocol obeys, whatever its schema (issue 12 item 6).

Schemas state their own limits; these catch what a schema forgot, by the unit in the field's
name (`_ms`, `_s`, `_hz`) and by type: a time within a sweep is at most a minute, a wait at most
an hour, a rate at most the fastest DAQ clock and at least one per hour, a count at most 100,000,
any other number at most 1e12 in size, a list at most 10,000 items, a text at most 10,000
characters. Non-finite numbers are refused by the schemas themselves (StrictModel).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rig.config.problems import Problem

MAX_SWEEP_MS = 60_000.0  # a sweep, and so every time inside it, is at most 60 s
MAX_WAIT_S = 3_600.0  # an interval or hold is at most an hour
MAX_RATE_HZ = 1e8  # nothing is clocked faster than the fastest DAQ timebase
MIN_RATE_HZ = 1.0 / MAX_WAIT_S  # a rate slower than once an hour is a wait of more than an hour
MAX_COUNT = 100_000  # sweeps, repeats, pixels, segments...
MAX_SEED = 2**63 - 1
MAX_MAGNITUDE = 1e12
MAX_ITEMS = 10_000
MAX_TEXT_CHARS = 10_000


def bound_problems(model: BaseModel, source: str) -> list[Problem]:
    """Every value of a validated model (recursively) beyond the generic bounds, with its field path."""
    problems: list[Problem] = []
    _walk(model, "", "", source, problems)
    return problems


def _join(path: str, part: Any) -> str:
    return f"{path}.{part}" if path else str(part)


def _walk(value: Any, path: str, name: str, source: str, problems: list[Problem]) -> None:
    if len(problems) > 50:  # enough to fix; a broken file should not print thousands of lines
        return
    if isinstance(value, BaseModel):
        for field_name in type(value).model_fields:
            _walk(getattr(value, field_name), _join(path, field_name), field_name, source, problems)
        return
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            problems.append(Problem(source, path, f"{len(value):,} items, allowed at most {MAX_ITEMS:,}"))
            return
        for i, item in enumerate(value):
            _walk(item, _join(path, i), name, source, problems)
        return
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            problems.append(Problem(source, path, f"{len(value):,} entries, allowed at most {MAX_ITEMS:,}"))
            return
        for key, item in value.items():
            _walk(key, path, name, source, problems)
            _walk(item, _join(path, key), name, source, problems)
        return
    message = value_problem(name, value)
    if message is not None:
        problems.append(Problem(source, path, message))


def value_problem(name: str, value: Any) -> str | None:
    """Why one scalar value of field `name` is beyond the generic bounds, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            return f"text of {len(value):,} characters, allowed at most {MAX_TEXT_CHARS:,}"
        return None
    if isinstance(value, int):
        if "seed" in name:
            return None if abs(value) <= MAX_SEED else f"seed {_num(value)} is beyond +-2**63"
        if abs(value) > MAX_COUNT:
            return f"{_num(value)} is beyond the bound of +-{MAX_COUNT:,} for a count or size"
        return None
    if isinstance(value, float):
        is_rate = "_per_" in name
        if name.endswith("_ms") and not is_rate and abs(value) > MAX_SWEEP_MS:
            return f"{_num(value)} ms is beyond {MAX_SWEEP_MS:g} ms (a sweep, and every time in it, is at most 60 s)"
        if name.endswith("_s") and not is_rate and abs(value) > MAX_WAIT_S:
            return f"{_num(value)} s is beyond {MAX_WAIT_S:g} s (an interval or hold is at most an hour)"
        if name.endswith("_hz"):
            if abs(value) > MAX_RATE_HZ:
                return f"{_num(value)} Hz is beyond {MAX_RATE_HZ:g} Hz (the fastest DAQ clock)"
            if name.endswith("rate_hz") and 0 < abs(value) < MIN_RATE_HZ:
                return f"{_num(value)} Hz is below {MIN_RATE_HZ:.3g} Hz (a period of more than an hour)"
        if abs(value) > MAX_MAGNITUDE:
            return f"{_num(value)} is beyond the sanity bound +-{MAX_MAGNITUDE:g}"
    return None


def _num(value: float | int) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else f"{float(value):.3g}"
