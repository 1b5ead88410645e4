"""Devices panel: amplifier mode and holding, a live membrane test (Rs, Rin, Cm), light, and every device's state."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rig.config.profile import HardwareProfile
from rig.datatypes.records import DataChunk, Record, SweepEnded, SweepStarted
from rig.gui import theme
from rig.gui.membrane_test import MembraneParameters, PulseShape, analyze_pulse, pulse_levels, pulse_plan
from rig.gui.panels.camera_controls import CameraControls, LightStimControls
from rig.gui.panels.seal_test import SealTestView
from rig.gui.session import repeated
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)

MEMBRANE_JOB = "membrane_test"
_PULSES = 600  # a membrane test ends by itself after a minute at 10 Hz


def holding_problem(profile: HardwareProfile, amplifier: str, mode: str, text: str) -> str:
    """'' if the holding text is a number within the amplifier's limits for the mode, else why not."""
    limits = profile.amplifier(amplifier).limits
    low, high = limits.holding_mV if mode == "VC" else limits.holding_pA
    unit = "mV" if mode == "VC" else "pA"
    try:
        value = float(text)
    except ValueError:
        return f"'{text}' is not a number"
    if not math.isfinite(value) or not low <= value <= high:
        return f"{text} {unit} is outside the profile limit [{low:g}, {high:g}] {unit}"
    return ""


class DevicesPanel(QWidget):
    """Amplifier controls and membrane test; device states."""

    acquire_requested = pyqtSignal(str, object)  # job label, plans
    stop_requested = pyqtSignal()
    holding_applied = pyqtSignal(str, float)     # mode, value

    def __init__(self, profile: HardwareProfile, parent: QWidget | None = None):
        super().__init__(parent)
        self.profile = profile
        self.amplifier = next(iter(profile.devices_of_kind("patch_amplifier")), None)
        self.mode = QComboBox()
        self.mode.addItems(["VC", "CC"])
        self.holding = QLineEdit("-70")
        self.unit = QLabel("mV")
        self.holding_error = QLabel()
        self.holding_error.setProperty("role", "error")
        self.apply_button = QPushButton("Apply holding")
        self.test_button = QPushButton("Seal / membrane test")
        self.test_button.setCheckable(True)
        self.rs, self.rin, self.cm = QLabel("-"), QLabel("-"), QLabel("-")
        for label in (self.rs, self.rin, self.cm):
            label.setStyleSheet(f"font-size: 15pt; color: {theme.CURRENT_PEN};")
        self.pulse_plot = pg.PlotWidget(title="test pulse current")
        self.pulse_plot.setLabel("bottom", "time (ms)")
        self.pulse_plot.setLabel("left", "primary (pA)")  # VC: the amplifier's primary is the membrane current
        for side in ("left", "bottom"):
            self.pulse_plot.getAxis(side).enableAutoSIPrefix(False)
        self.pulse_curve = self.pulse_plot.plot(pen=pg.mkPen(theme.CURRENT_PEN))
        self.pulse_plot.setMinimumHeight(140)
        self.pulse_plot.setMaximumHeight(220)
        budgets = profile.budgets
        self.budget = QLabel("set in the protocol or profile (`budgets:`); bars in Estimates > budgets" if budgets
                             is None else "; ".join(f"{k} {v:g}" for k, v in budgets.model_dump().items()
                                                    if isinstance(v, float) and k != "depolarized_above_mV"))
        self.budget.setWordWrap(True)
        self.budget.setToolTip("per-spine session budgets: enforced by every run (refused before light, or stopped)")
        self.states = QTableWidget(0, 3)
        self.states.setHorizontalHeaderLabels(("device", "kind", "state"))
        self.states.verticalHeader().setVisible(False)
        self.states.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.camera = next(iter(profile.devices_of_kind("camera")), None)
        led_source = next(iter(profile.devices_of_kind("led_source")), None)
        self.camera_controls = CameraControls(profile, self.camera, led_source) if self.camera else None
        self.light_stim = LightStimControls(profile, led_source,
                                            next(iter(profile.devices_of_kind("stimulus_isolator")), None))
        self.parameters: MembraneParameters | None = None
        self.seal = SealTestView()  # the test pulse's trend between protocols: bath, seal, cell
        self._pulse = PulseShape()
        self._trace: np.ndarray | None = None
        self._fresh = False
        self._build()
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.holding.textEdited.connect(lambda _: self.validate_holding())
        self.apply_button.clicked.connect(self._apply)
        self.test_button.toggled.connect(self._test)
        if self.amplifier is None:
            for w in (self.mode, self.holding, self.apply_button, self.test_button):
                w.setEnabled(False)

    def _build(self) -> None:
        amp = QGroupBox(f"amplifier: {self.amplifier or 'none'}")
        form = QFormLayout(amp)
        form.addRow("mode", self.mode)
        row = QHBoxLayout()
        row.addWidget(self.holding)
        row.addWidget(self.unit)
        row.addWidget(self.apply_button)
        form.addRow("holding", row)
        form.addRow("", self.holding_error)
        form.addRow(self.test_button)
        form.addRow("Rs (series)", self.rs)
        form.addRow("Rin (input)", self.rin)
        form.addRow("Cm", self.cm)
        form.addRow(self.pulse_plot)
        form.addRow(self.seal)
        light = QGroupBox("light")
        lform = QFormLayout(light)
        for name, spec in self.profile.devices_of_kind("pockels_laser").items():
            lim = spec.limits
            limits = QLabel(f"{spec.wavelength_nm:g} nm; imaging <= {lim.max_imaging_power_fraction:g}, "
                            f"bleach <= {lim.max_bleach_power_fraction:g} for <= {lim.max_bleach_duration_ms:g} ms")
            limits.setWordWrap(True)  # a long line must not widen the Devices column
            lform.addRow(name, limits)
        lform.addRow("budget per spine", self.budget)
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(amp)
        if self.camera_controls is not None:
            column.addWidget(self.camera_controls)
        column.addWidget(self.light_stim)
        column.addWidget(light)
        column.addWidget(QLabel("device states"))
        self.states.setMinimumHeight(180)
        column.addWidget(self.states, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        self.scroll_area = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # ----- amplifier -----------------------------------------------------------------------
    def _mode_changed(self, mode: str) -> None:
        self.unit.setText("mV" if mode == "VC" else "pA")
        self.holding.setText("-70" if mode == "VC" else "0")
        self.test_button.setEnabled(mode == "VC" and self.amplifier is not None)
        self.validate_holding()

    def validate_holding(self) -> str:
        """Show and return the holding problem ('' when fine)."""
        if self.amplifier is None:
            return "no amplifier"
        problem = holding_problem(self.profile, self.amplifier, self.mode.currentText(), self.holding.text())
        self.holding_error.setText(problem)
        self.holding_error.setVisible(bool(problem))
        self.apply_button.setEnabled(not problem and self._idle)
        return problem

    _idle = True

    def _apply(self) -> None:
        if not self.validate_holding():
            self.holding_applied.emit(self.mode.currentText(), float(self.holding.text()))

    def set_busy(self, job: str) -> None:
        """Enable controls according to the running job."""
        self._idle = not job
        self.validate_holding()
        self.light_stim.set_busy(job)
        self.test_button.setEnabled((not job or job == MEMBRANE_JOB) and self.mode.currentText() == "VC"
                                    and self.amplifier is not None)
        if job != MEMBRANE_JOB and self.test_button.isChecked():
            self.test_button.blockSignals(True)
            self.test_button.setChecked(False)
            self.test_button.blockSignals(False)

    # ----- membrane test ---------------------------------------------------------------------
    def _test(self, on: bool) -> None:
        if not on:
            self.stop_requested.emit()
            return
        if self.validate_holding() or self.amplifier is None:
            self.test_button.setChecked(False)
            return
        self._pulse = PulseShape(holding_mV=float(self.holding.text()))
        plan = pulse_plan(self.profile, self.amplifier, self._pulse)
        self.acquire_requested.emit(MEMBRANE_JOB, repeated(plan, _PULSES))

    def handle(self, record: Record) -> None:
        """Take a record of the membrane-test job."""
        if isinstance(record, SweepStarted):
            self._trace = np.full(record.plan.n_samples, np.nan, dtype=np.float32)
        elif isinstance(record, DataChunk) and record.channel == f"in:{self.amplifier}.primary" \
                and self._trace is not None:
            self._trace[record.first_sample:record.first_sample + record.samples.shape[0]] = record.samples
        elif isinstance(record, SweepEnded) and record.completed and self._trace is not None:
            try:
                self.parameters = analyze_pulse(self._trace, self._pulse)
            except ValueError as exc:
                log.info("membrane test: %s", exc)
                self.parameters = None
            try:
                self.seal.add(time.monotonic(), pulse_levels(self._trace, self._pulse), self.parameters,
                              self._pulse.step_mV)
            except ValueError as exc:
                log.info("seal test: %s", exc)
            self._fresh = True

    def redraw(self) -> bool:
        """Show the latest pulse and parameters."""
        if not self._fresh or self._trace is None:
            return False
        self._fresh = False
        t = np.arange(self._trace.shape[0]) * 1000.0 / self._pulse.sample_rate_hz
        self.pulse_curve.setData(t, self._trace)
        self.seal.redraw()
        p = self.parameters
        if p is None:
            self.rs.setText("no fit")
            return True
        self.rs.setText(f"{p.series_resistance_MOhm:.1f} MΩ")
        self.rin.setText(f"{p.input_resistance_MOhm:.0f} MΩ")
        self.cm.setText(f"{p.capacitance_pF:.0f} pF")
        return True

    def show_states(self, reports: list[SafetyReport], kinds: dict[str, str]) -> None:
        """Fill the device-state table."""
        self.states.setRowCount(len(reports))
        for r, report in enumerate(reports):
            for c, text in enumerate((report.device, kinds.get(report.device, ""),
                                      ("safe: " if report.safe else "ACTIVE: ") + report.detail)):
                self.states.setItem(r, c, QTableWidgetItem(text))
        self.states.resizeColumnsToContents()
