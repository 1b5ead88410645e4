"""A plot axis that labels only as many values as its length has room for, so a short plot's labels never crowd."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt5.QtGui import QFontMetricsF

LABEL_PITCH = 1.6  # label heights per labelled tick, at least


def nice_step(at_least: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= `at_least` (> 0)."""
    decade = 10.0 ** math.floor(math.log10(at_least))
    return next(m * decade for m in (1.0, 2.0, 5.0, 10.0) if m * decade >= at_least * (1 - 1e-12))


class FittingAxis(pg.AxisItem):
    """pyqtgraph's axis, with the major tick spacing widened until its labels fit the axis length."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        """pyqtgraph's levels, unless their labels would crowd: then one level of labels that fit."""
        levels = super().tickSpacing(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if not levels or span <= 0 or size <= 0:
            return levels
        pitch = QFontMetricsF(self.style.get("tickFont") or self.font()).height() * LABEL_PITCH
        room = max(2, int(size // pitch))  # labels that fit along the axis
        major = levels[0][0]
        if span / major <= room:
            return levels
        return [(nice_step(span / room), 0.0)]
