"""Profile sections that belong to a backend: rig reads only their common part, the backend's schema the rest.

The `simulation:` section describes the simulated specimen; its schema is the simulated backend's
(`simulated_devices/specimen_config.py`), found through the backend registry
(rig.config.backend_registry.section_schema), so rig/config never imports the simulation. Rig itself reads one
field of it: the pace (`--pace`, the GUI's title).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ValidationError

from rig.config.backend_registry import BackendLoadError, section_schema
from rig.config.base import StrictModel
from rig.config.problems import InvalidInput, Problem, problems_from_validation_error


class SimulatedRigSection(StrictModel):
    """What rig reads of a profile's `simulation:` section; the simulated backend's schema extends it."""

    pace: Literal["fast", "realtime"] = "fast"


def validate_section(key: str, data: object, source: str, base: type[BaseModel]) -> BaseModel:
    """A backend's profile section validated by that backend's schema (a subclass of `base`); InvalidInput with
    one problem per fault, each naming `<key>.<field>`."""
    from rig.config.bounds import bound_problems

    try:
        schema = section_schema(key)
    except BackendLoadError as exc:
        raise InvalidInput([Problem(source, key, str(exc))]) from None
    if not (isinstance(schema, type) and issubclass(schema, base)):
        raise InvalidInput([Problem(source, key, f"the registered schema of '{key}' is not a {base.__name__}")])
    try:
        validated = schema.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, source, data, schema)
    else:
        problems = bound_problems(validated, source)
    if problems:
        raise InvalidInput([Problem(p.source, f"{key}.{p.field}" if p.field else key, p.message) for p in problems])
    return validated
