"""Estimates panel: each step's estimates with interval and truth, their history over sweeps, the session's spines
(every kind that measures R_neck or tau) and each spine's budgets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QBrush, QColor, QFont
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
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
from rig.gui.fitting_axis import FittingAxis
from rig.gui.light_dose import spine_key
from rig.gui.panels.budgets import BudgetsView
from rig.gui.population import (
    BOUND_SYMBOLS,
    KIND_SYMBOLS,
    PopulationPoint,
    StepSpine,
    population_points,
    same_spine,
    spine_label,
    spine_order,
)

_COLUMNS = ("estimate", "value [95 % interval]", "truth", "unit")
def _log_ticks(first: int = -1, last: int = 5) -> list[list[tuple[float, str]]]:
    """Ticks of an axis in log10 units: labelled decades (0.1 ... 100000) and unlabelled 2..9 between them."""
    major = [(float(k), f"{10.0 ** k:g}") for k in range(first, last + 1)]
    minor = [(k + math.log10(m), "") for k in range(first, last) for m in range(2, 10)]
    return [major, minor]


_DECADES = {"R_neck": (1.0, 3.0), "tau": (0.5, 2.5)}  # log10 of the axes' default spans
STEP_PENS = ("#f0a060", "#6cb0d8", "#8cc084", "#c890d8", "#e0d070")


@dataclass
class SpineSeries:
    """History of one estimate of one step of one run."""

    run: int
    step: str
    spine: str
    name: str
    unit: str
    points: list[Estimate] = field(default_factory=list)
    truth: float | None = None


def interval_text(e: Estimate) -> str:
    """'12.3 [10.1, 15.2]', '>= 40.2' for a lower bound, '<= 3.1' for an upper bound."""
    if e.bound == "lower":
        return f"{e.value:.4g} (>= {e.low:.3g})"
    if e.bound == "upper":
        return f"{e.value:.4g} (<= {e.high:.3g})"
    return f"{e.value:.4g} [{e.low:.3g}, {e.high:.3g}]"


class EstimatesPanel(QWidget):
    """Table of each step's latest estimates (with truth), the selected one's history, spines and budgets."""

    def __init__(self, folder: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.series: dict[tuple[int, str, str], SpineSeries] = {}
        self.steps: dict[tuple[int, str], StepSpine] = {}
        self._step_index: dict[tuple[int, str], int] = {}
        self._sweeps_of_step: dict[tuple[int, str], int] = {}
        self._run = 0
        self._truth_of_step: dict[tuple[int, str], Mapping[str, float]] = {}
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.horizontalHeaderItem(2).setToolTip("the simulated specimen's true value, measured the way the "
                                                      "estimate measures it (simulated rig only)")
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)  # the four columns fit the panel: truth always seen
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._draw_history)
        self.history = pg.PlotWidget(title="history over sweeps", axisItems={"left": FittingAxis("left")})
        self.history.setLabel("bottom", "sweep of the run")
        self.history.getAxis("bottom").setTickSpacing(major=1, minor=1)
        self.population_view = pg.GraphicsLayoutWidget()
        self.population = self.population_view.addPlot(row=0, col=0)
        self.population_tau = self.population_view.addPlot(row=0, col=1)  # side by side: the panel is wide, not tall
        for plot, quantity, unit in ((self.population, "R_neck", "MOhm"), (self.population_tau, "tau", "ms")):
            plot.setLabel("left", f"{quantity} ({unit})")
            plot.showGrid(y=True, alpha=0.15)
            axis = plot.getAxis("left")
            axis.setTicks(_log_ticks())  # points are drawn at log10(value); labels at the decades only
            axis.enableAutoSIPrefix(False)
            axis.setWidth(52)
        self.population_view.setToolTip("every spine measured this session, one column per spine, one point per "
                                        "step: o FRAP, \u25bd Na/Ca, \u25c7 fCaT, \u25b3 a lower bound; bars: 95 % "
                                        "intervals; a red ring: the spine has used up a budget")
        self.budgets = BudgetsView(folder)
        self.note = QLabel("estimates appear after the first analysed sweep")
        plots = QTabWidget()  # one plot at a time gets the panel's whole width
        plots.addTab(self.history, "history")
        spines = QWidget()
        spines_column = QVBoxLayout(spines)
        spines_column.setContentsMargins(0, 0, 0, 0)
        spines_column.setSpacing(0)
        legend = QLabel("one column per spine, a point per step: o FRAP  \u25bd Na/Ca  \u25c7 fCaT  \u25b3 a bound; "
                        f'<span style="color:{theme.ERROR_TEXT}">red ring: over budget</span>')
        legend.setStyleSheet("font-size: 8pt;")
        spines_column.addWidget(legend)
        spines_column.addWidget(self.population_view, 1)
        plots.addTab(spines, "spines")
        plots.addTab(self.budgets, "budgets")
        self.plots = plots
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(plots)
        self.splitter = splitter
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setMinimumHeight(4 * 20 + 24)  # the header and a step's rows at least (768 px screens)
        self.history.setMinimumHeight(70)
        self.population_view.setMinimumHeight(70)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.note)
        column.addWidget(splitter, 1)
        self._dirty = False
        self._fitted_rows = -1

    # ----- records ------------------------------------------------------------------------
    def handle(self, record: Record) -> None:
        """Take a record of the protocol run."""
        if isinstance(record, RunStarted):
            self._run += 1
        elif isinstance(record, SweepStarted):
            plan = record.plan
            key = (self._run, plan.step_name)
            target = None if plan.target_um is None else (float(plan.target_um[0]), float(plan.target_um[1]))
            if key not in self.steps or target is not None:
                self.steps[key] = StepSpine(self._run, plan.step_name, plan.kind, target)
            self._step_index.setdefault(key, plan.step_index)
            self._sweeps_of_step[key] = self._sweeps_of_step.get(key, 0) + 1
            if record.truth is not None:  # a simulated truth may still be computing: read it once resolved
                self._truth_of_step[key] = record.truth
        elif isinstance(record, Estimate):
            self.add(record)

    def add(self, e: Estimate) -> None:
        """Add an estimate (skipping one already held for that sweep)."""
        key = (self._run, e.step_name, e.name)
        s = self.series.get(key)
        if s is None:
            step = self.steps.get((self._run, e.step_name))
            s = self.series[key] = SpineSeries(self._run, e.step_name, spine_key(step.target_um if step else None),
                                               e.name, e.unit)
        if any(p.sweep_index == e.sweep_index for p in s.points):
            return
        s.points.append(e)
        s.points.sort(key=lambda p: p.sweep_index)
        self._dirty = True

    def _resolve_truths(self) -> None:
        """Fill in truths that have resolved since (never waiting on the GUI thread)."""
        for s in self.series.values():
            truth = self._truth_of_step.get((s.run, s.step))
            if s.truth is None and truth is not None and getattr(truth, "resolved", True):
                value = truth.get(s.name)
                s.truth = float(value) if value is not None else math.nan

    def set_refresh_needed(self) -> None:
        """Redraw on the next tick (the session record or a truth may have changed)."""
        self._dirty = True

    # ----- drawing ------------------------------------------------------------------------
    def redraw(self) -> bool:
        """Refresh the table and plots if estimates arrived."""
        if not self._dirty:
            return False
        self._dirty = False
        self._resolve_truths()
        selected = self._selected_key()
        self.table.blockSignals(True)
        self._fill_table()
        self.table.blockSignals(False)
        self._fit_table()
        rows = [s for s in self.series.values()]
        self.note.setText(f"{len(rows)} estimate(s) in {len({(s.run, s.step) for s in rows})} step(s); select a "
                          "row for its history (every step of the run)")
        if not self._select(selected) and rows:
            self._select(self._first_key())
        self._draw_history()
        self._draw_population()
        return True

    def _ordered_steps(self) -> list[tuple[int, str]]:
        keys = {(s.run, s.step) for s in self.series.values()}
        return sorted(keys, key=lambda k: (-k[0], self._step_index.get(k, 0), k[1]))

    def _fill_table(self) -> None:
        groups = self._ordered_steps()
        rows: list[tuple[int, str] | SpineSeries] = []  # a step's heading (run, step), then its estimates
        for run, step in groups:
            estimates = sorted((s for s in self.series.values() if (s.run, s.step) == (run, step)),
                               key=lambda s: s.name)
            rows.append((run, step))
            rows.extend(estimates)
        self.table.clearSpans()
        self.table.setRowCount(len(rows))
        bold = QFont()
        bold.setBold(True)
        for r, row in enumerate(rows):
            if not isinstance(row, SpineSeries):
                run, step = row
                info = self.steps.get((run, step))
                n = self._sweeps_of_step.get((run, step), 0)
                text = (f"run {run} - step {self._step_index.get((run, step), 0) + 1} '{step}'"
                        + (f" ({info.kind})" if info and info.kind else "")
                        + f" - spine {spine_label(info.target_um) if info else 'no target'} - {n} sweep(s)")
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemIsEnabled)
                item.setFont(bold)
                item.setBackground(QBrush(QColor("#23272c")))
                self.table.setItem(r, 0, item)
                self.table.setSpan(r, 0, 1, len(_COLUMNS))
                continue
            s, key = row, (row.run, row.step, row.name)
            e = s.points[-1]
            truth = "" if s.truth is None or not math.isfinite(s.truth) else f"{s.truth:.4g}"
            for c, text in enumerate((s.name, interval_text(e), truth, s.unit)):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, key)
                if c == 1 and e.basis:
                    item.setToolTip(e.basis + (f"\n{e.trend}" if e.trend else ""))
                if c == 2 and truth and s.truth is not None:
                    covered = (e.bound == "lower" and s.truth >= e.low) or (e.bound == "upper" and s.truth <= e.high) \
                        or (not e.bound and e.low <= s.truth <= e.high)
                    item.setForeground(QBrush(QColor(theme.OK_TEXT if covered else theme.ERROR_TEXT)))
                    item.setToolTip("inside the interval" if covered else "outside the interval")
                self.table.setItem(r, c, item)

    def _fit_table(self) -> None:
        """Give the table the height its rows need (at most 60 % of the panel) when the row count changes."""
        rows = self.table.rowCount()
        if rows == self._fitted_rows:
            return
        self._fitted_rows = rows
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        needed = self.table.horizontalHeader().height() + rows * self.table.verticalHeader().defaultSectionSize() + 6
        table = max(self.table.minimumHeight(), min(needed, int(total * 0.6)))
        self.splitter.setSizes([table, total - table])

    def _first_key(self) -> tuple[int, str, str] | None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(Qt.UserRole) is not None:
                return tuple(item.data(Qt.UserRole))
        return None

    def _select(self, key: tuple[int, str, str] | None) -> bool:
        if key is None:
            return False
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(Qt.UserRole) is not None and tuple(item.data(Qt.UserRole)) == key:
                self.table.blockSignals(True)
                self.table.selectRow(r)
                self.table.blockSignals(False)
                return True
        return False

    def _selected_key(self) -> tuple[int, str, str] | None:
        items = [i for i in self.table.selectedItems() if i.data(Qt.UserRole) is not None]
        return tuple(items[0].data(Qt.UserRole)) if items else None

    def _draw_history(self) -> None:
        """The selected estimate in every step of its run that has it (before / after conditioning), with truth."""
        key = self._selected_key()
        self.history.clear()
        chosen = self.series.get(key) if key is not None else None
        if chosen is None:
            return
        same = [s for s in self.series.values() if s.run == chosen.run and s.name == chosen.name]
        same.sort(key=lambda s: self._step_index.get((s.run, s.step), 0))
        for k, s in enumerate(same):
            pen = STEP_PENS[k % len(STEP_PENS)]
            x = np.array([p.sweep_index + 1 for p in s.points], dtype=float)
            y = np.array([p.value for p in s.points])
            low = np.array([p.low if math.isfinite(p.low) else p.value for p in s.points])
            high = np.array([p.high if math.isfinite(p.high) else p.value for p in s.points])
            self.history.addItem(pg.ErrorBarItem(x=x, y=y, top=high - y, bottom=y - low, beam=0.2,
                                                 pen=pg.mkPen(pen, width=1)))
            self.history.plot(x, y, pen=pg.mkPen(pen), symbol="o", symbolSize=6 if s is not chosen else 8,
                              symbolBrush=pen)
            if s.truth is not None and math.isfinite(s.truth) and x.size:
                self.history.plot([x[0] - 0.4, x[-1] + 0.4], [s.truth, s.truth],
                                  pen=pg.mkPen(theme.OK_TEXT, width=2, style=Qt.DashLine))
        steps = " -> ".join(f'<span style="color:{STEP_PENS[k % len(STEP_PENS)]}">{s.step}</span>'
                            for k, s in enumerate(same))
        self.history.setTitle(f"{chosen.name} ({chosen.unit}), run {chosen.run}: {steps}; "
                              f'<span style="color:{theme.OK_TEXT}">- - truth (sim)</span>', size="8pt")

    def population_points(self) -> list[PopulationPoint]:
        """Every step's latest R_neck or tau this session, whatever its kind."""
        latest = {k: s.points[-1] for k, s in self.series.items() if s.points}
        return population_points(latest, self.steps)

    def _draw_population(self) -> None:
        self.population.clear()
        self.population_tau.clear()
        points = [p for p in self.population_points() if p.drawable]
        tolerance = self.budgets.tolerance_um
        spines = spine_order(points, tolerance)
        used_up = self.budgets.used_up_targets()
        over = [any(same_spine(t, u, tolerance) for u in used_up) for t in spines]
        ticks = [(k, spine_label(t) + (" over budget" if over[k] else "")) for k, t in enumerate(spines)]
        for plot, quantity in ((self.population, "R_neck"), (self.population_tau, "tau")):
            plot.getAxis("bottom").setTicks([ticks])
            mine = [p for p in points if p.quantity == quantity]
            for k, target in enumerate(spines):
                here = [p for p in mine if same_spine(p.spine.target_um, target, tolerance)]
                for j, p in enumerate(here):
                    self._draw_point(plot, k + 0.12 * (j - (len(here) - 1) / 2), p, over[k])
            plot.setXRange(-0.6, max(len(spines), 1) - 0.4, padding=0)
            # at least the decades spines span (R_neck 10-1000 MOhm, tau 3-300 ms), widened to every interval
            low, high = _DECADES[quantity]
            for p in mine:
                for v in (p.estimate.value, p.estimate.low, p.estimate.high):
                    if math.isfinite(v) and v > 0:
                        low, high = min(low, math.log10(v) - 0.1), max(high, math.log10(v) + 0.1)
            plot.setYRange(low, high, padding=0)

    @staticmethod
    def _draw_point(plot: pg.PlotItem, x: float, p: PopulationPoint, over: bool) -> None:
        e = p.estimate
        y = math.log10(e.value)
        low = math.log10(e.low) if math.isfinite(e.low) and e.low > 0 else y
        high = math.log10(e.high) if math.isfinite(e.high) and e.high > 0 else y
        color = theme.ACCENT
        plot.addItem(pg.ErrorBarItem(x=np.array([x]), y=np.array([y]), top=np.array([high - y]),
                                     bottom=np.array([y - low]), beam=0.06, pen=pg.mkPen(color)))
        symbol = BOUND_SYMBOLS.get(e.bound) or KIND_SYMBOLS.get(p.spine.kind, "s")
        item = pg.ScatterPlotItem([x], [y], symbol=symbol, size=10, brush=color, pen=pg.mkPen(color))
        item.setToolTip(f"run {p.spine.run} {p.spine.step} ({p.spine.kind}): {e.name} {interval_text(e)} {e.unit}")
        plot.addItem(item)
        if over:
            plot.addItem(pg.ScatterPlotItem([x], [y], symbol="o", size=20, brush=None,
                                            pen=pg.mkPen(theme.ERROR_TEXT, width=2)))

    def latest(self, name: str) -> Estimate | None:
        """The latest estimate of that name in the most recent run, if any."""
        hits = [s for s in self.series.values() if s.name == name and s.run == self._run]
        return hits[-1].points[-1] if hits else None
