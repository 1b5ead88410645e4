"""The live traces' y range: grows to hold the data, never shrinks within a sweep, leaves the operator's zoom."""

import numpy as np
import pyqtgraph as pg

from rig.gui.panels.traces import _Overlay


def _y(overlay: _Overlay) -> tuple[float, float]:
    low, high = overlay.plot.getViewBox().viewRange()[1]
    return low, high


def test_range_grows_with_the_trace_holds_within_a_sweep_and_respects_the_operators_zoom(qtbot):
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    overlay = _Overlay(widget.addPlot(row=0, col=0))
    t = np.arange(100.0)
    overlay.current.setData(t, np.linspace(0.0, 1.0, 100))
    overlay.fit_y()
    first = _y(overlay)
    assert first[0] < 0.0 and first[1] > 1.0  # with headroom
    overlay.current.setData(t, np.linspace(0.0, 0.5, 100))
    overlay.fit_y()
    assert _y(overlay) == first, "within a sweep the range must not move for data it already holds"
    overlay.current.setData(t, np.linspace(0.0, 3.0, 100))
    overlay.fit_y()
    assert _y(overlay)[1] > 3.0
    overlay.plot.getViewBox().setYRange(10.0, 20.0, padding=0.0)  # the operator zooms
    zoomed = _y(overlay)
    overlay.current.setData(t, np.linspace(0.0, 5.0, 100))
    overlay.fit_y()
    assert _y(overlay) == zoomed
    overlay.plot.getViewBox().enableAutoRange(y=True)  # the plot's auto button gives the range back
    overlay.fit_y()
    low, high = _y(overlay)
    assert low < 0.0 and high > 5.0 and not overlay.plot.getViewBox().state["autoRange"][1]
    overlay.refit()  # a new sweep: the range may shrink
    overlay.current.setData(t, np.linspace(0.0, 0.5, 100))
    overlay.fit_y()
    assert _y(overlay)[1] < 1.0
