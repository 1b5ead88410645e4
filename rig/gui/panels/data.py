"""Data panel: browse run files (also while they are written) and reopen stored sweeps."""

from __future__ import annotations

import itertools
import logging
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rig.gui import theme
from rig.gui.run_reader import read_summary, read_sweep
from rig.gui.stored_sweep import StoredKymograph, run_info, run_label, stored_view

log = logging.getLogger(__name__)


def describe(summary: dict[str, Any]) -> str:
    """A few lines an operator reads: status, sweeps, estimates with intervals (and truth), notices."""
    lines = [f"{summary.get('protocol')}  status {summary.get('status')}  "
             f"{summary.get('n_sweeps')}/{summary.get('n_planned_sweeps')} sweeps"]
    if summary.get("message"):
        lines.append(summary["message"])
    truth = summary.get("truth") or {}
    for name, e in summary.get("estimates", {}).items():
        t = f"  (truth {truth[name]:.4g})" if name in truth else ""
        lines.append(f"{name} = {e['value']:.4g} [{e['low']:.4g}, {e['high']:.4g}] {e['unit']}{t}")
    lines += [f"{n['level']}: {n['message']}" for n in summary.get("notices", [])]
    return "\n".join(lines)


class _ReaderResults(QObject):
    """Carries reader-thread results to the GUI thread; one for the application, never deleted, so a reader that
    finishes after its panel was closed emits into a live object (Qt dropped the closed panel's connection)."""

    ready = pyqtSignal(int, str, str, object)  # (panel id, "summary" | "sweep", key, result)


_RESULTS: _ReaderResults | None = None
_PANEL_SERIAL = itertools.count()


def _reader_results() -> _ReaderResults:
    """The application's reader-results relay (made on the GUI thread at the first panel)."""
    global _RESULTS
    if _RESULTS is None:
        _RESULTS = _ReaderResults()
    return _RESULTS


class DataPanel(QWidget):
    """Run files of the output folder; summary and any stored sweep, read in a child process."""

    def __init__(self, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = folder
        self.files = QListWidget()
        self.summary_text = QPlainTextEdit()
        self.summary_text.setReadOnly(True)
        self.sweep = QSpinBox()
        self.channel = QComboBox()
        self.channel.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.channel.setMinimumContentsLength(10)
        self.show_button = QPushButton("Show sweep")
        self.plot = pg.PlotWidget(title="stored sweep")
        self.plot.setMinimumHeight(60)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.levels = pg.HistogramLUTItem(image=self.image)
        self.levels.gradient.setColorMap(pg.colormap.get("inferno"))
        self.plot.getPlotItem().layout.addItem(self.levels, 2, 3)  # contrast beside a stored kymograph
        self.levels.setVisible(False)
        self._info: dict[str, str] = {}  # file name -> 'completed 6/6 sweeps, ...' once its summary was read
        self.summary_text.setMinimumHeight(40)
        self.files.setMinimumHeight(40)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.summary: dict[str, Any] | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="rig-gui-"))
        self._build()
        self.files.currentTextChanged.connect(lambda _: self.read_selected())
        self.show_button.clicked.connect(self.show_sweep)
        self._results, self._serial = _reader_results(), next(_PANEL_SERIAL)
        self._results.ready.connect(self._got_result)
        self._timer = QTimer(self, interval=3000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def _build(self) -> None:
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        refresh.clicked.connect(self.read_selected)
        where = QLabel(f"run files in {self.folder}")
        where.setWordWrap(True)  # a long output folder must not widen the window
        where.setToolTip(str(self.folder))
        files = QWidget()
        fcol = QVBoxLayout(files)
        fcol.setContentsMargins(0, 0, 0, 0)
        fcol.setSpacing(2)
        fcol.addWidget(where)
        fcol.addWidget(self.files, 1)
        fcol.addWidget(refresh)
        top = QSplitter(Qt.Horizontal)  # the runs beside the chosen run's summary
        top.addWidget(files)
        top.addWidget(self.summary_text)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 1)
        row = QGridLayout()
        row.addWidget(QLabel("sweep"), 0, 0)
        row.addWidget(self.sweep, 0, 1)
        row.addWidget(QLabel("channel"), 0, 2)
        row.addWidget(self.channel, 0, 3)
        row.addWidget(self.show_button, 0, 4)
        row.setColumnStretch(3, 1)
        bottom = QWidget()
        bcol = QVBoxLayout(bottom)
        bcol.setContentsMargins(0, 0, 0, 0)
        bcol.addLayout(row)
        bcol.addWidget(self.plot, 1)
        bcol.addWidget(self.status)
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([100, 300])  # the stored sweep gets the height; the list and summary scroll
        self.files.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # long labels are elided; full in tooltips
        self.files.setTextElideMode(Qt.ElideRight)
        QVBoxLayout(self).addWidget(split)

    def refresh(self) -> None:
        """List the folder's run files, newest first, keeping the selection."""
        names = [p.name for p in sorted(self.folder.glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True)] \
            if self.folder.exists() else []
        labels = [run_label(n, self._info.get(n, "")) for n in names]
        if labels == [self.files.item(i).text() for i in range(self.files.count())]:
            return
        current = self.current_name()
        self.files.blockSignals(True)
        self.files.clear()
        for name, label in zip(names, labels):
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, name)
            item.setToolTip(name)
            self.files.addItem(item)
        if current in names:
            self.files.setCurrentRow(names.index(current))
        self.files.blockSignals(False)

    def current_name(self) -> str | None:
        """The selected run file's name."""
        item = self.files.currentItem()
        return str(item.data(Qt.UserRole)) if item is not None else None

    def select(self, name: str) -> None:
        """Select a run file by name and read it."""
        self.refresh()
        for i in range(self.files.count()):
            if self.files.item(i).data(Qt.UserRole) == name:
                self.files.setCurrentRow(i)
                self.read_selected()
                return

    def _got_result(self, panel_id: int, what: str, key: str, result: object) -> None:
        if panel_id != self._serial:
            return
        (self._got_summary if what == "summary" else self._got_sweep)(key, result)

    def _in_background(self, work: Callable[[], object], what: str, key: str) -> None:
        results, panel_id = self._results, self._serial

        def body() -> None:
            try:
                result: object = work()
            except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:  # shown in the panel
                result = exc
            results.ready.emit(panel_id, what, key, result)
        threading.Thread(target=body, daemon=True, name="run-reader").start()

    def read_selected(self) -> None:
        """Read the selected file's summary (off the GUI thread, in a child process)."""
        name = self.current_name()
        if name is None:
            return
        path = self.folder / name
        self.status.setText(f"reading {path.name} ...")
        self._in_background(lambda: read_summary(path), "summary", name)

    def _got_summary(self, name: str, result: object) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"{name}: {result}")
            return
        if not isinstance(result, dict):  # read_summary returns a dict; anything else is reported, not shown
            self.status.setText(f"{name}: not a run summary: {result!r}")
            return
        summary: dict[str, Any] = result
        self.summary = summary
        self.summary_text.setPlainText(describe(summary))
        self._info[name] = run_info(summary)
        self.refresh()
        sweeps = summary.get("sweep_indices", [])
        self.sweep.setRange(1, max(1, len(sweeps)))
        channels = [c for c in summary.get("channels", []) if c.startswith("in:")]
        if channels != [self.channel.itemText(i) for i in range(self.channel.count())]:
            self.channel.clear()
            self.channel.addItems(channels)
        self.status.setText(f"{name}: {summary.get('status')} (read while {'written' if summary.get('status') == 'running' else 'closed'})")

    def show_sweep(self) -> None:
        """Plot the chosen stored sweep of the chosen channel."""
        name = self.current_name()
        if name is None or self.summary is None or not self.channel.currentText():
            return
        sweeps = self.summary.get("sweep_indices", [])
        if not sweeps:
            self.status.setText("no stored sweep yet")
            return
        k = min(self.sweep.value(), len(sweeps)) - 1
        index, channel = sweeps[k], self.channel.currentText()
        rate = self.summary.get("sample_rates_hz", [1.0] * len(sweeps))[k]
        metas = self.summary.get("sweep_meta") or []
        meta = metas[k] if k < len(metas) else None
        path = self.folder / name
        scratch = self._scratch / "sweep.npy"
        self._in_background(lambda: stored_view(read_sweep(path, index, channel, scratch), channel, rate, meta),
                            "sweep", f"sweep {index + 1} {channel.removeprefix('in:')}")

    def _got_sweep(self, label: str, result: object) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"{label}: {result}")
            return
        self.plot.clear()
        self.plot.setTitle(label, size="9pt")
        self.plot.setLabel("bottom", "time (ms)")
        if isinstance(result, StoredKymograph):
            self.plot.addItem(self.image)
            image = result.image
            finite = image[np.isfinite(image)]
            high = max(1.0, float(np.percentile(finite, 99.5))) if finite.size else 1.0
            self.image.setImage(image, autoLevels=False, levels=(0.0, high))
            self.image.setRect(0.0, 0.0, result.duration_ms, result.line_length_um)
            self.levels.setVisible(True)
            self.plot.setLabel("left", "along line (um)")
            self.plot.autoRange(padding=0.01)
            self.status.setText(f"{label}: kymograph, {image.shape[0]} lines of {image.shape[1]} pixels "
                                "(counts per pixel)")
            return
        self.levels.setVisible(False)
        self.plot.plot(result.time_ms, result.values, pen=pg.mkPen(theme.CURRENT_PEN))
        self.plot.setLabel("left", f"{label.rsplit('.', 1)[-1]}" + (f" ({result.unit})" if result.unit else ""))
        self.plot.autoRange(padding=0.02)
        self.status.setText(f"{label}: {result.values.shape[0]} samples ({result.unit or 'raw units'})")
