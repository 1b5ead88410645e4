"""Validation problems: one clear line each, naming the file, the field and what is allowed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

MAX_LINE_CHARS = 200  # one problem, one readable line (issue 12 item 6)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where (file and field path) and what is wrong."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        """`source: field: message`, abbreviated to at most MAX_LINE_CHARS characters on one line."""
        return format_problem(self.source, self.field, self.message)


def abbreviate(text: str, limit: int, head_share: float = 0.75) -> str:
    """`text` on one line (non-printable characters escaped), cut in the middle with '...' when longer
    than `limit` characters."""
    text = str(text)
    if len(text) > 4 * limit + 8:  # cut a huge value before escaping it (a 5 MB string stays cheap)
        text = text[: 2 * limit] + "..." + text[-2 * limit:]
    if not text.isprintable():  # line breaks, NUL, bidi overrides: shown as escapes, never acted on
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    if len(text) <= limit:
        return text
    if limit <= 3:
        return text[:limit]
    head = int((limit - 3) * head_share)  # a message's start says what is wrong; a path's end names the file
    tail = limit - 3 - head
    return text[:head] + "..." + (text[-tail:] if tail else "")


def format_problem(source: str, field: str, message: str, limit: int = MAX_LINE_CHARS) -> str:
    """One line naming source, field and message, at most `limit` characters: a long source path is cut
    first (to 60, keeping its file name), then the message (to 80), the source (to 40), the field (to 40)."""
    source, field, message = abbreviate(source, limit), abbreviate(field, limit), abbreviate(message, limit)

    def join() -> str:
        return f"{source}: {field}: {message}" if field else f"{source}: {message}"

    for part, floor in (("source", 60), ("message", 80), ("source", 40), ("field", 40), ("message", 10)):
        over = len(join()) - limit
        if over <= 0:
            break
        if part == "message":
            message = abbreviate(message, max(floor, len(message) - over))
        elif part == "field" and field:
            field = abbreviate(field, max(floor, len(field) - over))
        elif part == "source":
            source = abbreviate(source, max(floor, len(source) - over), head_share=0.25)
    return join()[:limit]


class InvalidInput(Exception):
    """Raised when one or more inputs fail validation; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def field_path(loc: Iterable[Any]) -> str:
    """Render a pydantic location tuple as a dotted path (`steps.0.bleach.duration_ms`)."""
    return ".".join(str(part) for part in loc)


def _submodel(model: Any, part: Any, node: Any) -> Any:
    """Return the pydantic model class that validates `node` reached through `part`."""
    import typing

    if isinstance(model, type) and issubclass(model, BaseModel):
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        return _resolve_annotation(model.model_fields[part].annotation, node, typing)
    return model


def _resolve_annotation(annotation: Any, node: Any, typing: Any) -> Any:
    """Find the model inside an annotation (Optional, list, dict, discriminated union)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _resolve_annotation(args[0], node, typing)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (list, tuple) and args:
        return _ListOf(args[0])
    if origin is dict and len(args) == 2:
        return _ListOf(args[1])
    if args:  # Union / Optional: pick by discriminator `kind` or the first model
        candidates = [_resolve_annotation(a, node, typing) for a in args]
        models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if isinstance(node, dict) and "kind" in node:
            for m in models:
                kind_field = m.model_fields.get("kind")
                if kind_field is not None and node["kind"] in typing.get_args(kind_field.annotation):
                    return m
        others = [c for c in candidates if c is not None]
        return models[0] if len(models) == 1 else (others[0] if others else None)
    return None


class _ListOf:
    """Marker for a container whose items are validated by a model."""

    def __init__(self, item: Any):
        self.item = item


def _strip_union_tags(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop the discriminator tags pydantic inserts into locations of union members."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # a tag of a discriminated union, not a field
        elif isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue  # pydantic's names for union members and validators
        else:
            node = None
            out.append(part)
    return tuple(out)


def problems_from_validation_error(
    error: ValidationError, source: str, data: Any, model: type[BaseModel]
) -> list[Problem]:
    """Turn a pydantic ValidationError into one Problem per error, with allowed keys/values."""
    problems: list[Problem] = []
    for err in error.errors(include_url=False):
        loc = _strip_union_tags(tuple(err["loc"]), data)
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys_with_lists(model, data, loc)
            key = _short(loc[-1], 40) if not isinstance(loc[-1], str) else abbreviate(loc[-1], 40)
            hint = ""
            if allowed:
                close = difflib.get_close_matches(str(loc[-1])[:100], allowed, n=2, cutoff=0.6)
                guess = f"did you mean {' or '.join(close)}? " if close else ""
                hint = f" ({guess}allowed: {', '.join(allowed)})"
            message = f"unknown key '{key}'{hint}"
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            message = f"unknown kind '{ctx.get('tag')}' (allowed: {ctx.get('expected_tags')})"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":  # our own validators: the message already says what is allowed
            message = str(err["msg"]).removeprefix("Value error, ")
        else:
            message = err["msg"]
            if kind == "finite_number":
                message = "Input should be a finite number (NaN and infinity are not allowed)"
            if "input" in err and kind not in ("model_type", "dict_type"):
                message += f" (got {_short(err['input'])})"
        problems.append(Problem(source, field_path(loc), message))
    return problems


def _allowed_keys_with_lists(model: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> list[str] | None:
    """Like `_allowed_keys` but steps through list/dict containers of models."""
    current: Any = model
    node = data
    for part in loc[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
        if isinstance(current, _ListOf):
            import typing

            current = _resolve_annotation(current.item, node, typing)
        else:
            current = _submodel(current, part, node)
        if current is None:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return None


def _short(value: Any, limit: int = 60) -> str:
    """A short repr of an offending input value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
