"""Na/Ca ROIs on the image: head, neck, dendrite, background and local-background points that become step overrides."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtCore import QObject, pyqtSignal

from rig.gui.schema_form import value_text

Point = tuple[float, float]

# marker name -> (protocol field inside a na_ca step, colour); the two local-background points share one field
ROI_MARKERS: dict[str, tuple[str, str]] = {
    "head": ("rois.head_um", "#f0a060"),
    "neck": ("rois.neck_um", "#e0d070"),
    "dendrite": ("rois.dendrite_um", "#6cb0d8"),
    "background": ("rois.background_um", "#9a9a9a"),
    "local bg 1": ("rois.local_background_um", "#8cc084"),
    "local bg 2": ("rois.local_background_um", "#8cc084"),
}
_LABEL_OFFSET = {"head": (10, -16), "neck": (-12, 22), "dendrite": (-70, -16)}  # px; close markers stay legible
LOCAL_BACKGROUND = ("local bg 1", "local bg 2")


def roi_overrides(points: dict[str, Point]) -> dict[str, str]:
    """Protocol field -> value text for the placed ROIs (local background only when both points are placed)."""
    out = {ROI_MARKERS[name][0]: value_text(list(p)) for name, p in points.items() if name not in LOCAL_BACKGROUND}
    if all(name in points for name in LOCAL_BACKGROUND):
        out["rois.local_background_um"] = value_text([list(points[name]) for name in LOCAL_BACKGROUND])
    return out


class RoiMarkers(QObject):
    """Labelled, draggable markers on a plot; each placement or drag emits the protocol fields it changes."""

    changed = pyqtSignal(str, str)  # protocol field, value text

    def __init__(self, view: pg.PlotWidget):
        super().__init__()
        self.view = view
        self.items: dict[str, pg.TargetItem] = {}

    def place(self, name: str, point: Point) -> None:
        """Put (or move) a marker at a sample-plane point and emit its override."""
        item = self.items.get(name)
        if item is None:
            colour = ROI_MARKERS[name][1]
            item = pg.TargetItem(pos=point, size=11, symbol="o", pen=pg.mkPen(colour, width=2), movable=True,
                                 label=name, labelOpts={"color": colour, "offset": _LABEL_OFFSET.get(name, (10, -10))})
            item.sigPositionChangeFinished.connect(lambda _, n=name: self._emit(n))
            self.view.addItem(item)
            self.items[name] = item
        else:
            item.setPos(*point)
        self._emit(name)

    def points(self) -> dict[str, Point]:
        """Every placed marker's position (um, rounded to nm)."""
        return {name: (round(item.pos().x(), 3), round(item.pos().y(), 3)) for name, item in self.items.items()}

    def overrides(self) -> dict[str, str]:
        """Protocol field -> value text of every placed marker."""
        return roi_overrides(self.points())

    def _emit(self, name: str) -> None:
        field = ROI_MARKERS[name][0]
        text = self.overrides().get(field)
        if text is not None:
            self.changed.emit(field, text)
