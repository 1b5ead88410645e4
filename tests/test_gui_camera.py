"""Camera live view, static LEDs, the single stimulus pulse and Na/Ca ROIs in the real window (offscreen Qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt5.QtCore import QPoint, QPointF, QRectF, Qt  # noqa: E402

from conftest import ROOT, assert_rig_safe, final_outputs  # noqa: E402
from rig.gui.app import build_window  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402

NA_CA_PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"


@pytest.fixture
def window(qtbot, qapp, tmp_path, journal):
    apply_theme(qapp)
    w = build_window(NA_CA_PROFILE, tmp_path / "runs", ROOT / "protocols")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _click_on_image(qtbot, window, point_um: tuple[float, float]) -> None:
    view = window.image.view
    scene_pos = view.getPlotItem().vb.mapViewToScene(QPointF(*point_um))
    widget_pos = view.mapFromScene(scene_pos)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(widget_pos.x(), widget_pos.y()))


def test_camera_live_shows_the_cell_and_stops_safe(qtbot, window, journal):
    window.docks["Devices"].raise_()
    window.devices.camera_controls.led.setCurrentText("uv385")  # bis-fura-2 fills the cell
    window.docks["Image"].raise_()
    qtbot.mouseClick(window.image.camera_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.busy == "camera_live", timeout=60000)
    qtbot.waitUntil(lambda: window.image.camera.frames >= 4 and window.image._cam_drawn > 0, timeout=60000)
    frame = window.image.camera.frame.astype(float)
    xs, _ = window.image.camera.acquisition.pixel_centers_um()
    columns = frame.mean(axis=0)
    assert abs(xs[np.argmax(columns)]) < 1.0  # the dendrite runs along y at x = 0
    far = columns[np.abs(xs) > 8].mean()
    assert columns[np.argmin(np.abs(xs))] > 1.5 * far
    assert window.image.image.image.shape == frame.shape  # the view shows that frame
    qtbot.mouseClick(window.image.camera_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert window.image.camera_button.isEnabled() and not window.image.camera_button.isChecked()
    assert all(r.safe for r in window.session.safety())
    assert_rig_safe(journal)


def test_camera_settings_beyond_the_sensor_are_refused_inline(qtbot, window):
    controls = window.devices.camera_controls
    controls.roi[2].setValue(96)  # wider than the 80 px sensor
    assert "sensor_px" in controls.error.text() and controls.error.isVisibleTo(window)
    qtbot.mouseClick(window.image.camera_button, Qt.LeftButton)
    assert not window.session.busy and not window.image.camera_button.isChecked()
    assert "sensor_px" in window.image.message.text()


def test_led_switched_on_is_off_after_closing(qtbot, window, journal):
    window.docks["Devices"].raise_()
    stim = window.devices.light_stim
    stim.led.setCurrentText("green520")
    qtbot.mouseClick(stim.led_button, Qt.LeftButton)
    held, _ = final_outputs(journal)
    assert held["leds.green520"] == 1.0
    assert not next(r for r in window.session.safety() if r.device == "leds").safe
    window.close()
    held, _ = final_outputs(journal)
    assert held["leds.green520"] == 0.0
    assert_rig_safe(journal)


def test_stimulus_pulse_beyond_the_limit_is_refused_inline(qtbot, window, journal):
    window.docks["Devices"].raise_()
    stim = window.devices.light_stim
    stim.amplitude.selectAll()
    qtbot.keyClicks(stim.amplitude, "12")
    assert "max_amplitude_V = 10" in stim.pulse_error.text()
    qtbot.mouseClick(stim.pulse_button, Qt.LeftButton)
    assert not window.session.busy
    stim.amplitude.selectAll()
    qtbot.keyClicks(stim.amplitude, "-4")
    stim.width_ms.selectAll()
    qtbot.keyClicks(stim.width_ms, "6")
    assert "max_pulse_ms = 5" in stim.pulse_error.text()
    stim.width_ms.selectAll()
    qtbot.keyClicks(stim.width_ms, "0.2")
    assert not stim.pulse_error.text()
    with qtbot.waitSignal(window.session.job_finished, timeout=60000) as finished:
        qtbot.mouseClick(stim.pulse_button, Qt.LeftButton)
    assert finished.args[0] == "single_pulse" and finished.args[1].status == "completed"
    assert_rig_safe(journal)


def test_placing_rois_produces_the_na_ca_overrides(qtbot, window):
    window.protocol.select("na_ca_imaging")
    window.image.view.setRange(QRectF(-16.0, -16.0, 32.0, 32.0), padding=0.0)
    qtbot.wait(50)
    points = {"head": (1.6, 0.2), "neck": (0.9, 0.2), "dendrite": (0.0, 0.2), "background": (10.0, 10.0),
              "local bg 1": (1.6, -3.0), "local bg 2": (1.6, 3.0)}
    for name, point in points.items():
        window.image.place_mode.setCurrentText(name)
        _click_on_image(qtbot, window, point)
    placed = window.image.rois.points()
    for name, point in points.items():
        assert np.hypot(placed[name][0] - point[0], placed[name][1] - point[1]) < 0.2, name
    overrides = window.protocol.overrides()
    head = placed["head"]
    assert f"steps.0.rois.head_um=[{head[0]:g}, {head[1]:g}]" in overrides
    assert any(o.startswith("steps.0.rois.local_background_um=[[") for o in overrides)
    assert {o.split("=")[0] for o in overrides} >= {f"steps.0.rois.{f}" for f in
                                                    ("head_um", "neck_um", "dendrite_um", "background_um")}
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    assert prepared.compiled.plans[0].target_um == pytest.approx(head)
