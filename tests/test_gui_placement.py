"""The operator's placement kept across protocol switches, the run state shown truly, Na/Ca sweeps drawn live
(the pure placement rules are tested in test_gui_pace.py with the other window-free parts)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt5.QtCore import Qt  # noqa: E402

from conftest import PROFILE, ROOT, assert_rig_safe  # noqa: E402
from rig.gui.app import build_window  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402

# every test here runs the simulated rig in the window (paced): the slow tier
pytestmark = pytest.mark.slow

NA_CA_PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"


def _window(qtbot, qapp, tmp_path, profile):
    apply_theme(qapp)
    w = build_window(profile, tmp_path / "runs", ROOT / "protocols")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def window(qtbot, qapp, tmp_path, journal):
    w = _window(qtbot, qapp, tmp_path, PROFILE)
    yield w
    w.close()


def _type(qtbot, window, field: str, text: str) -> None:
    editor = window.protocol.forms[0].editors[f"steps.0.{field}"].widget
    editor.selectAll()
    qtbot.keyClicks(editor, text)


def test_placed_line_and_spine_survive_protocol_switches(qtbot, window):
    assert window.protocol.library.currentText() == "bap_train"  # the window opens on another protocol
    window.protocol.select("frap")
    start, end, spine = (-1.0, 8.0), (2.6, 8.0), (1.8, 8.05)
    window.image.place(start, end, spine)
    for name, fields in (("fcat", ("imaging.start_um", "imaging.end_um", "imaging.spine_um")),
                         ("frap", ("line.start_um", "line.end_um", "bleach.point_um")),
                         ("paired_ap", ("imaging.start_um", "imaging.end_um", "imaging.spine_um"))):
        window.protocol.select(name)
        assert [window.protocol.field_text(f) for f in fields] == ["[-1, 8]", "[2.6, 8]", "[1.8, 8.05]"], name
        assert window.image.scan_line() == (start, end) and window.image.bleach_point() == spine, name
        assert "your placement: scan line" in window.protocol.placement_note.text()
    window.protocol.select("hyperpolarizing_steps")
    assert "not used by hyperpolarizing_steps: scan line, spine point" in window.protocol.placement_note.text()
    assert window.image.scan_line() == (start, end)  # still shown, still the operator's
    window.protocol.select("paired_ap")
    prepared = window.protocol.validate()
    assert prepared is not None
    assert prepared.compiled.plans[0].target_um == pytest.approx(spine)
    assert prepared.compiled.plans[0].line_scan.start_um == pytest.approx(start)


def test_pause_and_abort_before_the_first_sweep_are_shown_as_such(qtbot, window, journal):
    window.protocol.select("frap")
    _type(qtbot, window, "sweeps", "2")
    _type(qtbot, window, "recovery_ms", "2000")  # a 2.3 s sweep: the pause click lands in the first under load
    _type(qtbot, window, "interval_s", "0.1")
    qtbot.waitUntil(lambda: window.protocol.validate() is not None and window.protocol.run_button.isEnabled())
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    assert "preparing" in window.protocol.state_text() or window.protocol.progress.plans
    qtbot.waitUntil(lambda: window.traces.buffers.sweep_index == 0, timeout=60000)
    qtbot.mouseClick(window.protocol.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.protocol.state_text().startswith("PAUSED after sweep 1 of 2"), timeout=60000)
    assert window.session.busy and window.traces.buffers.sweep_index == 0
    assert "paused" in window.status.devices.text()
    qtbot.mouseClick(window.protocol.abort_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert window.protocol.state_text().startswith("aborted: 1 of 2 sweeps")
    # a second run aborted before its first sweep began
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.mouseClick(window.protocol.abort_button, Qt.LeftButton)
    assert window.protocol.state_text() == "aborting ..."
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert window.last_result.outcome.sweeps_completed == 0
    assert window.protocol.state_text().startswith("aborted: 0 of 2 sweeps (before sweep 1 started")
    assert_rig_safe(journal)


def test_na_ca_sweeps_show_frames_led_traces_and_kymograph_while_running(qtbot, qapp, tmp_path, journal):
    window = _window(qtbot, qapp, tmp_path, NA_CA_PROFILE)
    try:
        window.protocol.select("na_ca_imaging")
        _type(qtbot, window, "sweeps", "1")
        _type(qtbot, window, "interval_s", "0.1")
        qtbot.waitUntil(lambda: window.protocol.validate() is not None and window.protocol.run_button.isEnabled())
        qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: window.session.busy == "protocol" and window.image.camera.frames > 0, timeout=60000)
        qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
        assert window.last_result.outcome.status == "completed"
        traces = window.traces.camera_sweep.traces()
        assert set(traces) == {"uv385", "green520"}
        plan = window.last_result and window.traces.camera_sweep.plan
        per_led = plan.camera.n_frames // 2
        assert all(len(t) == per_led and np.isfinite(y).all() for t, y in traces.values())
        # the sodium (ANG-2) head signal rises after the stimuli; bis-fura-2 falls with calcium
        t, na = traces["green520"]
        assert na[t > 70].max() > 3 * np.std(na[t < 50]) > 0
        kymo, led, t_first, t_last = window.traces.camera_sweep.kymograph()
        assert kymo.shape[1] == per_led and led == "uv385" and t_first < t_last
        middle = kymo[kymo.shape[0] // 2 - 3:kymo.shape[0] // 2 + 3].mean()
        assert middle > 2 * kymo[:3].mean(), "the profile's middle crosses the spine head: brighter than its ends"
        # drawn while frames arrive (how often depends on the machine's load, so at least once, not a rate)
        assert window.traces.camera_redraws >= 1, "the camera sweep must be drawn as frames arrive"
        assert "protocol step na_ca" in window.image.message.text()
        assert len(window.image.protocol_rois.data) == 4
        with RunFile(window.last_result.path) as run:
            assert run.status == "completed"
    finally:
        window.close()
    assert_rig_safe(journal)


def test_operator_contrast_holds_over_new_frames(qtbot, window):
    qtbot.mouseClick(window.image.snap_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy and window.image.frames == 1, timeout=60000)
    qtbot.waitUntil(lambda: window.image.image.image is not None)
    assert window.image.auto_levels.isChecked()
    auto = tuple(window.image.image.getLevels())
    window.image.levels.item.region.setRegion((0.0, auto[1] / 4))  # what a drag of the region's edge does
    assert not window.image.auto_levels.isChecked()
    qtbot.mouseClick(window.image.snap_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy and window.image.frames == 2, timeout=60000)
    qtbot.waitUntil(lambda: window.image._drawn == window.image._version)
    assert tuple(window.image.image.getLevels()) == pytest.approx((0.0, auto[1] / 4))
    window.image.auto_levels.setChecked(True)
    qtbot.mouseClick(window.image.snap_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy and window.image.frames == 3, timeout=60000)
    qtbot.waitUntil(lambda: window.image._drawn == window.image._version)
    assert tuple(window.image.image.getLevels())[1] == pytest.approx(auto[1], rel=0.3)


def test_layout_and_last_protocol_are_restored_and_the_layout_resets(qtbot, qapp, tmp_path, journal):
    from PyQt5.QtCore import QSettings

    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat)
    apply_theme(qapp)
    first = build_window(PROFILE, tmp_path / "runs", ROOT / "protocols", settings=settings)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.protocol.select("frap")
    first.docks["Data"].hide()
    first.close()
    second = build_window(PROFILE, tmp_path / "runs", ROOT / "protocols", settings=settings)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    try:
        assert second.protocol.library.currentText() == "frap"
        assert not second.docks["Data"].toggleViewAction().isChecked()  # closed by the operator last time
        second.reset_layout()
        assert second.docks["Data"].toggleViewAction().isChecked()
    finally:
        second.close()
