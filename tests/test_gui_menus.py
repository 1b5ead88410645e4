"""Keyboard shortcuts, the Help menu and what the window keeps between sessions (QSettings), offscreen Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import QSettings, Qt  # noqa: E402

from conftest import PROFILE, ROOT, assert_rig_safe  # noqa: E402
from rig.gui.app import LAST_PROFILE_KEY, build_window, last_profile  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402


def _window(qtbot, qapp, out, settings=None):
    apply_theme(qapp)
    w = build_window(PROFILE, out, ROOT / "protocols", pace="fast", settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_run_pause_and_abort_from_the_keyboard(qtbot, qapp, tmp_path, journal):
    window = _window(qtbot, qapp, tmp_path / "runs")
    window.protocol.select("frap")
    for field, value in (("sweeps", "50"), ("recovery_ms", "300"), ("interval_s", "0.1")):
        window.protocol.set_field(field, value)
    qapp.setActiveWindow(window)  # shortcuts reach the active window only
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    with qtbot.waitSignal(window.session.busy_changed, timeout=60000):
        qtbot.keyClick(window, Qt.Key_R, Qt.ControlModifier)
    assert window.session.busy == "protocol"
    qtbot.keyClick(window, Qt.Key_Space)
    assert window.protocol.pause_button.isChecked()
    qtbot.keyClick(window, Qt.Key_Space)
    assert not window.protocol.pause_button.isChecked()
    with qtbot.waitSignal(window.session.job_finished, timeout=60000):
        qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.session.busy)
    assert window.last_result.outcome.status in ("aborted", "stopped")  # 'stopped' when it fell between sweeps
    assert window.protocol.state_text().startswith("aborted")  # the window says what the operator asked
    assert window.last_result.outcome.sweeps_completed < 50
    window.close()
    assert_rig_safe(journal)


def test_help_lists_every_shortcut(qtbot, qapp, tmp_path):
    window = _window(qtbot, qapp, tmp_path / "runs")
    text = window.shortcuts_text()
    for keys in ("Ctrl+R", "Space", "Esc", "Ctrl+."):
        assert keys in text
    menus = [a.text() for a in window.menuBar().actions()]
    assert {"&View", "&Run", "&Help"} <= set(menus)
    window.close()


def test_layout_and_last_protocol_are_restored_and_reset(qtbot, qapp, tmp_path):
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat)
    first = _window(qtbot, qapp, tmp_path / "runs", settings)
    first.protocol.select("fcat")
    first.docks["Data"].setFloating(True)
    first.close()
    settings.sync()
    second = _window(qtbot, qapp, tmp_path / "runs", QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat))
    assert second.protocol.library.currentText() == "fcat"
    assert second.docks["Data"].isFloating()
    second.reset_layout()
    assert not second.docks["Data"].isFloating()
    second.close()


def test_last_profile_is_offered_only_while_it_exists(tmp_path):
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat)
    assert last_profile(settings) is None
    settings.setValue(LAST_PROFILE_KEY, str(PROFILE))
    assert last_profile(settings) == PROFILE
    settings.setValue(LAST_PROFILE_KEY, str(tmp_path / "gone.yaml"))
    assert last_profile(settings) is None
