"""`rig validate`: check hardware profiles and protocol files, one problem per line."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rig.config.problems import InvalidInput, Problem


def validate_files(files: Sequence[Path], profile_path: Path | None) -> tuple[list[str], list[Problem]]:
    """Check each file (profile or protocol; protocols against a profile's limits): ok lines and problems."""
    from rig.config.profile import default_profile_path, load_profile
    from rig.config.yaml_loading import read_yaml
    from rig.protocols.protocol_file import compile_protocol, load_protocol

    ok: list[str] = []
    problems: list[Problem] = []
    for path in files:
        try:
            _, data = read_yaml(path)
            if "devices" in data:
                loaded = load_profile(path)
                if "ni" in {loaded.profile.backend, *(d.backend for d in loaded.profile.devices.values())}:
                    from rig.backends.ni.profile_check import check_ni_profile

                    found = check_ni_profile(loaded.profile, str(path))
                    if found:
                        raise InvalidInput(found)
            elif "steps" in data:
                profile = load_profile(profile_path or default_profile_path())
                compile_protocol(load_protocol(path), profile)
            else:
                raise InvalidInput([Problem(str(path), "", "neither a hardware profile (needs 'devices') nor a "
                                                           "protocol (needs 'steps')")])
            ok.append(f"{path}: ok")
        except InvalidInput as exc:
            problems += exc.problems
    return ok, problems
