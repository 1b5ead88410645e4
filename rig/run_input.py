"""A run's input checked before anything heavy is imported: profile, protocol, overrides, every plan.

`rig run` calls this first, so bad input is refused (exit 2, one line per problem) without importing the
run machinery (storage, h5py, the engine's runner, the simulated rig); rig.api re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile, default_profile_path, load_profile
from rig.protocols.protocol_file import CompiledProtocol, compile_protocol, load_protocol


@dataclass(frozen=True)
class PreparedRun:
    """A validated profile and protocol with every plan checked: nothing has moved yet."""

    profile: LoadedProfile
    compiled: CompiledProtocol


def prepare_run(protocol: Path | str, profile: Path | str | None = None, overrides: Sequence[str] = (),
                sweeps: int | None = None) -> PreparedRun:
    """Load and check everything a run needs; raise InvalidInput (with every problem) on bad input."""
    overrides = list(overrides)
    if sweeps is not None:
        if sweeps <= 0:
            raise InvalidInput([Problem("--sweeps", "", f"must be a positive whole number (got {sweeps})")])
        overrides.append(f"sweeps={sweeps}")
    loaded_profile = load_profile(Path(profile) if profile is not None else default_profile_path())
    loaded_protocol = load_protocol(Path(protocol), overrides)
    return PreparedRun(loaded_profile, compile_protocol(loaded_protocol, loaded_profile))
