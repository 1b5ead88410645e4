"""The operator's placement (scan line, spine point, ROIs) and the step fields of every protocol kind it fills.

What the operator placed on the image is theirs: it survives a protocol switch and is written into
every step field that means the same thing (a FRAP step's `line.*` and `bleach.point_um`, a calcium
step's `imaging.*`, a Na/Ca step's `rois.*`). Items the chosen protocol has no field for are named,
so nothing placed is dropped without the operator being told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from rig.gui.schema_form import value_text

Point = tuple[float, float]

# placement item -> the step fields (paths inside a step) that mean it, in every kind that has one
LINE_START_FIELDS = ("line.start_um", "imaging.start_um")
LINE_END_FIELDS = ("line.end_um", "imaging.end_um")
SPINE_FIELDS = ("bleach.point_um", "imaging.spine_um")
HEAD_ROI_FIELD = "rois.head_um"  # the spine point also centres a Na/Ca head ROI unless a head ROI was placed


@dataclass
class Placement:
    """What the operator placed; None / empty until they place it."""

    line: tuple[Point, Point] | None = None
    spine: Point | None = None
    rois: dict[str, str] = field(default_factory=dict)  # step field (rois.*) -> value text

    def is_empty(self) -> bool:
        """True when nothing was placed yet."""
        return self.line is None and self.spine is None and not self.rois

    def field_values(self) -> dict[str, dict[str, str]]:
        """Placement item ('scan line', 'spine point', 'ROIs') -> step field -> value text."""
        items: dict[str, dict[str, str]] = {}
        if self.line is not None:
            start, end = (value_text(list(p)) for p in self.line)
            items["scan line"] = {**{f: start for f in LINE_START_FIELDS}, **{f: end for f in LINE_END_FIELDS}}
        if self.spine is not None:
            spine = value_text(list(self.spine))
            items["spine point"] = {f: spine for f in SPINE_FIELDS}
            if HEAD_ROI_FIELD not in self.rois:
                items["spine point"][HEAD_ROI_FIELD] = spine
        if self.rois:
            items["ROIs"] = dict(self.rois)
        return items


@dataclass(frozen=True)
class PlacementReport:
    """Which placed items the protocol took (with the fields they went to) and which it has no field for."""

    used: dict[str, tuple[str, ...]]
    unused: tuple[str, ...]

    def text(self, protocol: str) -> str:
        """One line for the operator ('' when nothing was placed)."""
        parts = [f"{item} -> {', '.join(fields)}" for item, fields in self.used.items()]
        if self.unused:
            parts.append(f"not used by {protocol}: {', '.join(self.unused)} (no such field; kept for the next "
                         "protocol)")
        return ("your placement: " + "; ".join(parts)) if parts else ""


def apply_placement(placement: Placement, set_field: Callable[[str, str], int]) -> PlacementReport:
    """Write every placed item into the step fields that mean it; `set_field` returns how many steps took it."""
    used: dict[str, tuple[str, ...]] = {}
    unused: list[str] = []
    for item, values in placement.field_values().items():
        taken = tuple(f for f, text in values.items() if set_field(f, text) > 0)
        if taken:
            used[item] = taken
        else:
            unused.append(item)
    return PlacementReport(used, tuple(unused))
