"""Light delivered to a spine, from a sweep's commanded outputs (two-photon weighted: power fraction squared x ms)."""

from __future__ import annotations

from rig.session.dose import spine_dose_p2ms  # noqa: F401  (one source; the window's meter uses it)


def spine_key(target_um: tuple[float, float] | None) -> str:
    """A label for a spine: its head position rounded to 0.1 um."""
    if target_um is None:
        return ""
    return f"({target_um[0]:.1f}, {target_um[1]:.1f}) um"
