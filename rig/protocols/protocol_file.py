"""Protocol files: schema (a list of steps of known kinds), overrides, and compilation to checked plans."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field, create_model, model_validator

from rig.config.base import StrictModel
from rig.config.bounds import MAX_COUNT
from rig.config.budgets import BudgetSpec
from rig.config.problems import InvalidInput, Problem
from rig.config.profile import HardwareProfile, LoadedProfile
from rig.config.yaml_loading import parse_yaml_text, read_yaml, validate_data
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.limits import (
    MAX_PLANNED_BYTES,
    check_planned_memory,
    check_plans,
    estimate_step_bytes,
    segments_problem,
)
from rig.protocols import STEP_KINDS
from rig.protocols.step_runs import build_step_program
from rig.protocols.stopping import until_problem

MAX_STEPS = 1_000

class ProtocolFile(StrictModel):
    """A protocol: a name and an ordered list of steps (e.g. FRAP, hold at 0 mV, FRAP again).

    Validate with `protocol_schema(kinds)`, whose steps are the schemas of those kinds: the
    registry imports only the kinds a protocol uses.
    """

    name: str
    description: str = ""
    budgets: BudgetSpec | None = Field(default=None, description="per-spine budgets for this protocol's runs "
                                       "(replace the profile's)")
    steps: list[Any] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _unique_names(self) -> "ProtocolFile":
        names = [s.name or s.kind for s in self.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"step names must be unique; give each step a 'name' (repeated: {', '.join(dupes)})")
        return self

    def step_names(self) -> list[str]:
        """Each step's effective name."""
        return [s.name or s.kind for s in self.steps]


@lru_cache(maxsize=64)
def protocol_schema(kinds: frozenset[str] | None = None) -> type[ProtocolFile]:
    """ProtocolFile whose steps are one of `kinds` (every registered kind when None), by their `kind`."""
    names = [k for k in STEP_KINDS if kinds is None or k in kinds]
    schemas = tuple(STEP_KINDS[k].schema for k in names)
    step: Any = schemas[0] if len(schemas) == 1 else Annotated[Union[schemas], Field(discriminator="kind")]
    # a module-level name, so a loaded protocol pickles (and unpickles through __getattr__ below)
    class_name = _SCHEMA_PREFIX + ("__".join(names) if kinds is not None else "all")
    model = create_model(class_name, __base__=ProtocolFile, __module__=__name__,
                         steps=(list[step], Field(min_length=1, max_length=MAX_STEPS)))
    globals()[class_name] = model
    return model


_SCHEMA_PREFIX = "ProtocolFile__"


def __getattr__(name: str) -> Any:
    """Module attribute hook: `ProtocolFile__frap__hold` is the schema of protocols of those kinds."""
    if name.startswith(_SCHEMA_PREFIX):
        rest = name[len(_SCHEMA_PREFIX):]
        kinds = None if rest == "all" else frozenset(rest.split("__"))
        if kinds is None or all(k in STEP_KINDS for k in kinds):
            return protocol_schema(kinds)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _kinds_in(data: Any) -> frozenset[str] | None:
    """The kinds a protocol's steps name, or None when any step names no registered kind."""
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not steps:
        return None
    kinds: set[str] = set()
    for step in steps:
        kind = step.get("kind") if isinstance(step, dict) else None
        if not isinstance(kind, str) or kind not in STEP_KINDS:
            return None
        kinds.add(kind)
    return frozenset(kinds)


@dataclass(frozen=True)
class LoadedProtocol:
    """A validated protocol with its source, text and the overrides applied to it."""

    path: Path
    text: str
    overrides: tuple[str, ...]
    protocol: ProtocolFile


@dataclass
class CompiledProtocol:
    """A checked protocol: every plan of fixed steps and the envelope of adaptive ones, and each step's planned
    sweep count (for a step whose program chooses its sweeps, the count it expects, not its envelope's length)."""

    loaded: LoadedProtocol
    plans: list[SweepPlan] = field(default_factory=list)
    step_planned_sweeps: list[int] = field(default_factory=list)

    @property
    def planned_sweeps(self) -> int:
        """The sweeps the protocol is expected to run."""
        return sum(self.step_planned_sweeps)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key=value` overrides: a dotted path (`steps.0.sweeps=3`, `budgets.led_mW_ms=5000`), a top-level field
    (`name`, `description`, `budgets`) or a step field set on every step whose kind has it (`sweeps=3`). Values
    are YAML scalars, lists or flow mappings."""
    result = copy.deepcopy(data)
    problems: list[Problem] = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem("--set", item, "expected key=value"))
            continue
        try:
            value = parse_yaml_text(raw, "--set")
        except InvalidInput as exc:
            problems += [Problem("--set", key, p.message) for p in exc.problems]
            continue
        path = key.split(".")
        if path[0] in ("steps", "name", "description", "budgets"):
            if not _set_path(result, path, value):
                problems.append(Problem("--set", key, "no such field in the protocol"))
            continue
        hits = 0
        steps = result.get("steps")
        for step in steps if isinstance(steps, list) else []:
            schema = _step_schema(step.get("kind")) if isinstance(step, dict) else None
            if schema is not None and path[0] in schema.model_fields:
                _set_path(step, path, value)
                hits += 1
        if hits == 0:
            problems.append(Problem("--set", key, "no step of this protocol has that field"))
    if problems:
        raise InvalidInput(problems)
    return result


def _step_schema(kind: Any) -> type[StrictModel] | None:
    found = STEP_KINDS.get(kind) if isinstance(kind, str) else None
    return found.schema if found is not None else None


def _set_path(node: Any, path: list[str], value: Any) -> bool:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit() and len(part) < 10) or int(part) >= len(node):
                return False
            if last:
                node[int(part)] = value
                return True
            node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return True
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            return False
    return False


def load_protocol(path: Path, overrides: list[str] | None = None) -> LoadedProtocol:
    """Load a protocol file, apply overrides, validate; raise InvalidInput on any fault."""
    text, data = read_yaml(path)
    return protocol_from_data(path, text, data, overrides)


def protocol_from_data(path: Path, text: str, data: dict[str, Any], overrides: list[str] | None = None
                       ) -> LoadedProtocol:
    """Apply overrides to a protocol already read (by read_yaml) from `path` and validate it."""
    overrides = list(overrides or [])
    data = apply_overrides(data, overrides)
    source = str(path) + (" (with --set " + ", ".join(overrides) + ")" if overrides else "")
    return LoadedProtocol(path, text, tuple(overrides), validate_data(protocol_schema(_kinds_in(data)), data, source))


def compile_protocol(loaded: LoadedProtocol, profile: LoadedProfile) -> CompiledProtocol:
    """Check every step against the profile, compile every plan, and check every plan's limits."""
    source = str(loaded.path)
    problems: list[Problem] = []
    steps = loaded.protocol.steps
    for i, step in enumerate(steps):
        kind = STEP_KINDS[step.kind]
        for p in kind.check(step, profile.profile):
            message = p.message.replace("(devices.", f"({profile.path}: devices.")
            problems.append(Problem(source, f"steps.{i}.{p.field}", message))
        until = None if getattr(step, "until", None) is None else \
            until_problem(step, not kind.fixed_plans, kind.analysis(step) is not None)
        if until is not None:
            problems.append(Problem(source, f"steps.{i}.until", until))
    problems += _bound_problems_before_compile(steps, profile.profile, source)
    if problems:
        raise InvalidInput(problems)
    compiled = CompiledProtocol(loaded)
    for i, step in enumerate(steps):
        try:
            program = build_step_program(step, i, profile.profile)
            compiled.plans += program.envelope()
            compiled.step_planned_sweeps.append(program.planned_sweeps)
        except MemoryError:  # the estimate above missed it; still no traceback and nothing moved
            raise InvalidInput([Problem(source, f"steps.{i}", "its plans do not fit in memory: shorten its "
                                                              "durations, lower its rates or counts")]) from None
        except (ValueError, ArithmeticError) as exc:  # a kind's compile refusing what its check() let through
            raise InvalidInput([Problem(source, f"steps.{i}", f"cannot be planned: {exc}")]) from None
        if len(compiled.plans) > MAX_COUNT:
            raise InvalidInput([Problem(source, f"steps.{i}", f"the protocol plans more than {MAX_COUNT:,} sweeps "
                                                              f"(allowed at most {MAX_COUNT:,})")])
    problems += check_planned_memory(compiled.plans, source)
    if problems:
        raise InvalidInput(problems)
    problems += check_plans(compiled.plans, profile.profile, source)
    if problems:
        raise InvalidInput(problems)
    return compiled


def _bound_problems_before_compile(steps: list[Any], profile: HardwareProfile, source: str) -> list[Problem]:
    """Bounds that depend on the profile, checked before any plan is allocated: every rate within the
    DAQ's clock, and each step's estimated waveform memory within MAX_PLANNED_BYTES."""
    problems: list[Problem] = []
    max_rate = profile.daq.max_sample_rate_hz
    for i, step in enumerate(steps):
        for path, value in _rate_fields(step, f"steps.{i}"):
            if value > max_rate:
                problems.append(Problem(source, path, f"{value:g} Hz exceeds daq.max_sample_rate_hz = {max_rate:g}"))
        if problems:
            continue
        segments = segments_problem(step)
        if segments is not None:
            problems.append(Problem(source, f"steps.{i}.segment_s", segments))
            continue
        estimate = estimate_step_bytes(step, profile)
        if estimate.n_bytes > MAX_PLANNED_BYTES:
            problems.append(Problem(source, f"steps.{i}", estimate.describe()))
    return problems


def _rate_fields(model: Any, path: str) -> list[tuple[str, float]]:
    """(path, value) of every float field named `*_hz` in a step, recursively."""
    found: list[tuple[str, float]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, StrictModel):
            found += _rate_fields(value, f"{path}.{name}")
        elif name.endswith("_hz") and isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append((f"{path}.{name}", float(value)))
    return found
