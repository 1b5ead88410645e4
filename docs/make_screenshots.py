"""Take the screenshots of docs/gui.md from the real window on the simulated rig.

Run under Xvfb:  xvfb-run -a -s "-screen 0 1366x768x24" python docs/make_screenshots.py
Writes docs/screenshots/*.png (one per panel, plus the whole window mid-run, plus the camera live view
with Na/Ca ROIs and a Na/Ca imaging run on the Na/Ca profile).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from PyQt5.QtCore import QRectF
from PyQt5.QtWidgets import QApplication, QWidget

from rig.gui.app import build_window
from rig.gui.main_window import MainWindow
from rig.gui.theme import apply_theme

OUT = Path(os.environ.get("SPINERIG_SHOTS_DIR", Path(__file__).resolve().parent / "screenshots"))
# window size: SPINERIG_SHOTS_SIZE=1920x1080 (default 1366x768, the size of the committed screenshots)
WINDOW_SIZE = tuple(int(v) for v in os.environ.get("SPINERIG_SHOTS_SIZE", "1366x768").split("x"))
NA_CA_PROFILE = Path(__file__).resolve().parents[1] / "hardware_profiles" / "simulated_na_ca.yaml"
VSD_PROFILE = Path(__file__).resolve().parents[1] / "hardware_profiles" / "simulated_vsd.yaml"
NA_CA_ROIS = {"head": (1.49, 0.0), "neck": (0.85, 0.0), "dendrite": (0.0, 0.0), "background": (12.0, 12.0),
              "local bg 1": (1.49, -3.0), "local bg 2": (1.49, 3.0)}  # spine 'published' of that profile
SPINE_HEAD_UM = (1.288, 0.0)  # spine 'fast' of the simulated profile
PATIENCE = float(os.environ.get("SPINERIG_SHOTS_PATIENCE", "1"))
log = logging.getLogger("screenshots")


def wait_until(app: QApplication, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Run the event loop until the condition holds (timeouts scaled by SPINERIG_SHOTS_PATIENCE on a loaded machine)."""
    timeout_s *= PATIENCE
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("condition not reached")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float) -> None:
    """Let the window run (and redraw) for a while."""
    wait_until(app, lambda end=time.monotonic() + seconds: time.monotonic() > end, seconds + 1)


def save(app: QApplication, window: MainWindow, name: str, widget: QWidget | None = None, dock: str = "") -> None:
    """Raise the dock (if any) and save a PNG of the widget (default: the whole window)."""
    if dock:
        window.docks[dock].raise_()
        settle(app, 0.2)
    target = widget if widget is not None else (window.docks[dock] if dock else window)
    path = OUT / f"{name}.png"
    target.grab().save(str(path))
    print(f"wrote {path}")


def main() -> int:
    """Drive the window through a frame scan, a membrane test, a FRAP run and a bad parameter."""
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    window = build_window(None, Path(tempfile.mkdtemp(prefix="rig-shots-")))
    window.resize(*WINDOW_SIZE)
    window.show()
    settle(app, 0.5)

    window.docks["Image"].raise_()
    window.image.snap_button.click()
    wait_until(app, lambda: window.image.frames >= 1 and not window.session.busy)
    window.image.place((-1.2, 0.0), (2.8, 0.0), SPINE_HEAD_UM)
    settle(app, 0.3)
    save(app, window, "image", dock="Image")

    window.docks["Devices"].raise_()
    window.devices.test_button.click()
    wait_until(app, lambda: window.devices.parameters is not None)
    settle(app, 1.0)
    save(app, window, "devices", dock="Devices")
    window.devices.seal.stage.setCurrentText("cell")
    settle(app, 2.0)  # a couple of seconds of the seal test's trend
    window.devices.scroll_area.verticalScrollBar().setValue(window.devices.seal.mapTo(
        window.devices.scroll_area.widget(), window.devices.seal.rect().topLeft()).y() - 220)  # pulse plot and trend
    settle(app, 0.3)
    save(app, window, "devices_seal_test", dock="Devices")
    window.devices.test_button.click()
    wait_until(app, lambda: not window.session.busy)
    window.docks["Image"].raise_()

    window.protocol.select("frap")
    for field, value in (("sweeps", "6"), ("recovery_ms", "600"), ("interval_s", "0.5"),
                         ("until.estimate", "neck_resistance_MOhm"), ("until.relative_half_width", "0.15"),
                         ("until.min_sweeps", "2")):
        window.protocol.set_field(field, value)
    budgets = next(f for f in window.protocol.forms if f.prefix == "budgets")
    budgets.editors["budgets.two_photon_fraction2_s"].set_text("0.02")
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    window.start_protocol(prepared)
    wait_until(app, lambda: window.protocol.progress.done >= 3)
    wait_until(app, lambda: window.traces.buffers.channels and next(iter(
        window.traces.buffers.channels.values())).filled > 0.6 * window.traces.buffers.plan.n_samples)
    save(app, window, "window_mid_run")
    save(app, window, "traces", dock="Traces")
    save(app, window, "protocol_running", dock="Protocol")
    wait_until(app, lambda: not window.session.busy, 60)
    settle(app, 0.5)
    save(app, window, "estimates", dock="Estimates")
    window.estimates.plots.setCurrentIndex(1)
    settle(app, 0.3)
    save(app, window, "estimates_spines", dock="Estimates")
    window.estimates.plots.setCurrentIndex(2)
    settle(app, 0.3)
    save(app, window, "estimates_budgets", dock="Estimates")
    window.estimates.plots.setCurrentIndex(0)
    window.docks["Data"].raise_()
    wait_until(app, lambda: window.data.summary is not None, 30)
    window.data.sweep.setValue(2)
    window.data.channel.setCurrentText("in:scanner.red")
    window.data.show_sweep()
    wait_until(app, lambda: "kymograph," in window.data.status.text(), 30)
    save(app, window, "data", dock="Data")
    save(app, window, "status_bar", widget=window.statusBar())

    window.protocol.set_field("bleach.duration_ms", "5")
    wait_until(app, lambda: bool(window.protocol.problem_texts()), 5)
    window.protocol.tabs.currentWidget().ensureWidgetVisible(window.protocol.forms[0].editors[
        "steps.0.bleach.duration_ms"].widget)
    settle(app, 0.3)
    save(app, window, "protocol_invalid", dock="Protocol")
    before_after(app, window)
    window.close()
    camera_shots(app)
    vsd_run(app)
    return 0


def vsd_run(app: QApplication) -> None:
    """A VSD run mid-sweep on the VSD profile: the dye's kymograph and dF/F of the head and dendrite ROIs."""
    window = build_window(VSD_PROFILE, Path(tempfile.mkdtemp(prefix="rig-shots-")))
    window.resize(*WINDOW_SIZE)
    window.show()
    settle(app, 0.5)
    window.protocol.select("vsd_spine")
    window.protocol.set_field("sweeps", "4")
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    window.start_protocol(prepared)
    # the second sweep (an AP sweep) 80 % through
    wait_until(app, lambda: window.traces.buffers.sweep_index >= 1 and window.traces.buffers.channels and next(
        iter(window.traces.buffers.channels.values())).filled > 0.8 * window.traces.buffers.plan.n_samples, 120)
    settle(app, 0.1)
    save(app, window, "vsd_traces", dock="Traces")
    window.protocol.abort_button.click()
    wait_until(app, lambda: not window.session.busy, 60)
    window.close()


def before_after(app: QApplication, window: MainWindow) -> None:
    """FRAP before and after a (shortened) step depolarization: the estimates grouped by step, and the history of
    R_neck across both steps with each step's truth."""
    window.protocol.select("frap_step_depolarization")
    for field, value in (("duration_s", "2"), ("segment_s", "2"), ("recovery_ms", "400"), ("interval_s", "0.3")):
        window.protocol.set_field(field, value)
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    window.start_protocol(prepared)
    wait_until(app, lambda: not window.session.busy, 120)
    settle(app, 0.5)
    window.estimates.table.selectRow(1)
    settle(app, 0.3)
    save(app, window, "estimates_steps", dock="Estimates")


def camera_shots(app: QApplication) -> None:
    """Camera live view of the Na/Ca profile's cell with the ROIs placed, and the Devices panel's controls."""
    window = build_window(NA_CA_PROFILE, Path(tempfile.mkdtemp(prefix="rig-shots-")))
    window.resize(*WINDOW_SIZE)
    window.show()
    settle(app, 0.5)
    window.protocol.select("na_ca_imaging")
    window.devices.camera_controls.led.setCurrentText("uv385")
    window.docks["Image"].raise_()
    window.image.camera_button.click()
    wait_until(app, lambda: window.image.camera.frames >= 10)
    for name, point in NA_CA_ROIS.items():
        window.image.rois.place(name, point)
    settle(app, 0.5)
    save(app, window, "camera_live", dock="Image")
    window.image.view.setRange(QRectF(-3.0, -5.0, 9.0, 10.0), padding=0.0)  # the spine, close up
    settle(app, 0.5)
    save(app, window, "camera_rois", dock="Image")
    window.image.camera_button.click()
    wait_until(app, lambda: not window.session.busy)
    window.docks["Devices"].raise_()
    window.devices.light_stim.amplitude.setText("12")
    window.devices.light_stim.validate_pulse()
    settle(app, 0.3)
    save(app, window, "devices_camera", widget=window.devices.camera_controls.parentWidget())
    na_ca_run(app, window)
    window.close()


def na_ca_run(app: QApplication, window: MainWindow) -> None:
    """A Na/Ca imaging run mid-sweep: camera frames with the step's ROIs, per-LED head dF/F, kymograph."""
    window.protocol.select("na_ca_imaging")
    for field, value in (("sweeps", "2"), ("interval_s", "1")):
        window.protocol.set_field(field, value)
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    window.docks["Image"].raise_()
    window.start_protocol(prepared)
    # the second sweep (first stimulated) 70 % through: both stimuli and the rise are in the traces
    wait_until(app, lambda: window.traces.camera_sweep.active and window.traces.camera_sweep.plan.sweep_in_step >= 1
               and len(window.traces.camera_sweep.signal) > 0.7 * window.traces.camera_sweep.plan.camera.n_frames, 120)
    settle(app, 0.1)
    save(app, window, "na_ca_running")
    save(app, window, "na_ca_traces", dock="Traces")
    wait_until(app, lambda: not window.session.busy, 120)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # every window is closed and its rig safe; skip the interpreter's teardown of the three windows' Qt and
    # pyqtgraph objects, whose destruction order after QApplication crashed under Xvfb
    os._exit(status)
