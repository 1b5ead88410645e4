"""Estimates panel: per spine, each estimate with its interval, its history over sweeps, and a population view."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from rig.datatypes.records import Estimate, Record, RunStarted, SweepStarted
from rig.gui import theme
from rig.gui.light_dose import spine_key

# truth beside the value and its interval, where a narrow column still shows it; where it was measured last
# the diffusional time constant each kind measures R_neck with, and its symbol in the population plot
POPULATION_TAUS: dict[str, tuple[str, str]] = {"tau_frap_ms": ("FRAP", "o"), "tau_na_ms": ("Na+ decay", "t")}
_COLUMNS = ("estimate", "value", "interval", "truth", "unit", "sweeps", "step", "spine")


@dataclass
class SpineSeries:
    """History of one estimate of one spine in one run."""

    run: int
    step: str
    spine: str
    name: str
    unit: str
    points: list[Estimate] = field(default_factory=list)
    truth: float | None = None


class EstimatesPanel(QWidget):
    """Table of the latest estimates, the selected one's history, and spines across the session."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.series: dict[tuple[int, str, str], SpineSeries] = {}
        self._run = 0
        self._spine_of_step: dict[str, str] = {}
        self._truth_of_step: dict[str, Mapping[str, float]] = {}
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.horizontalHeaderItem(3).setToolTip("the simulated specimen's true value, measured the way the "
                                                      "estimate measures it (simulated rig only)")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._draw_history)
        self.history = pg.PlotWidget(title="history over sweeps")
        self.history.setLabel("bottom", "sweep")
        self.population = pg.PlotWidget(title="spines this session: R_neck vs tau (FRAP o, Na+ decay \u25bd)")
        self.population.setLogMode(True, True)
        self.population.setLabel("bottom", "tau (FRAP or Na+ decay)", units="ms")
        self.population.setLabel("left", "R_neck", units="MOhm")
        for side in ("left", "bottom"):  # decade labels only: the 2..9 labels of a log axis overlapped
            axis = self.population.getAxis(side)
            axis.setStyle(maxTextLevel=0)
            axis.enableAutoSIPrefix(False)
        self.population.setRange(xRange=(0.5, 2.5), yRange=(1.0, 3.0), padding=0.05)  # 3-300 ms, 10-1000 MOhm
        self.note = QLabel("estimates appear after the first analysed sweep")
        plots = QTabWidget()  # one plot at a time gets the panel's whole width
        plots.addTab(self.history, "history of the selected estimate")
        plots.addTab(self.population, "spines this session")
        self.plots = plots
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(plots)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMinimumHeight(2 * 22 + 28)  # header, a row and a scroll bar at least (768 px screens)
        self.history.setMinimumHeight(70)
        self.population.setMinimumHeight(70)
        splitter.setStretchFactor(0, 3)  # the table (with truth) first; the plots share what is left
        splitter.setStretchFactor(1, 2)
        column = QVBoxLayout(self)
        column.addWidget(self.note)
        column.addWidget(splitter, 1)
        self._dirty = False

    def handle(self, record: Record) -> None:
        """Take a record of the protocol run."""
        if isinstance(record, RunStarted):
            self._run += 1
            self._spine_of_step, self._truth_of_step = {}, {}
        elif isinstance(record, SweepStarted):
            self._spine_of_step[record.plan.step_name] = spine_key(record.plan.target_um)
            if record.truth is not None:  # a simulated truth may still be computing: read it once resolved
                self._truth_of_step[record.plan.step_name] = record.truth
        elif isinstance(record, Estimate):
            self.add(record)

    def add(self, e: Estimate) -> None:
        """Add an estimate (skipping one already held for that sweep)."""
        key = (self._run, e.step_name, e.name)
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = SpineSeries(self._run, e.step_name, self._spine_of_step.get(e.step_name, ""),
                                               e.name, e.unit)
        if any(p.sweep_index == e.sweep_index for p in s.points):
            return
        s.points.append(e)
        s.points.sort(key=lambda p: p.sweep_index)
        truth = self._truth_of_step.get(e.step_name)
        if truth is not None and getattr(truth, "resolved", True):  # never wait on the GUI thread
            s.truth = truth.get(e.name)
        self._dirty = True

    def redraw(self) -> bool:
        """Refresh the table and plots if estimates arrived."""
        if not self._dirty:
            return False
        self._dirty = False
        selected = self._selected_key()
        rows = sorted(self.series.values(), key=lambda s: (-s.run, s.step, s.name))
        self.table.setRowCount(len(rows))
        for r, s in enumerate(rows):
            e = s.points[-1]
            cells = (s.name, f"{e.value:.4g}", f"[{e.low:.3g}, {e.high:.3g}]",
                     "" if s.truth is None else f"{s.truth:.4g}", s.unit, str(len(s.points)), f"run {s.run}: {s.step}",
                     s.spine)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, (s.run, s.step, s.name))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.note.setText(f"{len(rows)} estimate(s); select a row for its history")
        if selected is None and rows:
            self.table.selectRow(0)
        else:
            self._draw_history()
        self._draw_population()
        return True

    def _selected_key(self) -> tuple[int, str, str] | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.UserRole) if items else None

    def _draw_history(self) -> None:
        key = self._selected_key()
        self.history.clear()
        s = self.series.get(tuple(key)) if key is not None else None
        if s is None:
            return
        x = np.array([p.sweep_index + 1 for p in s.points], dtype=float)
        y = np.array([p.value for p in s.points])
        low = np.array([p.low for p in s.points])
        high = np.array([p.high for p in s.points])
        self.history.addItem(pg.ErrorBarItem(x=x, y=y, top=high - y, bottom=y - low, beam=0.2,
                                             pen=pg.mkPen(theme.AVERAGE_PEN)))
        self.history.plot(x, y, pen=pg.mkPen(theme.CURRENT_PEN), symbol="o", symbolSize=7,
                          symbolBrush=theme.CURRENT_PEN)
        if s.truth is not None and math.isfinite(s.truth):
            self.history.addItem(pg.InfiniteLine(s.truth, angle=0, pen=pg.mkPen(theme.OK_TEXT, style=Qt.DashLine),
                                                 label="truth (sim)", labelOpts={"color": theme.OK_TEXT}))
        self.history.setTitle(f"{s.name} ({s.unit}) - {s.spine}")

    def population_points(self) -> list[tuple[str, float, float]]:
        """(kind, tau ms, R_neck MOhm) of every step this session that estimated both, whatever its kind."""
        points = []
        for (run, step, name), s in self.series.items():
            other = self.series.get((run, step, "neck_resistance_MOhm"))
            if name in POPULATION_TAUS and other is not None:
                points.append((POPULATION_TAUS[name][0], s.points[-1].value, other.points[-1].value))
        return points

    def _draw_population(self) -> None:
        self.population.clear()
        points = [(k, tau, r) for k, tau, r in self.population_points() if tau > 0 and r > 0]  # log axes
        for kind, symbol in {k: sym for k, sym in POPULATION_TAUS.values()}.items():
            mine = [(tau, r) for k, tau, r in points if k == kind]
            if mine:
                tau, r = np.array(mine).T
                self.population.plot(tau, r, pen=None, symbol=symbol, symbolBrush=theme.ACCENT, symbolSize=9)

    def latest(self, name: str) -> Estimate | None:
        """The latest estimate of that name in the most recent run, if any."""
        hits = [s for s in self.series.values() if s.name == name and s.run == self._run]
        return hits[-1].points[-1] if hits else None
