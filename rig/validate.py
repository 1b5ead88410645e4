"""`rig validate`: check hardware profiles and protocol files, one problem per line.

Imports only what validation needs (the config schemas, the kinds a protocol names), not the
run machinery (rig.api, storage, the simulator).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from rig.config.problems import InvalidInput, Problem

if TYPE_CHECKING:
    from rig.config.profile import LoadedProfile

# Profiles protocols were checked against, by (resolved path, mtime, size): validating many
# protocols (or one protocol many times) reads and validates the profile once.
_PROFILE_CACHE: dict[tuple[str, int, int], "LoadedProfile"] = {}


def validate_files(files: Sequence[Path], profile_path: Path | None) -> tuple[list[str], list[Problem]]:
    """Check each file (profile or protocol; protocols against a profile's limits): ok lines and problems."""
    from rig.config.profile import profile_from_data
    from rig.config.yaml_loading import read_yaml

    ok: list[str] = []
    problems: list[Problem] = []
    for path in files:
        try:
            text, data = read_yaml(path)
            if "devices" in data:
                loaded = profile_from_data(path, text, data)
                if "ni" in {loaded.profile.backend, *(d.backend for d in loaded.profile.devices.values())}:
                    from rig.backends.ni.profile_check import check_ni_profile

                    found = check_ni_profile(loaded.profile, str(path))
                    if found:
                        raise InvalidInput(found)
                if loaded.profile.micromanager is not None:  # the .cfg against the camera/trigger/exposure-out
                    from rig.backends.micromanager.config_file import config_file_problems

                    if cfg_found := config_file_problems(loaded.profile, path):
                        raise InvalidInput(cfg_found)
                _remember_profile(path, loaded)  # a protocol after it is checked against it without a second read
            elif "steps" in data:
                from rig.protocols.protocol_file import compile_protocol, protocol_from_data  # numpy, the kinds

                compile_protocol(protocol_from_data(path, text, data), _profile_for_protocols(profile_path))
            else:
                raise InvalidInput([Problem(str(path), "", "neither a hardware profile (needs 'devices') nor a "
                                                           "protocol (needs 'steps')")])
            ok.append(f"{path}: ok")
        except InvalidInput as exc:
            problems += exc.problems
    return ok, problems


def _profile_for_protocols(profile_path: Path | None) -> "LoadedProfile":
    """The profile protocols are checked against (default: the simulated one), loaded once per version."""
    from rig.config.profile import default_profile_path, load_profile

    path = profile_path or default_profile_path()
    key = _cache_key(path)
    if key is None:
        return load_profile(path)  # raises the one-line problem (file not found, ...)
    if key not in _PROFILE_CACHE:
        _remember_profile(path, load_profile(path))
    return _PROFILE_CACHE[key]


def _cache_key(path: Path) -> tuple[str, int, int] | None:
    """(resolved path, mtime, size) of a profile file, or None when it cannot be read."""
    try:
        stat = path.stat()
        return str(path.resolve()), stat.st_mtime_ns, stat.st_size
    except OSError:
        return None


def _remember_profile(path: Path, loaded: "LoadedProfile") -> None:
    """Keep a profile that passed every check, for the protocols checked against it."""
    key = _cache_key(path)
    if key is not None:
        if len(_PROFILE_CACHE) > 16:
            _PROFILE_CACHE.clear()
        _PROFILE_CACHE[key] = loaded
