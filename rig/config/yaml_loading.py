"""Read YAML files into plain data, turning every read or syntax fault into a Problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rig.config.problems import InvalidInput, Problem, problems_from_validation_error

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_yaml(path: Path) -> tuple[str, Any]:
    """Return the text and parsed content of a YAML file, or raise InvalidInput."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(source, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem(source, "", f"cannot read file ({exc.__class__.__name__}: {exc})")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput([Problem(source, where, f"YAML syntax error: {problem}")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, "", "expected a mapping of keys to values at the top level")])
    return text, data


def validate_data(model: type[ModelT], data: Any, source: str) -> ModelT:
    """Validate plain data against a schema; raise InvalidInput naming source and field paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(problems_from_validation_error(exc, source, data, model)) from None
