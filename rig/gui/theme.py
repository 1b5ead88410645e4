"""Dark-room theme: dark backgrounds, dim text, red-shifted accents that do not dazzle a dark-adapted eye."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt5.QtGui import QColor, QPalette
from PyQt5.QtWidgets import QApplication

BACKGROUND = "#101214"
PANEL = "#181b1f"
TEXT = "#b8b0a8"
ACCENT = "#d0683c"
CURRENT_PEN = "#f0a060"
PREVIOUS_PEN = (140, 120, 100, 90)
AVERAGE_PEN = "#6cb0d8"
ERROR_TEXT = "#ff6b5a"
OK_TEXT = "#8cc084"

STYLE_SHEET = f"""
QWidget {{ background: {PANEL}; color: {TEXT}; }}
QMainWindow, QDockWidget {{ background: {BACKGROUND}; }}
QDockWidget::title {{ background: #23272c; padding: 3px; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QListWidget, QTableWidget, QPlainTextEdit {{
    background: {BACKGROUND}; border: 1px solid #33383f; selection-background-color: #5a3422; }}
QLineEdit[invalid="true"] {{ border: 1px solid {ERROR_TEXT}; }}
QPushButton {{ background: #262a30; border: 1px solid #3a4048; padding: 4px 10px; }}
QPushButton:hover {{ background: #2f343b; }}
QPushButton:disabled {{ color: #5a5550; }}
QPushButton#abort {{ background: #5a1e18; color: #ffd0c0; }}
QPushButton#abort:disabled {{ background: #262a30; color: #5a5550; }}
QGroupBox {{ border: 1px solid #2c3036; margin-top: 10px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 6px; padding: 0 3px; }}
QProgressBar {{ border: 1px solid #33383f; text-align: center; background: {BACKGROUND}; }}
QProgressBar::chunk {{ background: #7a3a20; }}
QHeaderView::section {{ background: #23272c; color: {TEXT}; border: 0; padding: 2px; }}
QLabel[role="error"] {{ color: {ERROR_TEXT}; }}
QStatusBar {{ background: {BACKGROUND}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Dark palette and style sheet for widgets; dark backgrounds for every pyqtgraph plot."""
    pg.setConfigOptions(background=BACKGROUND, foreground=TEXT, antialias=False, imageAxisOrder="row-major")
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in ((QPalette.Window, PANEL), (QPalette.Base, BACKGROUND), (QPalette.Text, TEXT),
                        (QPalette.WindowText, TEXT), (QPalette.Button, "#262a30"), (QPalette.ButtonText, TEXT),
                        (QPalette.Highlight, "#5a3422"), (QPalette.HighlightedText, "#f0e0d0")):
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
