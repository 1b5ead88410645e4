"""The operator's main window: dockable panels wired to one RigSession, redrawn on a timer off the data path."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Sequence

import yaml
from PyQt5.QtCore import QByteArray, QSettings, Qt, QTimer
from PyQt5.QtGui import QCloseEvent, QKeySequence
from PyQt5.QtWidgets import QAction, QApplication, QDockWidget, QMainWindow, QMessageBox, QWidget

from rig.api import PreparedRun, RunResult
from rig.calibrate.procedures import PROCEDURES
from rig.datatypes.records import Feature, Notice, Record, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.gui.calibration_dialog import CalibrationDialog
from rig.gui.panels.budgets import budget_uses
from rig.gui.panels.data import DataPanel
from rig.gui.panels.devices import MEMBRANE_JOB, DevicesPanel
from rig.gui.panels.estimates import EstimatesPanel
from rig.gui.panels.image import CAMERA_JOB, FRAME_JOB, ImagePanel
from rig.gui.panels.protocol import ProtocolPanel
from rig.gui.panels.traces import TracesPanel
from rig.gui.placement import LINE_END_FIELDS, LINE_START_FIELDS, SPINE_FIELDS, Placement, apply_placement
from rig.gui.population import same_spine
from rig.gui.session import PROTOCOL_JOB, RigSession, repeated
from rig.gui.status import DoseMeter, RigStatusBar
from rig.session.dose import Dose

log = logging.getLogger(__name__)

# (menu name, keys, MainWindow slot, what it does): the Run menu and Help > Keyboard shortcuts
SHORTCUTS_TABLE = (
    ("Run", "Ctrl+R", "run_selected", "run the selected protocol"),
    ("Pause / resume", "Space", "toggle_pause", "hold before the next sweep, or go on"),
    ("Stop after sweep", "Ctrl+.", "stop_after_sweep", "finish this sweep, then end the run"),
    ("Abort now", "Esc", "abort_now", "stop mid-sweep; every device made safe"),
)
REDRAW_INTERVAL_MS = 16  # aim at ~60 redraws/s; the requirement is >= 30
STIM_JOB = "single_pulse"
_CAMERA_SWEEPS = 2000  # a camera live view ends by itself after ~10 min


class RedrawStats:
    """Counts redraws (timer ticks that drew new data), the longest gap between ticks and the time spent drawing."""

    def __init__(self) -> None:
        self.ticks = 0
        self.redraws = 0
        self.max_gap_s = 0.0
        self.drawing_s = 0.0  # GUI-thread time inside the redraw handler
        self.records_s = 0.0  # GUI-thread time taking records (chunks into the views' buffers)
        self._last = 0.0

    def tick(self, drew: bool, started: float | None = None) -> None:
        """Count one timer tick (`started`: when its redraw began, to add the time it took)."""
        now = time.monotonic()
        if started is not None:
            self.drawing_s += now - started
        if self._last:
            self.max_gap_s = max(self.max_gap_s, now - self._last)
        self._last = now
        self.ticks += 1
        self.redraws += int(drew)


class MainWindow(QMainWindow):
    """Devices, Image, Traces, Protocol, Estimates and Data panels around one rig."""

    def __init__(self, session: RigSession, library_dir: Path, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings  # where layout, geometry and the last protocol are kept between sessions
        self.session = session
        profile = session.profile
        sim = profile.profile.simulation
        self.setWindowTitle(f"spinerig - {profile.profile.name}" + (f" (simulated rig, {sim.pace} pace)" if sim else ""))
        self.setDockNestingEnabled(True)
        self.devices = DevicesPanel(profile.profile)
        self.image = ImagePanel(profile.profile)
        self.traces = TracesPanel()
        self.protocol = ProtocolPanel(profile, library_dir)
        self.estimates = EstimatesPanel(session.out_dir)
        self.data = DataPanel(session.out_dir)
        self.dose = DoseMeter()
        self.status = RigStatusBar()
        self.setStatusBar(self.status)
        self.docks: dict[str, QDockWidget] = {}
        self._view_menu = self.menuBar().addMenu("&View")
        # three columns: Image/Devices | Traces (full height) | Protocol over Estimates/Data
        self._dock("Devices", self.devices, Qt.LeftDockWidgetArea)
        self._dock("Image", self.image, Qt.LeftDockWidgetArea)
        self._dock("Traces", self.traces, Qt.RightDockWidgetArea)
        self._dock("Protocol", self.protocol, Qt.RightDockWidgetArea)
        self._dock("Estimates", self.estimates, Qt.RightDockWidgetArea)
        self._dock("Data", self.data, Qt.RightDockWidgetArea)
        self.splitDockWidget(self.docks["Traces"], self.docks["Protocol"], Qt.Horizontal)
        self.splitDockWidget(self.docks["Protocol"], self.docks["Estimates"], Qt.Vertical)
        self.tabifyDockWidget(self.docks["Estimates"], self.docks["Data"])
        self.docks["Estimates"].raise_()
        self.tabifyDockWidget(self.docks["Devices"], self.docks["Image"])
        self.docks["Image"].raise_()
        self._fit_screen()
        self._default_state = self.saveState()
        self._view_menu.addSeparator()
        self._view_menu.addAction("Reset layout", self.reset_layout)
        self._add_run_menu()
        calibrate_menu = self.menuBar().addMenu("&Calibrate")  # modal dialog on this rig, only while idle
        for what in PROCEDURES:
            calibrate_menu.addAction(f"{what.capitalize()}...", lambda w=what: self.session.busy or CalibrationDialog(
                self.session, self, w).exec_())
        self.last_result: RunResult | None = None
        self.errors: list[str] = []
        self.stats = RedrawStats()
        self.placement = Placement()
        self._wire()
        self._budget_spec_changed()
        self._protocol_switched()
        self._redraw_timer = QTimer(self, interval=REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self._redraw)
        self._redraw_timer.start()
        self._status_timer = QTimer(self, interval=1000)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start()
        self._refresh_status()
        self._restore_settings()

    def _add_run_menu(self) -> None:
        """Run menu with the run shortcuts, and a Help menu that lists them."""
        menu = self.menuBar().addMenu("&Run")
        self.shortcut_actions: dict[str, QAction] = {}
        for name, keys, slot, why in SHORTCUTS_TABLE:
            action = QAction(name, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.WindowShortcut)
            action.triggered.connect(getattr(self, slot))
            action.setToolTip(why)
            menu.addAction(action)
            self.addAction(action)  # active while the menu bar is hidden or a dock floats
            self.shortcut_actions[name] = action
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("Keyboard shortcuts", self.show_shortcuts)

    def shortcuts_text(self) -> str:
        """The keyboard shortcuts, one a line (Help > Keyboard shortcuts)."""
        lines = [f"{QKeySequence(keys).toString(QKeySequence.NativeText):<10} {name}: {why}"
                 for name, keys, _, why in SHORTCUTS_TABLE]
        return "\n".join(lines + ["", "Space and Esc act on the window; in a text field Space types a space."])

    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts."""
        box = QMessageBox(QMessageBox.Information, "Keyboard shortcuts", self.shortcuts_text(), QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    def run_selected(self) -> None:
        """Ctrl+R: run the selected protocol as its fields stand (checked first)."""
        if self.session.busy:
            self.status.showMessage(f"the rig is busy ({self.session.busy})", 5000)
            return
        if self.protocol.validate() is not None and self.protocol.run_button.isEnabled():
            self.protocol.run_button.click()

    def toggle_pause(self) -> None:
        """Space: pause after this sweep, or resume."""
        if self.session.busy == PROTOCOL_JOB:
            self.protocol.pause_button.toggle()

    def stop_after_sweep(self) -> None:
        """Ctrl+.: stop after the current sweep."""
        if self.session.busy == PROTOCOL_JOB:
            self.protocol.stop_button.click()
        elif self.session.busy:  # a live view or membrane test: ends after its sweep
            self.session.request_stop()

    def abort_now(self) -> None:
        """Esc: abort the running protocol now, mid-sweep (devices made safe)."""
        if self.session.busy == PROTOCOL_JOB:
            self.protocol.abort_button.click()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        self._view_menu.addAction(dock.toggleViewAction())

    def _fit_screen(self) -> None:
        """Size the window to the screen's free area (at most 1600 x 1000) and share it between the columns."""
        screen = QApplication.primaryScreen()
        free = screen.availableGeometry() if screen is not None else None
        width = min(1600, free.width()) if free is not None else 1600
        height = min(1000, free.height()) if free is not None else 1000
        self.resize(width, height)
        self._share_columns(width, height)

    def _share_columns(self, width: int, height: int) -> None:
        self.resizeDocks([self.docks["Image"], self.docks["Traces"], self.docks["Protocol"]],
                         [int(width * 0.29), int(width * 0.40), int(width * 0.31)], Qt.Horizontal)
        self.resizeDocks([self.docks["Protocol"], self.docks["Estimates"]], [int(height * 0.55), int(height * 0.45)],
                         Qt.Vertical)

    def _wire(self) -> None:
        s = self.session
        s.record.connect(self._on_record)
        s.busy_changed.connect(self._on_busy)
        s.job_finished.connect(self._on_finished)
        s.job_failed.connect(self._on_failed)
        self.protocol.run_requested.connect(self.start_protocol)
        self.protocol.stop_requested.connect(s.request_stop)
        self.protocol.abort_requested.connect(s.abort)
        self.protocol.pause_toggled.connect(s.set_paused)
        self.protocol.state_changed.connect(lambda _: self._refresh_status())
        self.protocol.validated.connect(self._budget_spec_changed)
        self.protocol.library.currentIndexChanged.connect(lambda _: self._protocol_switched())
        for panel in (self.image, self.devices):
            panel.acquire_requested.connect(self._start_plans)
            panel.stop_requested.connect(s.request_stop)
        self.devices.holding_applied.connect(self._apply_holding)
        self.image.scan_line_changed.connect(self._placed_line)
        self.image.bleach_point_changed.connect(self._placed_spine)
        self.image.camera_live_requested.connect(self._camera_live)
        self.image.rois.changed.connect(self._placed_roi)
        self.devices.light_stim.led_requested.connect(self._set_led)
        self.devices.light_stim.pulse_requested.connect(lambda plans: self._start_plans(STIM_JOB, plans))

    # ----- actions ------------------------------------------------------------------------
    def start_protocol(self, prepared: PreparedRun) -> bool:
        """Start a prepared protocol run unless the rig is busy."""
        self._static_leds_off()
        self.traces.set_protocol(list(prepared.compiled.loaded.protocol.steps))
        if not self.session.start_protocol(prepared):
            self.status.showMessage(self._refusal() + "; stop it first" * bool(self.session.busy), 5000)
            return False
        return True

    def _start_plans(self, label: str, plans: Sequence[SweepPlan]) -> None:
        self._static_leds_off()
        if not self.session.start_plans(label, plans):
            self.status.showMessage(self._refusal(), 5000)

    def _refusal(self) -> str:
        """Why the session refused a job."""
        if not self.session.alive:
            return "the acquisition process has ended; close and reopen the window"
        return f"the rig is busy ({self.session.busy})"

    def _apply_holding(self, mode: str, value: float) -> None:
        amp = self.devices.amplifier or ""
        if self.session.busy or self.session.device_kinds.get(amp) is None:
            return
        refused = self.session.set_holding(amp, mode, value)
        self.status.showMessage(f"{amp}: {refused}" if refused else
                                f"{amp}: {mode} holding {value:g} (runs set their own clamp; safe holding "
                                f"after every run)", 8000)
        self._refresh_status()

    def _camera_live(self, on: bool) -> None:
        if not on:
            self.session.request_stop()
            return
        controls = self.devices.camera_controls
        plan, problems = controls.live_plan() if controls is not None else (None, ["this profile has no camera"])
        if plan is None:
            self.image.message.setText("camera: " + "; ".join(problems))
            self.image.set_busy(self.session.busy)  # unchecks the button
            return
        self._start_plans(CAMERA_JOB, repeated(plan, _CAMERA_SWEEPS))

    def _set_led(self, led: str, on: bool) -> None:
        """Switch an LED statically, only while no job runs (the duty guard lives in the controls)."""
        controls = self.devices.light_stim
        source = controls.led_source or ""
        if source not in self.session.device_kinds:  # switching off with no LED source: nothing is lit
            controls.led_switched(led, False, "no LED source")
            return
        if on and self.session.busy:
            controls.led_switched(led, False, f"refused: the rig is busy ({self.session.busy})")
            return
        refused = self.session.set_led(source, led, on)
        if refused:
            controls.led_switched(led, False, refused)
        else:
            controls.led_switched(led, on)
        self._refresh_status()

    def _static_leds_off(self) -> None:
        lit = self.devices.light_stim.lit
        if lit and not self.session.busy:
            self._set_led(lit, False)

    # ----- the operator's placement -----------------------------------------------------------
    def _placed_line(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.placement.line = (start, end)
        self._apply_placement()

    def _placed_spine(self, point: tuple[float, float]) -> None:
        self.placement.spine = point
        self._apply_placement()

    def _placed_roi(self, field: str, text: str) -> None:
        self.placement.rois[field] = text
        self._apply_placement()

    def _apply_placement(self) -> None:
        """Write what the operator placed into every step field that means it; say what this protocol cannot use."""
        report = apply_placement(self.placement, self.protocol.set_field)
        name = self.protocol.library.currentText()
        self.protocol.show_placement(report.text(name))
        if report.unused:
            self.status.showMessage(f"{name} has no field for: {', '.join(report.unused)}", 8000)

    def _protocol_point(self, fields: tuple[str, ...]) -> tuple[float, float] | None:
        text = next((t for t in map(self.protocol.field_text, fields) if t), "")
        try:
            point = tuple(float(v) for v in yaml.safe_load(text)) if text else ()
        except (yaml.YAMLError, TypeError, ValueError):
            log.info("protocol point not shown: %s", text)
            return None
        return (point[0], point[1]) if len(point) == 2 else None

    def _protocol_switched(self) -> None:
        """Show the operator's placement where they placed, the protocol's geometry elsewhere; hand it over."""
        start, end = self.placement.line or (self._protocol_point(LINE_START_FIELDS),
                                             self._protocol_point(LINE_END_FIELDS))
        spine = self.placement.spine or self._protocol_point(SPINE_FIELDS)
        if start is not None and end is not None:
            self.image.show_geometry(start, end, spine if spine is not None else self.image.bleach_point())
        elif spine is not None:
            self.image.show_geometry(*self.image.scan_line(), spine)
        self._apply_placement()

    # ----- session signals -----------------------------------------------------------------
    def _on_record(self, label: str, record: Record) -> None:
        started = time.monotonic()
        try:
            self._take_record(label, record)
        finally:
            self.stats.records_s += time.monotonic() - started

    def _take_record(self, label: str, record: Record) -> None:
        if label == PROTOCOL_JOB:
            self.traces.handle(record)
            self.image.handle_protocol(record)
            self.protocol.handle(record)
            self.estimates.handle(record)
            self.dose.handle(record)
            if isinstance(record, Notice):
                self.status.showMessage(f"{record.level}: {record.message}", 10000)
            elif isinstance(record, SweepEnded):  # the run has charged the sweep to its spine's session record
                self._show_budgets()
            elif isinstance(record, (SweepStarted, Feature)):
                self._show_budget_status()
        elif label == FRAME_JOB:
            self.image.handle(record)
        elif label == CAMERA_JOB:
            self.image.handle_camera(record)
        elif label == MEMBRANE_JOB:
            self.devices.handle(record)

    def _on_busy(self, job: str) -> None:
        self.protocol.set_busy(bool(job))
        if job and job != PROTOCOL_JOB:
            self.protocol.run_button.setEnabled(False)
        self.image.set_busy(job)
        self.devices.set_busy(job)
        self._refresh_status()

    def _on_finished(self, label: str, result: object) -> None:
        if label == STIM_JOB:
            self.status.showMessage(f"single pulse: {getattr(result, 'status', '')}", 5000)
        if label != PROTOCOL_JOB:
            return
        assert isinstance(result, RunResult)
        self.last_result = result
        outcome = result.outcome
        self.status.showMessage("run " + self.protocol.finished(outcome.status, outcome.sweeps_completed,
                                                                 outcome.message), 10000)
        for estimate in result.estimates.values():
            self.estimates.add(estimate)  # the display lane may skip; the final estimates are authoritative
        self.status.show_run_file(result.path, writing=False)
        self._show_budgets()
        for failure in result.consumer_failures:
            self._on_failed(label, failure)
        self.data.select(result.path.name)

    def _on_failed(self, label: str, message: str) -> None:
        self.errors.append(message)
        if not self.session.busy:
            self.session.make_safe()  # the Runner already did; this also covers static settings
        box = QMessageBox(QMessageBox.Critical, "spinerig", f"{label} failed:\n{message}\n\nEvery device was put in "
                          "its safe state.", QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    # ----- budgets ---------------------------------------------------------------------------
    def _show_budgets(self) -> None:
        """Read the session record again: the budget bars, the population's marks and the status bar."""
        self.estimates.budgets.set_spec(*self.protocol.budget_spec())
        self.estimates.budgets.reload()
        self.estimates.set_refresh_needed()
        self._show_budget_status()

    def _budget_spec_changed(self) -> None:
        view = self.estimates.budgets
        spec = self.protocol.budget_spec()
        if (view.spec, view.spec_source) != spec:
            view.set_spec(*spec)
            self.estimates.set_refresh_needed()
            self._show_budget_status()

    def _show_budget_status(self) -> None:
        target = self.dose.target_um
        view = self.estimates.budgets
        spine = next((s for s in view.spines if not math.isnan(s.x_um)
                      and same_spine((s.x_um, s.y_um), target, view.tolerance_um)), None) if target else None
        uses = budget_uses(spine.dose if spine is not None else Dose(), view.spec)
        prediction = self.protocol.prediction.text() if self.protocol.prediction is not None else ""
        self.status.show_budget(self.dose, uses, prediction)

    # ----- timers ----------------------------------------------------------------------------
    def _redraw(self) -> None:
        started = time.monotonic()
        drew = self.traces.redraw()
        drew = self.image.redraw() or drew
        drew = self.devices.redraw() or drew
        self.estimates.redraw()
        self.protocol.tick()
        self.stats.tick(drew, started)

    def _refresh_status(self) -> None:
        job = self.session.busy
        if job == PROTOCOL_JOB and self.protocol.pause_button.isChecked():
            job += " (paused)" if "PAUSED" in self.protocol.state_text() else " (pausing after this sweep)"
        reports = self.session.safety()
        self.status.show_devices(reports, job)
        kinds = self.session.device_kinds
        self.devices.show_states(reports, kinds)
        path = self.session.current_run_file()
        if path is not None:
            self.status.show_run_file(path, writing=True)

    def reset_layout(self) -> None:
        """Every dock back in its place and the window sized to the screen (View > Reset layout)."""
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state)
        self._fit_screen()

    def _restore_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if isinstance(geometry, QByteArray) and isinstance(state, QByteArray):
            self._columns_shared = True  # the operator's own sizes, not the default shares
            self.restoreGeometry(geometry)
            self.restoreState(state)
        last = s.value(f"protocol/{self.session.profile.profile.name}")
        if isinstance(last, str) and last and self.protocol.library.findText(last) >= 0:
            self.protocol.select(last)

    def _save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue(f"protocol/{self.session.profile.profile.name}", self.protocol.library.currentText())
        s.sync()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Share the window between the columns once it has its real size (docks resize only when shown)."""
        super().showEvent(event)
        if not getattr(self, "_columns_shared", False):
            self._columns_shared = True
            QTimer.singleShot(0, lambda: self._share_columns(self.width(), self.height()))

    # ----- closing ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Abort any acquisition, wait for it to end, and leave every device safe."""
        self._redraw_timer.stop()
        self._status_timer.stop()
        self._save_settings()
        if self.session.busy:
            self.status.showMessage("aborting the run before closing ...")
        safe = self.session.shutdown()
        if not safe:
            log.error("closing: not every device reported safe: %s", self.session.safety())
        event.accept()
