"""Read YAML files into plain data, turning every read, syntax or size fault into a Problem.

The loader is bounded (issue 12 item 6): a document is at most MAX_DOCUMENT_CHARS characters,
nested at most MAX_DEPTH levels, with at most MAX_ALIASES aliases and MAX_NODES nodes
once every alias is expanded; recursive aliases are refused. A profile or protocol is a few
kilobytes and a handful of levels deep, so these bounds only ever stop a broken or hostile file
(deep nesting that would raise RecursionError, "billion laughs" alias bombs, megabyte strings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rig.config.problems import InvalidInput, Problem, problems_from_validation_error

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_DOCUMENT_CHARS = 262_144  # 256 KiB: 40x the largest shipped profile
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 20_000  # values, counted as composed and again with every alias expanded


class _Mark(Protocol):
    """Where in the document an event or node starts (PyYAML's and libyaml's Mark), 0-based."""

    line: int
    column: int


class _LimitExceeded(Exception):
    """A document beyond one of the loader's bounds; the message says which and what is allowed."""

    def __init__(self, message: str, mark: _Mark | None = None):
        super().__init__(message)
        self.where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on nesting depth and on the number of aliases."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: D102, N803 - PyYAML hook
        # refuse deep flow nesting ([[[[...) while scanning: the scanner's simple-key bookkeeping is
        # quadratic in the flow level, so waiting for the composer to see the depth costs ~1 s
        if self.flow_level >= MAX_DEPTH:
            mark = self.get_mark()
            raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels", mark)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML hook
        event = self.peek_event()  # type: ignore[no-untyped-call]  # the hook is untyped in types-PyYAML
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = event.start_mark
                raise _LimitExceeded(f"more than {MAX_ALIASES} aliases (*name); write the values out",
                                     mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            mark = event.start_mark
            raise _LimitExceeded(f"more than {MAX_NODES:,} values", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = event.start_mark
                raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """Number of nodes the document has once aliases are expanded; raise _LimitExceeded on a cycle
    or beyond MAX_NODES. Iterative, memoised per node (aliases share node objects)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                raise _LimitExceeded(f"expands to more than {MAX_NODES:,} values (aliases of aliases)",
                                     node.start_mark)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _LimitExceeded("a recursive alias (a value that contains itself)", node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _LimitExceeded("a recursive alias (a value that contains itself)", child.start_mark)
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_CLoader = getattr(yaml, "CSafeLoader", None)  # libyaml: ~5x faster than the pure-Python parser


def _check_events(text: str) -> int:
    """Walk libyaml's event stream once (no nodes built), refuse depth, aliases and size beyond the
    bounds; return the number of aliases."""
    assert _CLoader is not None, "called only with libyaml"
    loader = _CLoader(text)
    depth = aliases = nodes = 0
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return aliases
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            nodes += 1
            mark = event.start_mark
            if nodes > MAX_NODES:
                raise _LimitExceeded(f"more than {MAX_NODES:,} values", mark)
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _LimitExceeded(f"more than {MAX_ALIASES} aliases (*name); write the values out",
                                         mark)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels", mark)
    finally:
        loader.dispose()


def parse_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text within the loader's bounds; raise InvalidInput with one Problem on any fault."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidInput([Problem(source, "", f"document has more than {MAX_DOCUMENT_CHARS:,} characters "
                                                f"(allowed at most {MAX_DOCUMENT_CHARS:,})")])
    loader: Any = None
    try:
        if _CLoader is not None:
            aliases = _check_events(text)  # before libyaml's composer, which recurses once per level
            loader = _CLoader(text)
        else:
            loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        if _CLoader is None or aliases:  # without aliases the node count is the expanded size
            _expanded_size(node)
        return loader.construct_document(node)
    except _LimitExceeded as exc:
        raise InvalidInput([Problem(source, exc.where, f"YAML refused: {exc}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["invalid YAML"])[0]
        raise InvalidInput([Problem(source, where, f"YAML syntax error: {problem}")]) from None
    except (ValueError, OverflowError, TypeError, RecursionError) as exc:
        # scalars PyYAML resolves but cannot build: a 5,000-digit integer, a date like 2024-13-45
        raise InvalidInput([Problem(source, "", f"YAML value cannot be read ({exc.__class__.__name__}: {exc})")]) \
            from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path) -> tuple[str, Any]:
    """Return the text and parsed content of a YAML file, or raise InvalidInput."""
    source = str(path)
    try:
        with path.open(encoding="utf-8") as handle:  # read one character past the bound, never more
            text = handle.read(MAX_DOCUMENT_CHARS + 1)
    except FileNotFoundError:
        raise InvalidInput([Problem(source, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem(source, "", f"cannot read file ({exc.__class__.__name__}: {exc})")]) from None
    data = parse_yaml_text(text, source)
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, "", "expected a mapping of keys to values at the top level")])
    return text, data


def validate_data(model: type[ModelT], data: Any, source: str) -> ModelT:
    """Validate plain data against a schema and the generic bounds; raise InvalidInput naming fields."""
    from rig.config.bounds import bound_problems

    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(problems_from_validation_error(exc, source, data, model)) from None
    problems = bound_problems(validated, source)
    if problems:
        raise InvalidInput(problems)
    return validated
