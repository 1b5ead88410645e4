"""Rig backends a profile may name: the built-in ones and those installed packages register.

A package adds a backend by declaring an entry point in the group `spinerig.backends`, e.g. in
its pyproject.toml::

    [project.entry-points."spinerig.backends"]
    mylab = "mylab_rig.backend:build_rig"

The target is a function taking a `LoadedProfile` and returning a `rig.engine.rig.Rig`. Nothing
else is ever imported: a profile names a backend, never a module (issue 12 item 5).
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "spinerig.backends"

# Built-in backend name -> "module:function". Imported only when a rig is built, so a machine
# without NI-DAQmx or Micro-Manager can still validate any profile and run the simulated rig.
BUILTIN_BACKENDS: dict[str, str] = {
    "simulated": "simulated_devices.backend:build_rig",
    "ni": "rig.backends.ni.backend:build_rig",
}


# Profile sections whose schema a backend supplies: section key -> "module:Model", imported only to validate a
# profile that has the section (the simulated specimen's schema belongs to simulated_devices, not to rig).
BUILTIN_SECTIONS: dict[str, str] = {
    "simulation": "simulated_devices.specimen_config:SimulationSpec",
}


@dataclass(frozen=True)
class BackendEntry:
    """One backend a profile may name: its target function and who provides it."""

    name: str
    target: str
    provider: str


class BackendLoadError(Exception):
    """A registered backend's target cannot be imported."""


def known_backends() -> dict[str, BackendEntry]:
    """Every backend a profile may name, by name (built-in ones win over a package's of the same name)."""
    return dict(_scan(tuple(sys.path)))


@lru_cache(maxsize=8)
def _scan(search_path: tuple[str, ...]) -> tuple[tuple[str, BackendEntry], ...]:
    """Built-in backends plus the entry points installed on this search path (cached per sys.path)."""
    from importlib.metadata import entry_points

    found = {name: BackendEntry(name, target, "built-in") for name, target in BUILTIN_BACKENDS.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        provider = f"{dist.name} {dist.version}" if dist is not None else "an installed package"
        if ep.name in found:
            log.warning("backend '%s' from %s ignored: the name is already taken by %s", ep.name, provider,
                        found[ep.name].provider)
            continue
        found[ep.name] = BackendEntry(ep.name, ep.value, provider)
    return tuple(found.items())


def backend_problem(name: str) -> str | None:
    """None when `name` is a known backend, else a one-line message listing the known ones."""
    known = known_backends()
    if name in known:
        return None
    shown = name if len(name) <= 40 else name[:37] + "..."
    return f"unknown backend '{shown}' (known: {', '.join(sorted(known))})"


def section_schema(key: str) -> object:
    """The schema (a pydantic model class) a backend supplies for a profile section; BackendLoadError if it
    cannot be imported, KeyError for a section no backend supplies."""
    module_name, _, attr = BUILTIN_SECTIONS[key].partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise BackendLoadError(f"the schema of profile section '{key}' cannot be loaded: {exc}") from None


def load_backend(name: str) -> Callable[..., object]:
    """The build function of a known backend; raise KeyError if unknown, BackendLoadError if it won't import."""
    entry = known_backends()[name]
    module_name, _, attr = entry.target.partition(":")
    try:
        target: object = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise BackendLoadError(f"backend '{name}' ({entry.provider}) cannot be loaded: {exc}") from None
    if not callable(target):
        raise BackendLoadError(f"backend '{name}' ({entry.provider}): {entry.target} is not callable")
    return target
