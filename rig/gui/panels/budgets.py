"""Per-spine budgets as bars: each spine's 2P light, LED light and time held depolarized against its session budget.

Reads the session record (`session_budget.json` beside the run files, written by the run after every sweep) with
the budget that applies: the selected protocol's `budgets`, else the profile's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtWidgets import QGridLayout, QLabel, QProgressBar, QScrollArea, QVBoxLayout, QWidget

from rig.config.budgets import BudgetSpec
from rig.gui import theme
from rig.session.budget import SessionRecord, SpineDose
from rig.session.dose import Dose

log = logging.getLogger(__name__)

# (field of Dose and BudgetSpec, short name, unit)
LIMITS = (("two_photon_fraction2_s", "2P light", "P²·s"), ("led_mJ", "LED light", "mJ"),
          ("depolarized_s", "depolarized", "s"))
_BAR_STEPS = 1000


@dataclass(frozen=True)
class BudgetUse:
    """One budget of one spine: used, allowed (None: no budget set) and the fraction used."""

    name: str
    unit: str
    used: float
    allowed: float | None

    @property
    def fraction(self) -> float:
        """used / allowed (NaN without a budget)."""
        return self.used / self.allowed if self.allowed else math.nan

    @property
    def used_up(self) -> bool:
        """True when the spine has used all of this budget (or more)."""
        return self.allowed is not None and self.used >= self.allowed * (1 - 1e-9)

    def text(self) -> str:
        """'2P light 0.012 of 0.02 P²·s (60 %)' or '... (no budget set)'."""
        if self.allowed is None:
            return f"{self.name} {self.used:.3g} {self.unit} (no budget set)"
        return f"{self.name} {self.used:.3g} of {self.allowed:g} {self.unit} ({100 * self.fraction:.0f} %)"


def budget_uses(dose: Dose, spec: BudgetSpec | None) -> list[BudgetUse]:
    """Every budget the spec sets (or, without one, every dose the spine received)."""
    uses = []
    for field, name, unit in LIMITS:
        allowed = getattr(spec, field) if spec is not None else None
        used = getattr(dose, field)
        if allowed is not None or used > 0:
            uses.append(BudgetUse(name, unit, used, allowed))
    return uses


class BudgetsView(QWidget):
    """One row of bars per spine of the session record."""

    def __init__(self, folder: Path | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder = Path(folder) if folder is not None else None  # None: no run folder, no record
        self.spec: BudgetSpec | None = None
        self.spec_source = ""
        self.spines: list[SpineDose] = []
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self._rows = QWidget()
        self._grid = QGridLayout(self._rows)
        self._grid.setContentsMargins(2, 2, 2, 2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._rows)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.note)
        column.addWidget(scroll, 1)
        self.bars: dict[tuple[int, str], QProgressBar] = {}
        self.reload()

    def set_spec(self, spec: BudgetSpec | None, source: str) -> None:
        """The budget that applies now (protocol's or profile's) and where it comes from."""
        if spec != self.spec or source != self.spec_source:
            self.spec, self.spec_source = spec, source
            self.reload()

    @property
    def tolerance_um(self) -> float:
        """Targets this close are one spine (the budget's rule; 1 um without a budget)."""
        return self.spec.spine_tolerance_um if self.spec is not None else BudgetSpec().spine_tolerance_um

    def reload(self) -> None:
        """Read the session record again and redraw the bars."""
        if self.folder is None:
            self.spines = []
            self.note.setText("no run folder")
            self._draw()
            return
        try:
            self.spines = SessionRecord(self.folder, self.tolerance_um).spines
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged record: say so, draw nothing
            log.warning("session record not read: %s", exc)
            self.spines = []
            self.note.setText(f"session record not read: {exc}")
            self._draw()
            return
        where = f"budget from {Path(self.spec_source).name}" if self.spec is not None else \
            "no budget set (protocol or profile `budgets:`)"
        self.note.setText(f"{len(self.spines)} spine(s) in this session's record; {where}")
        self._draw()

    def _draw(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.bars = {}
        row = 0
        for k, spine in enumerate(self.spines):
            uses = budget_uses(spine.dose, self.spec)
            label = QLabel(f"{spine.label} - {len(spine.runs)} run(s)")
            if any(u.used_up for u in uses):
                label.setText(label.text() + " - BUDGET USED UP")
                label.setStyleSheet(f"color: {theme.ERROR_TEXT};")
            self._grid.addWidget(label, row, 0, 1, 2)
            row += 1
            for use in uses:
                self._grid.addWidget(QLabel(use.name), row, 0)
                bar = QProgressBar()
                bar.setRange(0, _BAR_STEPS)
                bar.setTextVisible(True)
                if use.allowed is None:
                    bar.setRange(0, 0 if use.used <= 0 else 1)  # no budget: a full, neutral bar and the figure
                    bar.setValue(1)
                else:
                    bar.setValue(int(round(min(use.fraction, 1.0) * _BAR_STEPS)))
                bar.setFormat(use.text())
                color = theme.ERROR_TEXT if use.used_up else theme.ACCENT if use.allowed is not None else "#3a4048"
                bar.setStyleSheet(f"QProgressBar::chunk {{ background: {color}; }}")
                self._grid.addWidget(bar, row, 1)
                self.bars[(k, use.name)] = bar
                row += 1
        self._grid.setRowStretch(row, 1)
        self._grid.setColumnStretch(1, 1)

    def used_up_targets(self) -> list[tuple[float, float] | None]:
        """Targets of the spines that have used up a budget (for the population plot)."""
        out: list[tuple[float, float] | None] = []
        for s in self.spines:
            if any(u.used_up for u in budget_uses(s.dose, self.spec)):
                out.append(None if math.isnan(s.x_um) else (s.x_um, s.y_um))
        return out
