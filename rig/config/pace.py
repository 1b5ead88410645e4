"""The rehearsal switch: a simulated profile paced to the wall clock ('realtime') or as fast as it computes."""

from __future__ import annotations

from typing import Literal

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile

Pace = Literal["fast", "realtime"]
PACES: tuple[str, ...] = ("fast", "realtime")


def with_pace(loaded: LoadedProfile, pace: str, source: str = "--pace") -> LoadedProfile:
    """The profile with `simulation.pace` set (noted in its stored text); InvalidInput for a real rig."""
    sim = loaded.profile.simulation
    if pace not in PACES:
        raise InvalidInput([Problem(source, "", f"'{pace}' is not a pace; allowed: {', '.join(PACES)}")])
    if sim is None:
        raise InvalidInput([Problem(source, str(loaded.path), "only a simulated profile has a pace (this profile "
                                    "drives real hardware, which runs in real time)")])
    if sim.pace == pace:
        return loaded
    profile = loaded.profile.model_copy(update={"simulation": sim.model_copy(update={"pace": pace})})
    text = loaded.text + f"\n# {source} {pace}: simulation.pace set to {pace}\n"
    return LoadedProfile(loaded.path, text, profile)
