"""Traces panel: ephys and head fluorescence drawn live during each sweep, over previous sweeps and the
running average, and the line-scan kymograph."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rig.engine.records import DataChunk, Record, RunStarted, SweepEnded, SweepStarted
from rig.gui import theme
from rig.gui.line_scan_view import head_trace, kymograph
from rig.gui.sweep_buffers import SweepBuffers

_MAX_PREVIOUS = 5


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points without a value (lines not yet scanned, bleach slots): peak downsampling spreads NaN."""
    ok = np.isfinite(y)
    return x[ok], y[ok]


class _Overlay:
    """One plot with curves for the current sweep, the previous sweeps and the running average."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.15)
        self.previous = [plot.plot(pen=pg.mkPen(theme.PREVIOUS_PEN)) for _ in range(_MAX_PREVIOUS)]
        self.average = plot.plot(pen=pg.mkPen(theme.AVERAGE_PEN, width=2), name="average")
        self.current = plot.plot(pen=pg.mkPen(theme.CURRENT_PEN, width=1), name="current")

    def clear(self) -> None:
        for curve in (*self.previous, self.average, self.current):
            curve.setData([], [])

    def set_history(self, x_of, previous: list[np.ndarray], average: np.ndarray | None) -> None:
        for curve, data in zip(self.previous, list(previous)[-_MAX_PREVIOUS:] + [None] * _MAX_PREVIOUS):
            if data is None:
                curve.setData([], [])
            else:
                curve.setData(*x_of(data))
        if average is None:
            self.average.setData([], [])
        else:
            self.average.setData(*x_of(average))


class TracesPanel(QWidget):
    """Live traces of the protocol run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.buffers = SweepBuffers(_MAX_PREVIOUS)
        self.channel = QComboBox()
        self.roi_radius_um = 0.3
        self.info = QLabel("no run yet")
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.ephys = _Overlay(self.layout_widget.addPlot(row=0, col=0, title="ephys"))
        self.fluor = _Overlay(self.layout_widget.addPlot(row=1, col=0, title="head fluorescence (counts/line)"))
        self.kymo_plot = self.layout_widget.addPlot(row=2, col=0, title="kymograph")
        self.kymo = pg.ImageItem()
        self.kymo.setColorMap(pg.colormap.get("inferno"))
        self.kymo_plot.addItem(self.kymo)
        for p in (self.fluor.plot, self.kymo_plot):
            p.setXLink(self.ephys.plot)
        self.ephys.plot.setLabel("bottom", "time (ms)")
        self.kymo_plot.setLabel("left", "along line (um)")
        self.kymo_plot.setLabel("bottom", "time (ms)")
        self._drawn_version = -1
        self._history_version = -1
        self._history_changed = 0
        self._ranged_plan = None
        self.redraws = 0
        top = QHBoxLayout()
        top.addWidget(QLabel("ephys channel"))
        top.addWidget(self.channel, 1)
        top.addWidget(self.info, 2)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.layout_widget, 1)
        self.channel.currentTextChanged.connect(lambda _: self._force_redraw())

    def _force_redraw(self) -> None:
        self._drawn_version = -1
        self._history_version = -1

    def handle(self, record: Record) -> None:
        """Take a record of the protocol run (GUI thread)."""
        if isinstance(record, RunStarted):
            self.buffers.reset()
            for overlay in (self.ephys, self.fluor):
                overlay.clear()
            self.kymo.clear()
            ephys = sorted({c for p in record.plans for c in p.inputs if p.amplifier and c.startswith(p.amplifier)})
            current = self.channel.currentText()
            self.channel.blockSignals(True)
            self.channel.clear()
            self.channel.addItems(ephys)
            if current in ephys:
                self.channel.setCurrentText(current)
            self.channel.blockSignals(False)
        elif isinstance(record, SweepStarted):
            self.buffers.start_sweep(record.sweep_index, record.plan)
            self.info.setText(f"sweep {record.sweep_index + 1}: {record.plan.step_name} ({record.plan.kind})")
            roi = record.plan.parameters.get("analysis", {}) if record.plan.parameters else {}
            self.roi_radius_um = float(roi.get("head_roi_radius_um", 0.3)) if isinstance(roi, dict) else 0.3
        elif isinstance(record, DataChunk) and record.channel.startswith("in:"):
            self.buffers.add_chunk(record.sweep_index, record.channel[3:], record.first_sample, record.samples)
        elif isinstance(record, SweepEnded):
            self.buffers.end_sweep(record.sweep_index, record.completed)
            self._history_changed += 1

    def redraw(self) -> bool:
        """Draw what changed since the last call; True when something was drawn."""
        b = self.buffers
        if b.version == self._drawn_version or b.plan is None:
            return False
        self._drawn_version = b.version
        plan = b.plan
        if plan is not self._ranged_plan:  # the time axis spans the sweep; the traces grow across it
            self._ranged_plan = plan
            self.ephys.plot.setXRange(0.0, plan.duration_s * 1000.0, padding=0.01)
        t = b.time_ms()
        ephys = b.channels.get(self.channel.currentText())
        pmt = plan.parameters.get("pmt_channel") if plan.line_scan is not None else None
        pmt_hist = b.channels.get(pmt) if pmt else None
        if self._history_version != self._history_changed:
            self._history_version = self._history_changed
            self._draw_history(plan, t, ephys, pmt_hist)
        if ephys is not None:
            n = ephys.filled
            self.ephys.current.setData(t[:n], ephys.current[:n])
        if pmt_hist is not None:
            self.fluor.current.setData(*_finite(*head_trace(pmt_hist.current, plan, self.roi_radius_um)))
            layout = plan.line_scan
            self.kymo.setImage(kymograph(pmt_hist.current, plan).T, autoLevels=False,
                               levels=self._levels(pmt_hist.current))
            self.kymo.setRect(QRectF(0, 0, plan.duration_s * 1000.0, layout.line_length_um))
        self.redraws += 1
        return True

    def _draw_history(self, plan, t: np.ndarray, ephys, pmt_hist) -> None:
        if ephys is not None:
            self.ephys.set_history(lambda y: (t[:y.shape[0]], y), list(ephys.previous), ephys.average)
            unit = "pA" if plan.amplifier_mode == "VC" and self.channel.currentText().endswith("primary") else "mV"
            self.ephys.plot.setLabel("left", self.channel.currentText(), units=unit)
        else:
            self.ephys.clear()
        if pmt_hist is not None:
            self.fluor.set_history(lambda y: _finite(*head_trace(y, plan, self.roi_radius_um)), list(pmt_hist.previous),
                                   pmt_hist.average)
        else:
            self.fluor.clear()

    @staticmethod
    def _levels(samples: np.ndarray) -> tuple[float, float]:
        finite = samples[np.isfinite(samples)]
        if finite.size == 0:
            return 0.0, 1.0
        return 0.0, max(1.0, float(np.percentile(finite[:: max(1, finite.size // 5000)], 99.5)))
