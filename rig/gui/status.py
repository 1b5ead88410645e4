"""Status bar: device states, the run file being written, and the light dose on the current spine vs its budget."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from rig.datatypes.records import Record, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.gui import theme
from rig.gui.light_dose import spine_dose_p2ms, spine_key
from rig.gui.panels.budgets import BudgetUse
from rig.hal.interfaces import SafetyReport


class DoseMeter:
    """Light delivered to each spine in this session, from the commanded outputs of protocol sweeps."""

    def __init__(self) -> None:
        self.dose_by_spine: dict[str, float] = {}
        self.current = ""
        self.target_um: tuple[float, float] | None = None
        self._plan: SweepPlan | None = None

    def handle(self, record: Record) -> None:
        """Count a sweep's light on its target when the sweep ends (partial sweeps count what ran)."""
        if isinstance(record, SweepStarted):
            self._plan = record.plan if record.plan.target_um is not None else None
            target = self._plan.target_um if self._plan is not None else None
            if target is not None:
                self.current = spine_key(target)
                self.target_um = (float(target[0]), float(target[1]))
        elif isinstance(record, SweepEnded) and self._plan is not None:
            plan, self._plan = self._plan, None
            target = plan.target_um  # never None: _plan only holds sweeps with a target
            dose = spine_dose_p2ms(plan, target, n_samples=record.n_samples) if target is not None else 0.0
            self.dose_by_spine[self.current] = self.dose_by_spine.get(self.current, 0.0) + dose

    def current_dose(self) -> float:
        """Dose on the current spine so far."""
        return self.dose_by_spine.get(self.current, 0.0)


class RigStatusBar(QStatusBar):
    """Three permanent fields: devices, run file, light dose."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.devices = QLabel("devices: -")
        self.run_file = QLabel("run file: -")
        self.dose = QLabel("light: -")
        for w, stretch in ((self.devices, 2), (self.run_file, 3), (self.dose, 3)):
            w.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # long texts are cut, never widen the window
            self.addPermanentWidget(w, stretch)

    def show_devices(self, reports: list[SafetyReport], job: str) -> None:
        """'all safe', the job running, or which devices are active."""
        active = [r.device for r in reports if not r.safe]
        if job:
            text, color = f"devices: running {job}", theme.ACCENT
        elif active:
            text, color = "devices: ACTIVE " + ", ".join(active), theme.ERROR_TEXT
        else:
            text, color = f"devices: all {len(reports)} safe", theme.OK_TEXT
        self.devices.setText(text)
        self.devices.setStyleSheet(f"color: {color};")
        self.devices.setToolTip("\n".join(f"{r.device}: {r.detail}" for r in reports))

    def show_run_file(self, path: Path | None, writing: bool) -> None:
        """The run file (being written, or the last one)."""
        if path is not None:
            self.run_file.setText(f"run file{' (writing)' if writing else ''}: {path}")

    def show_budget(self, meter: DoseMeter, uses: list[BudgetUse], prediction: str = "") -> None:
        """The current spine's session budgets (from the session record), or its light this session when none is set;
        then the `until:` prediction, if any."""
        if not meter.current:
            return
        if any(u.allowed is not None for u in uses):
            text = f"spine {meter.current}: " + "; ".join(u.text() for u in uses if u.allowed is not None)
            over = any(u.used_up for u in uses)
        else:
            text = f"light on {meter.current}: {meter.current_dose():.3g} P²·ms (no budget set)"
            over = False
        if prediction:
            text += f" | {prediction}"
        self.dose.setText(text)
        self.dose.setToolTip(text)
        self.dose.setStyleSheet(f"color: {theme.ERROR_TEXT if over else theme.TEXT};")
