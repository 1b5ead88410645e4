"""The Calibrate menu's dialog: run a calibration on the window's rig and write the result into a copy of the profile.

The same procedures as `rig calibrate` (rig.calibrate.procedures), run from a worker thread (in the window's
acquisition process when given the session) while the dialog is modal (the window starts nothing else meanwhile); typed power readings are asked for on the GUI thread. The
measured values are shown next to the profile's before the copy is written; the profile itself never is.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from pathlib import Path
from typing import Callable, Protocol, Union

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rig.calibrate.procedures import (
    METHODS,
    PROCEDURES,
    CalibrationOutcome,
    CalibrationRequest,
    request_problems,
    run_procedure,
)
from rig.calibrate.profile_copy import out_path_problems, write_calibrated_copy
from rig.config.problems import InvalidInput
from rig.config.profile import LoadedProfile
from rig.engine.rig import Rig
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)

HINTS = {
    "galvo": "Put the calibration grid slide under the objective, in focus. A frame is scanned at imaging power.",
    "pockels": "Power meter under the objective (meter / typed), or a uniform dye slide (pmt). The cell is stepped "
               "through its whole range with the shutter open.",
    "leds": "Power meter under the objective. Each LED is switched on alone after a dark reading.",
    "telegraph": "The amplifier is stepped through each mode and primary gain (on a real rig you are asked to switch "
                 "it); the telegraph inputs are read.",
}


def default_copy_path(profile_path: Path, what: str) -> Path:
    """`<profile>_<what>_<date>.yaml` beside the profile."""
    return profile_path.with_name(f"{profile_path.stem}_{what}_{dt.date.today().isoformat()}.yaml")


class CalibrationTarget(Protocol):
    """What the dialog calibrates: the window's session (procedures run in its acquisition process) or a Rig."""

    profile: LoadedProfile

    def calibrate(self, request: CalibrationRequest, ask: Callable[[str], str]) -> CalibrationOutcome:
        """Run one procedure; InvalidInput, ValueError or RuntimeError with the one-line reason on failure."""
        ...

    def make_safe(self) -> list[SafetyReport]:
        """Every device in its safe state."""
        ...


class RigInThisProcess:
    """A Rig opened by this process, as a calibration target."""

    def __init__(self, rig: Rig):
        self.rig = rig
        self.profile = rig.profile

    def calibrate(self, request: CalibrationRequest, ask: Callable[[str], str]) -> CalibrationOutcome:
        """Run the procedure here."""
        return run_procedure(self.rig, request, ask)

    def make_safe(self) -> list[SafetyReport]:
        """Every device in its safe state."""
        return self.rig.make_safe()


class CalibrationDialog(QDialog):
    """Choose a procedure, run it on the rig, review the measured values, write the calibrated copy."""

    _finished = pyqtSignal(object, str)  # worker -> GUI thread: CalibrationOutcome or None, error line
    _ask = pyqtSignal(str)               # worker -> GUI thread: a prompt for a typed reading

    def __init__(self, rig: Union[Rig, CalibrationTarget], parent: QWidget | None = None, procedure: str = "galvo"):
        super().__init__(parent)
        self.setWindowTitle("Calibrate")
        self.rig: CalibrationTarget = RigInThisProcess(rig) if isinstance(rig, Rig) else rig
        self.outcome: CalibrationOutcome | None = None
        self._answers: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.procedure = QComboBox()
        self.procedure.addItems(PROCEDURES)
        self.method = QComboBox()
        self.method.addItems(["default", *METHODS])
        self.pitch = QDoubleSpinBox()
        self.pitch.setDecimals(2)
        self.pitch.setRange(1.0, 200.0)
        self.pitch.setValue(10.0)
        self.pitch.setSuffix(" um")
        self.steps = QSpinBox()
        self.steps.setRange(3, 101)
        self.steps.setValue(17)
        self.out = QLineEdit()
        browse = QPushButton("...")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out)
        out_row.addWidget(browse)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Procedure", self.procedure)
        form.addRow("Power readings", self.method)
        form.addRow("Grid pitch", self.pitch)
        form.addRow("Pockels steps", self.steps)
        form.addRow("Calibrated copy", out_row)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["value", "profile", "measured"])
        header, rows = self.table.horizontalHeader(), self.table.verticalHeader()
        if header is not None:
            header.setStretchLastSection(True)
        if rows is not None:
            rows.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.run_button = QPushButton("Run")
        self.write_button = QPushButton("Write copy")
        self.write_button.setEnabled(False)
        close = QPushButton("Close")
        self.run_button.clicked.connect(self._run_clicked)
        self.write_button.clicked.connect(self._write_clicked)
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.run_button, self.write_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._finished.connect(self._on_finished)
        self._ask.connect(self._on_ask)
        self.procedure.currentTextChanged.connect(self._procedure_changed)
        self.procedure.setCurrentText(procedure)
        self._procedure_changed(self.procedure.currentText())
        self.resize(620, 520)

    # ----- inputs ------------------------------------------------------------------------------------------
    def _procedure_changed(self, what: str) -> None:
        self.hint.setText(HINTS.get(what, ""))
        self.method.setEnabled(what in ("pockels", "leds"))
        self.pitch.setEnabled(what == "galvo")
        self.steps.setEnabled(what == "pockels")
        self.out.setText(str(default_copy_path(Path(self.rig.profile.path), what)))
        self._show(None)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Calibrated copy of the profile", self.out.text(), "YAML (*.yaml)")
        if path:
            self.out.setText(path)

    def request(self) -> CalibrationRequest:
        """The procedure and options as chosen."""
        what = PROCEDURES[self.procedure.currentIndex()]  # the items are PROCEDURES, in order
        k = self.method.currentIndex() if self.method.isEnabled() else 0  # the items are "default", then METHODS
        return CalibrationRequest(what, METHODS[k - 1] if k > 0 else None, self.pitch.value(), self.steps.value())

    # ----- running -----------------------------------------------------------------------------------------
    def _run_clicked(self) -> None:
        self.start()

    def _write_clicked(self) -> None:
        self.write_copy()

    def start(self) -> bool:
        """Run the chosen procedure on a worker thread; False (and a line in the dialog) if it cannot start."""
        request = self.request()
        problems = request_problems(request, "Calibrate")
        if problems:
            self.status.setText("\n".join(str(p) for p in problems))
            return False
        self._show(None)
        self.status.setText(f"running {request.what} calibration ...")
        self.run_button.setEnabled(False)

        def work() -> None:
            try:
                outcome = self.rig.calibrate(request, self._ask_operator)
            except (InvalidInput, ValueError, RuntimeError) as exc:  # the procedure has made the rig safe
                message = "; ".join(map(str, exc.problems)) if isinstance(exc, InvalidInput) else str(exc)
                self._finished.emit(None, message)
                return
            except Exception as exc:  # shown in one line; logged in full
                log.exception("calibration failed")
                self._finished.emit(None, f"{exc.__class__.__name__}: {exc}")
                return
            finally:
                self.rig.make_safe()
            self._finished.emit(outcome, "")

        self._worker = threading.Thread(target=work, name="calibration", daemon=True)
        self._worker.start()
        return True

    def wait(self, timeout_s: float = 600.0) -> None:
        """Block until the running procedure's thread ends (tests, closing the dialog)."""
        if self._worker is not None:
            self._worker.join(timeout_s)

    def _ask_operator(self, prompt: str) -> str:
        """On the worker: show the prompt on the GUI thread and wait for the operator's answer."""
        self._ask.emit(prompt)
        return self._answers.get()

    def _on_ask(self, prompt: str) -> None:
        value, ok = QInputDialog.getDouble(self, "Calibrate", prompt, 0.0, 0.0, 1e6, 4)
        self._answers.put(f"{value}" if ok else "0")

    def _on_finished(self, outcome: object, error: str) -> None:
        self.run_button.setEnabled(True)
        if error:
            self.status.setText(f"calibration failed: {error}")
            return
        assert isinstance(outcome, CalibrationOutcome)
        self._show(outcome)
        self.status.setText(f"{outcome.what}: measured; review and write the copy")

    def _show(self, outcome: CalibrationOutcome | None) -> None:
        self.outcome = outcome
        rows = outcome.rows if outcome is not None else ()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.write_button.setEnabled(outcome is not None)

    def write_copy(self) -> Path | None:
        """Write the measured values into the copy; its path, or None (with the problem shown)."""
        if self.outcome is None:
            return None
        out = Path(self.out.text()).expanduser()
        loaded = self.rig.profile
        problems = out_path_problems(Path(loaded.path), out)
        try:
            if problems:
                raise InvalidInput(problems)
            write_calibrated_copy(loaded, self.outcome.edits, out, self.outcome.what)
        except InvalidInput as exc:
            self.status.setText("\n".join(str(p) for p in exc.problems))
            return None
        self.status.setText(f"wrote {out} (the profile {loaded.path} is unchanged); open it with --profile to use it")
        return out
