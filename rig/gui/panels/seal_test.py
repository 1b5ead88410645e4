"""Seal test between protocols: the test pulse's resistance and the holding current over time, by patch stage.

bath: the pipette's resistance (step / steady current); seal: the seal's resistance (GOhm once sealed); cell:
Rs, Rin and Cm from the transient (rig.gui.membrane_test.analyze_pulse). The holding current is the baseline
before each pulse. As operators know it from ACQ4's patch module; the stage only chooses what is computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QComboBox, QFormLayout, QLabel, QPushButton, QWidget

from rig.gui import theme
from rig.gui.membrane_test import MembraneParameters, PulseLevels

STAGES = ("bath", "seal", "cell")
_MAX_POINTS = 3000  # ~5 min of pulses at 10 Hz


@dataclass(frozen=True)
class SealPoint:
    """One test pulse's numbers at a time since the test started."""

    t_s: float
    stage: str
    levels: PulseLevels
    cell: MembraneParameters | None


class SealTestView(QWidget):
    """Stage chooser, the pulse's numbers in words, and two trend plots (resistance, holding current)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.stage = QComboBox()
        self.stage.addItems(STAGES)
        self.stage.setCurrentText("cell")
        self.stage.setToolTip("bath: pipette resistance; seal: seal resistance; cell: Rs, Rin, Cm (whole cell)")
        self.clear_button = QPushButton("Clear trend")
        self.summary = QLabel("-")
        self.summary.setStyleSheet(f"color: {theme.CURRENT_PEN};")
        self.summary.setWordWrap(True)
        # two lines always: a summary that wraps to one or two lines as its numbers change resized the plots below
        self.summary.setFixedHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        self.trend = pg.GraphicsLayoutWidget()
        self.trend.setMinimumHeight(220)
        self.trend.setMaximumHeight(300)
        self.r_plot = self.trend.addPlot(row=0, col=0)
        self.i_plot = self.trend.addPlot(row=1, col=0)
        self.i_plot.setXLink(self.r_plot)
        self.r_plot.setLabel("left", "R (MOhm)")
        self.i_plot.setLabel("left", "holding (pA)")
        self.i_plot.setLabel("bottom", "time (s)")
        for plot in (self.r_plot, self.i_plot):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").setWidth(56)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)
        self.r_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self.total_curve = self.r_plot.plot(pen=pg.mkPen(theme.AVERAGE_PEN, width=1.5), name="step / steady")
        self.rs_curve = self.r_plot.plot(pen=pg.mkPen(theme.CURRENT_PEN, width=1.5), name="Rs")
        self.rin_curve = self.r_plot.plot(pen=pg.mkPen(theme.OK_TEXT, width=1.5), name="Rin")
        self.i_curve = self.i_plot.plot(pen=pg.mkPen(theme.ACCENT, width=1.5))
        self.points: list[SealPoint] = []
        self._t0: float | None = None
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("stage", self.stage)
        form.addRow(self.summary)
        form.addRow(self.trend)
        form.addRow(self.clear_button)
        self.clear_button.clicked.connect(self.clear)

    def clear(self) -> None:
        """Forget the trend."""
        self.points, self._t0 = [], None
        for curve in (self.total_curve, self.rs_curve, self.rin_curve, self.i_curve):
            curve.setData([], [])
        self.summary.setText("-")

    def add(self, now_s: float, levels: PulseLevels, cell: MembraneParameters | None, step_mV: float) -> None:
        """One pulse's numbers (`now_s`: a monotonic clock reading)."""
        if self._t0 is None:
            self._t0 = now_s
        stage = self.stage.currentText()
        self.points.append(SealPoint(now_s - self._t0, stage, levels, cell if stage == "cell" else None))
        del self.points[:-_MAX_POINTS]
        self.summary.setText(self.describe(self.points[-1], step_mV))
        self._step_mV = step_mV

    @staticmethod
    def describe(p: SealPoint, step_mV: float) -> str:
        """The numbers of one pulse in the words of its stage."""
        r = p.levels.resistance_MOhm(step_mV)
        holding = f"holding {round(p.levels.holding_pA)} pA"
        if p.stage == "bath":
            return f"pipette {r:.1f} MΩ; {holding}"
        if p.stage == "seal":
            return (f"seal {r / 1000:.2f} GΩ" if math.isfinite(r) else "seal: no current change") + f"; {holding}"
        if p.cell is None:
            return f"cell: no transient fit; R total {r:.0f} MΩ; {holding}"
        c = p.cell
        return (f"Rs {c.series_resistance_MOhm:.1f} MΩ, Rin {c.input_resistance_MOhm:.0f} MΩ, "
                f"Cm {c.capacitance_pF:.0f} pF; {holding}")

    def redraw(self) -> None:
        """Draw the trend."""
        if not self.points:
            return
        step = getattr(self, "_step_mV", -5.0)
        t = np.array([p.t_s for p in self.points])
        total = np.array([p.levels.resistance_MOhm(step) for p in self.points])
        rs = np.array([p.cell.series_resistance_MOhm if p.cell else np.nan for p in self.points])
        rin = np.array([p.cell.input_resistance_MOhm if p.cell else np.nan for p in self.points])
        ok = np.isfinite(total)
        self.total_curve.setData(t[ok], total[ok])
        self.rs_curve.setData(t, rs, connect="finite")
        self.rin_curve.setData(t, rin, connect="finite")
        self.i_curve.setData(t, np.array([p.levels.holding_pA for p in self.points]))
