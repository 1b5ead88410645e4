"""Data panel: browse run files (also while they are written) and reopen stored sweeps."""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from rig.gui import theme
from rig.gui.run_reader import read_summary, read_sweep

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


class DataPanel(QWidget):
    """Run files of the output folder; summary and any stored sweep, read in a child process."""

    _summary_ready = pyqtSignal(str, object)
    _sweep_ready = pyqtSignal(str, object)

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
        self.summary_text.setMinimumHeight(40)
        self.files.setMinimumHeight(40)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.summary: dict[str, Any] | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="rig-gui-"))
        self._build()
        self.files.currentTextChanged.connect(lambda _: self.read_selected())
        self.show_button.clicked.connect(self.show_sweep)
        self._summary_ready.connect(self._got_summary)
        self._sweep_ready.connect(self._got_sweep)
        self._timer = QTimer(self, interval=3000)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def _build(self) -> None:
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        refresh.clicked.connect(self.read_selected)
        left = QWidget()
        lcol = QVBoxLayout(left)
        where = QLabel(f"run files in {self.folder}")
        where.setWordWrap(True)  # a long output folder must not widen the window
        where.setToolTip(str(self.folder))
        lcol.addWidget(where)
        lcol.addWidget(self.files, 1)
        lcol.addWidget(refresh)
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.addWidget(self.summary_text, 1)
        row = QGridLayout()  # two rows: fits the narrow column it shares with Estimates
        row.addWidget(QLabel("sweep"), 0, 0)
        row.addWidget(self.sweep, 0, 1)
        row.addWidget(self.show_button, 0, 2)
        row.addWidget(QLabel("channel"), 1, 0)
        row.addWidget(self.channel, 1, 1, 1, 2)
        rcol.addLayout(row)
        rcol.addWidget(self.plot, 2)
        rcol.addWidget(self.status)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        QVBoxLayout(self).addWidget(split)

    def refresh(self) -> None:
        """List the folder's run files, newest first, keeping the selection."""
        names = [p.name for p in sorted(self.folder.glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True)] \
            if self.folder.exists() else []
        if names == [self.files.item(i).text() for i in range(self.files.count())]:
            return
        current = self.files.currentItem().text() if self.files.currentItem() else None
        self.files.blockSignals(True)
        self.files.clear()
        self.files.addItems(names)
        if current in names:
            self.files.setCurrentRow(names.index(current))
        self.files.blockSignals(False)

    def select(self, name: str) -> None:
        """Select a run file by name and read it."""
        self.refresh()
        items = self.files.findItems(name, Qt.MatchExactly)
        if items:
            self.files.setCurrentItem(items[0])
            self.read_selected()

    def _in_background(self, work: Callable[[], object], done: pyqtSignal, key: str) -> None:
        def body() -> None:
            try:
                result: object = work()
            except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:  # shown in the panel
                result = exc
            try:
                done.emit(key, result)
            except (RuntimeError, AttributeError):  # the panel was closed while the child process read
                log.debug("data panel gone before %s was read", key)
        threading.Thread(target=body, daemon=True, name="run-reader").start()

    def read_selected(self) -> None:
        """Read the selected file's summary (off the GUI thread, in a child process)."""
        item = self.files.currentItem()
        if item is None:
            return
        path = self.folder / item.text()
        self.status.setText(f"reading {path.name} ...")
        self._in_background(lambda: read_summary(path), self._summary_ready, item.text())

    def _got_summary(self, name: str, result: object) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"{name}: {result}")
            return
        self.summary = result  # type: ignore[assignment]
        self.summary_text.setPlainText(describe(self.summary))
        sweeps = self.summary.get("sweep_indices", [])
        self.sweep.setRange(1, max(1, len(sweeps)))
        channels = [c for c in self.summary.get("channels", []) if c.startswith("in:")]
        if channels != [self.channel.itemText(i) for i in range(self.channel.count())]:
            self.channel.clear()
            self.channel.addItems(channels)
        self.status.setText(f"{name}: {self.summary.get('status')} (read while {'written' if self.summary.get('status') == 'running' else 'closed'})")

    def show_sweep(self) -> None:
        """Plot the chosen stored sweep of the chosen channel."""
        item = self.files.currentItem()
        if item is None or self.summary is None or not self.channel.currentText():
            return
        sweeps = self.summary.get("sweep_indices", [])
        if not sweeps:
            self.status.setText("no stored sweep yet")
            return
        k = min(self.sweep.value(), len(sweeps)) - 1
        index, channel = sweeps[k], self.channel.currentText()
        rate = self.summary.get("sample_rates_hz", [1.0] * len(sweeps))[k]
        path = self.folder / item.text()
        scratch = self._scratch / "sweep.npy"
        self._in_background(lambda: (rate, read_sweep(path, index, channel, scratch)), self._sweep_ready,
                            f"sweep {index + 1} {channel}")

    def _got_sweep(self, label: str, result: object) -> None:
        if isinstance(result, Exception):
            self.status.setText(f"{label}: {result}")
            return
        rate, data = result  # type: ignore[misc]
        t = np.arange(data.shape[0]) * 1000.0 / rate
        self.plot.clear()
        self.plot.plot(t, data, pen=pg.mkPen(theme.CURRENT_PEN))
        self.plot.setLabel("bottom", "time", units="ms")
        self.plot.setTitle(label)
        self.status.setText(f"{label}: {data.shape[0]} samples")
