"""Protocol panel: the protocol library, a form per step generated from its schema, run / stop / abort, progress."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import yaml
from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from rig.api import PreparedRun
from rig.config.budgets import BudgetSpec
from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
from rig.config.yaml_loading import read_yaml
from rig.datatypes.records import Feature, Record, RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.gui.prediction import FEATURE, TargetPrediction, predict
from rig.gui.progress import RunProgress, format_duration
from rig.gui.schema_form import SchemaForm
from rig.protocols.protocol_file import apply_overrides, compile_protocol, load_protocol, protocol_from_data

log = logging.getLogger(__name__)


def _step_model(kind: str) -> type:
    from rig.protocols import STEP_KINDS

    return STEP_KINDS[kind].schema


class ProtocolPanel(QWidget):
    """Choose a protocol, edit its parameters with inline validation, and run it."""

    run_requested = pyqtSignal(object)   # PreparedRun
    stop_requested = pyqtSignal()
    abort_requested = pyqtSignal()
    pause_toggled = pyqtSignal(bool)
    state_changed = pyqtSignal(str)      # the progress line's text, when it changes while running
    validated = pyqtSignal()             # the fields were checked again (`prepared` is the result)

    def __init__(self, profile: LoadedProfile, library_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.profile = profile
        self.library_dir = library_dir
        self.path: Path | None = None
        self.forms: list[SchemaForm] = []
        self.prepared: PreparedRun | None = None
        self.progress = RunProgress()
        self._busy = False
        self.library = QComboBox()
        self.library.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.library.setMinimumContentsLength(12)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.tabs = QTabWidget()
        self.general = QLabel()
        self.general.setProperty("role", "error")
        self.general.setWordWrap(True)
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop after sweep")
        self.stop_button.setToolTip("finish the current sweep, then end the run (devices made safe)")
        self.pause_button = QPushButton("Pause after sweep")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("hold before the next sweep (devices stay as a finished sweep leaves them); "
                                     "click again to resume")
        self.abort_button = QPushButton("Abort now")
        self.abort_button.setObjectName("abort")
        self.bar = QProgressBar()
        self.bar.setFormat("%v / %m sweeps")
        self.remaining = QLabel("idle")
        self.target_note = QLabel("")
        self.target_note.setWordWrap(True)
        self.target_note.setToolTip("the step's `until:` rule: sweeps predicted to reach its target (interval "
                                    "widths shrink about as 1/sqrt(sweeps)) and the light and depolarization "
                                    "they will cost the spine")
        self.target_note.setVisible(False)
        self.prediction: TargetPrediction | None = None
        self._last_plan: SweepPlan | None = None
        self._sweeps_of_step: dict[str, list[int]] = {}  # sweep indices started, per step
        self.placement_note = QLabel("")
        self.placement_note.setWordWrap(True)
        self.placement_note.setToolTip("what you placed on the Image panel is written into this protocol's fields "
                                       "and kept across protocol switches")
        self._sweep_running: bool | None = None  # None before the run's first record
        self._requested = ""  # what the operator asked of the running job: '', 'stop', 'abort'
        self._validate_timer = QTimer(self, singleShot=True, interval=250)
        self._validate_timer.timeout.connect(self.validate)
        self._layout()
        self.library.currentIndexChanged.connect(lambda _: self._load_selected())
        self.run_button.clicked.connect(self._run)
        self.stop_button.clicked.connect(self._stop_clicked)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.abort_button.clicked.connect(self._abort_clicked)
        self.refresh_library()
        self.set_busy(False)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Protocol"))
        top.addWidget(self.library, 1)
        reload_button = QPushButton("Reload")
        reload_button.clicked.connect(self.refresh_library)
        top.addWidget(reload_button)
        self.save_button = QPushButton("Save as...")
        self.save_button.setToolTip("write the protocol with your edits to a new YAML file (checked first)")
        self.save_button.clicked.connect(self._save_clicked)
        top.addWidget(self.save_button)
        buttons = QGridLayout()  # two by two: fits a narrow column
        for i, b in enumerate((self.run_button, self.pause_button, self.stop_button, self.abort_button)):
            buttons.addWidget(b, i // 2, i % 2)
        column = QVBoxLayout(self)
        column.setSpacing(4)
        column.setContentsMargins(6, 6, 6, 6)
        column.addLayout(top)
        column.addWidget(self.description)
        column.addWidget(self.tabs, 1)
        column.addWidget(self.placement_note)
        column.addWidget(self.general)
        column.addLayout(buttons)
        column.addWidget(self.bar)
        column.addWidget(self.remaining)
        column.addWidget(self.target_note)

    # ----- library and forms ------------------------------------------------------------
    def refresh_library(self) -> None:
        """List protocols/*.yaml."""
        current = self.library.currentData()
        self.library.blockSignals(True)
        self.library.clear()
        for path in sorted(self.library_dir.glob("*.yaml")):
            self.library.addItem(path.stem, path)
        self.library.blockSignals(False)
        index = self.library.findData(current) if current is not None else 0
        self.library.setCurrentIndex(max(index, 0))
        self._load_selected()

    def select(self, name: str) -> None:
        """Choose a protocol by file stem (e.g. 'frap')."""
        index = self.library.findText(name)
        if index < 0:
            raise KeyError(f"no protocol '{name}' in {self.library_dir}")
        self.library.setCurrentIndex(index)
        self._load_selected()

    def _load_selected(self) -> None:
        path = self.library.currentData()
        if path is None or path == self.path and self.forms:
            return
        self.path = Path(path)
        self.tabs.clear()
        self.forms = []
        try:
            protocol = load_protocol(self.path).protocol
        except InvalidInput as exc:
            self._show_general(exc.problems)
            return
        self.description.setText(protocol.description)
        for i, step in enumerate(protocol.steps):
            form = SchemaForm(_step_model(step.kind), step.model_dump(mode="json"), f"steps.{i}")
            form.edited.connect(self._validate_timer.start)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # fields shrink; messages wrap
            scroll.setWidget(form)
            scroll.setMinimumHeight(70)  # a few fields at least; the column must fit a 768 px screen
            self.tabs.addTab(scroll, f"{step.name or step.kind} ({step.kind})")
            self.forms.append(form)
        budgets = protocol.budgets if protocol.budgets is not None else BudgetSpec()
        form = SchemaForm(BudgetSpec, budgets.model_dump(mode="json"), "budgets")
        form.setToolTip("this protocol's per-spine session budgets (replace the profile's once any is set)")
        form.edited.connect(self._validate_timer.start)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(form)
        self.tabs.addTab(scroll, "budgets")
        self.forms.append(form)
        self.validate()

    def overrides(self) -> list[str]:
        """Every edited field as a `steps.i.path=value` override."""
        return [o for form in self.forms for o in form.overrides()]

    def field_text(self, step_field: str) -> str:
        """Text of a field (path inside a step) in the first step that has it, '' if none."""
        for form in self.forms:
            editor = form.editors.get(f"{form.prefix}.{step_field}")
            if editor is not None:
                return editor.text()
        return ""

    def set_field(self, step_field: str, text: str) -> int:
        """Set a field (path inside a step, e.g. 'line.start_um') in every step that has it; returns how many."""
        hits = 0
        for form in self.forms:
            editor = form.editors.get(f"{form.prefix}.{step_field}")
            if editor is not None:
                editor.set_text(text)
                hits += 1
        if hits:
            self._validate_timer.start()
        return hits

    # ----- validation -------------------------------------------------------------------
    def validate(self) -> PreparedRun | None:
        """Load, override, validate and compile; show each problem beside its field."""
        for form in self.forms:
            form.clear_problems()
        self.general.setText("")
        self.general.setVisible(False)
        self.prepared = None
        if self.path is None:
            return None
        try:
            loaded = load_protocol(self.path, self.overrides())
            self.prepared = PreparedRun(self.profile, compile_protocol(loaded, self.profile))
        except InvalidInput as exc:
            self._show_problems(exc.problems)
        self._update_buttons()
        self.validated.emit()
        return self.prepared

    def _show_problems(self, problems: list[Problem]) -> None:
        leftover: list[Problem] = []
        messages: dict[int, list[str]] = {}
        for p in problems:
            editor = next((e for f in self.forms if (e := f.editor_for(p.field)) is not None), None)
            if editor is None:
                leftover.append(p)
            else:
                messages.setdefault(id(editor), []).append(p.message)
                editor.show_problem("; ".join(messages[id(editor)]))
        self._show_general(leftover)

    def _show_general(self, problems: list[Problem]) -> None:
        self.general.setText("\n".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems))
        self.general.setVisible(bool(problems))

    def problem_texts(self) -> dict[str, str]:
        """Visible inline messages by field path (for tests and screenshots)."""
        return {path: e.error.text() for f in self.forms for path, e in f.editors.items() if e.error.text()}

    # ----- save as ------------------------------------------------------------------------
    def edited_yaml(self) -> str:
        """The selected protocol with the edits applied, as YAML (checked; InvalidInput if a value is not allowed)."""
        assert self.path is not None
        overrides = self.overrides()
        text, data = read_yaml(self.path)
        edited = apply_overrides(data, overrides)
        protocol_from_data(self.path, text, edited, [])  # every value checked before anything is written
        header = f"# saved by spinerig from {self.path.name}" + (f" with {', '.join(overrides)}" if overrides else "")
        return header + "\n" + yaml.safe_dump(edited, sort_keys=False, allow_unicode=True)

    def save_as(self, path: Path) -> str:
        """Write the edited protocol to `path` and select it if it is in the library; returns what was done."""
        try:
            text = self.edited_yaml()
        except InvalidInput as exc:
            self._show_problems(exc.problems)
            return "not saved: " + "; ".join(p.message for p in exc.problems)
        path = Path(path).with_suffix(".yaml")
        path.write_text(text, encoding="utf-8")
        if path.parent.resolve() == self.library_dir.resolve():
            self.refresh_library()
            self.select(path.stem)
        return f"saved {path}"

    def _save_clicked(self) -> None:
        if self.path is None:
            return
        name, _ = QFileDialog.getSaveFileName(self, "Save protocol as", str(self.library_dir / f"{self.path.stem}_edited.yaml"),
                                              "protocol files (*.yaml)")
        if name:
            self.remaining.setText(self.save_as(Path(name)))

    # ----- run control ------------------------------------------------------------------
    def _run(self) -> None:
        prepared = self.validate()
        if prepared is not None:
            self._requested, self._sweep_running = "", None
            self.progress = RunProgress()
            self.bar.setRange(0, 0)  # busy indicator until the run's plans are known
            self.run_requested.emit(prepared)

    def show_placement(self, text: str) -> None:
        """Say which of the operator's placed items this protocol took, and which it cannot use."""
        self.placement_note.setText(text)
        self.placement_note.setVisible(bool(text))  # empty lines would cost height a 768 px screen lacks

    def _stop_clicked(self) -> None:
        self._requested = self._requested or "stop"
        self.remaining.setText("stopping after this sweep ...")
        self.stop_requested.emit()

    def _abort_clicked(self) -> None:
        self._requested = "abort"
        self.remaining.setText("aborting ...")
        self.abort_requested.emit()

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause after sweep")
        self.pause_toggled.emit(paused)
        self.tick()

    def state_text(self) -> str:
        """What the run is doing now, as the progress line shows it."""
        return self.remaining.text()

    def set_busy(self, busy: bool) -> None:
        """Enable run or stop/abort according to whether the rig is acquiring."""
        self._busy = busy
        self._update_buttons()
        self.tick()

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self._busy and self.prepared is not None)
        self.stop_button.setEnabled(self._busy)
        self.abort_button.setEnabled(self._busy)
        self.pause_button.setEnabled(self._busy)
        if not self._busy and self.pause_button.isChecked():
            self.pause_button.setChecked(False)

    def handle(self, record: Record) -> None:
        """Follow a protocol run's records (progress)."""
        if isinstance(record, RunStarted):
            self.progress = RunProgress(record.plans, 0, time.monotonic(), record.planned_sweeps)
            self.bar.setRange(0, self.progress.total)
            self.bar.setValue(0)
            self._sweep_running = False
            self.prediction, self._last_plan, self._sweeps_of_step = None, None, {}
            self.target_note.setVisible(False)
        elif isinstance(record, SweepStarted):
            self._sweep_running = True
            self._set_planned(record.n_planned_sweeps)
            self._last_plan = record.plan
            self._sweeps_of_step.setdefault(record.plan.step_name, []).append(record.sweep_index)
        elif isinstance(record, SweepEnded):
            self._sweep_running = False
            if record.completed:
                self.progress.done = max(self.progress.done, record.sweep_index + 1)
                self.bar.setMaximum(self.progress.total)
                self.bar.setValue(self.progress.done)
        elif isinstance(record, RunEnded):
            self._set_planned(record.n_planned_sweeps)
        elif isinstance(record, Feature) and record.name == FEATURE and self._last_plan is not None:
            self._show_prediction(record)

    def _set_planned(self, planned: int) -> None:
        if planned >= 0:
            self.progress.planned = planned
            self.bar.setMaximum(self.progress.total)

    def budget_spec(self) -> tuple[BudgetSpec | None, str]:
        """The per-spine budget that applies to the selected protocol (its own, else the profile's) and its file."""
        protocol = self.prepared.compiled.loaded if self.prepared is not None else None
        if protocol is not None and protocol.protocol.budgets is not None:
            return protocol.protocol.budgets, str(protocol.path)
        if self.profile.profile.budgets is not None:
            return self.profile.profile.budgets, str(self.profile.path)
        return None, ""

    def _step_budget(self, step_index: int, step_name: str) -> int:
        """Sweeps the step may run: its program's planned count (adaptive steps plan more than their boundary
        plans), else the run's plans of that step."""
        planned = self.prepared.compiled.step_planned_sweeps if self.prepared is not None else []
        if 0 <= step_index < len(planned) and planned[step_index] > 0:
            return planned[step_index]
        return sum(1 for p in self.progress.plans if p.step_name == step_name)

    def _show_prediction(self, feature: Feature) -> None:
        plan = self._last_plan
        assert plan is not None
        budget = self._step_budget(plan.step_index, feature.step_name)
        done = sum(1 for k in self._sweeps_of_step.get(feature.step_name, []) if k <= feature.sweep_index)
        self.prediction = predict(feature.step_name, feature.value, plan, done, budget, self.profile.profile,
                                  self.budget_spec()[0])
        self.target_note.setText(self.prediction.text())
        self.target_note.setProperty("role", "error" if self.prediction.beyond_budget else "")
        style = self.target_note.style()
        if style is not None:  # re-read the stylesheet for the new role
            style.unpolish(self.target_note)
            style.polish(self.target_note)
        self.target_note.setVisible(True)

    def tick(self) -> None:
        """Refresh the run's state and time remaining (called by the window's redraw timer)."""
        if not self._busy:
            return
        if self._requested == "abort":
            text = "aborting ..."
        elif self._requested == "stop":
            text = f"stopping after sweep {self.progress.done + 1} ..."
        elif not self.progress.plans:
            text = "preparing the run (building the rig's first sweep) ..."
        elif self.pause_button.isChecked():
            n = self.progress.total
            text = (f"PAUSED after sweep {self.progress.done} of {n} (press Resume)" if self._between_sweeps() else
                    f"pausing after sweep {self.progress.done + 1} of {n} ...")
        else:
            left = self.progress.remaining_s(time.monotonic())
            text = (f"sweep {min(self.progress.done + 1, self.progress.total)} of "
                    f"{self.progress.total} - {format_duration(left)} left")
        if text != self.remaining.text():
            self.remaining.setText(text)
            if not text.startswith("sweep "):  # the countdown changes every second; states are what matter
                self.state_changed.emit(text)

    def _between_sweeps(self) -> bool:
        return self._sweep_running is False

    def finished(self, status: str, sweeps_completed: int, message: str) -> str:
        """Show how a run ended (authoritative count from the run's outcome); returns the text shown."""
        self.progress.done = sweeps_completed
        if status == "completed":  # adaptive steps chose their own length: the plan was what ran
            self.progress.planned = sweeps_completed
        self.bar.setRange(0, max(self.progress.total, 1))
        self.bar.setValue(sweeps_completed)
        if self._requested == "abort" and status == "stopped":
            # the Runner ends a run aborted before any sweep began as 'stopped by request'; the operator aborted
            status, message = "aborted", "before sweep 1 started; nothing was acquired" if sweeps_completed == 0 \
                else f"between sweeps, after sweep {sweeps_completed}"
        self._requested = ""
        text = f"{status}: {sweeps_completed} of {self.progress.total} sweeps" + (f" ({message})" if message
                                                                                        else "")
        self.remaining.setText(text)
        return text
