"""Devices panel groups: camera (exposure, ROI, binning, LED), static LEDs, and the stimulus isolator's single pulse."""

from __future__ import annotations

import logging
import math
import time

from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.gui.camera_live import BINNINGS, CameraSettings, camera_plan, check_camera
from rig.gui.stimulus import DutyGuard, pulse_problems, single_pulse_plan

log = logging.getLogger(__name__)

NO_LED = "(none)"


def _error_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "error")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def _show(label: QLabel, problems: list[str]) -> None:
    label.setText("; ".join(problems))
    label.setVisible(bool(problems))


class CameraControls(QGroupBox):
    """Exposure, sensor ROI, binning, the LED lit during exposures and the field centre; checked as edited."""

    def __init__(self, profile: HardwareProfile, camera: str, led_source: str | None, parent: QWidget | None = None):
        super().__init__(f"camera: {camera}", parent)
        self.profile, self.camera, self.led_source = profile, camera, led_source
        spec = profile.camera(camera)
        sensor_w, sensor_h = spec.sensor_px
        d = CameraSettings(roi_px=(0, 0, sensor_w, sensor_h))
        self.exposure = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=10_000.0, suffix=" ms", value=d.exposure_ms)
        self.roi = [QSpinBox(minimum=-1, maximum=10 * max(sensor_w, sensor_h), value=v) for v in d.roi_px]
        self.binning = QComboBox()
        self.binning.addItems([str(b) for b in BINNINGS])
        self.led = QComboBox()
        leds = list(profile.led_source(led_source).leds) if led_source else []
        self.led.addItems(leds + [NO_LED])
        self.centre = [QDoubleSpinBox(decimals=1, minimum=-500.0, maximum=500.0, suffix=" um") for _ in range(2)]
        self.error = _error_label()
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a label above its field rather than a sideways scroll
        form.addRow("exposure", self.exposure)
        for pair, boxes, label in ((("x", "y"), self.roi[:2], "ROI corner (px)"),
                                   (("w", "h"), self.roi[2:], f"ROI size (of {sensor_w}x{sensor_h})")):
            row = QHBoxLayout()  # two per row: the Devices column stays within ~390 px at 1366x768
            for name, box in zip(pair, boxes):
                row.addWidget(QLabel(name))
                row.addWidget(box)
            form.addRow(label, row)
        form.addRow("binning", self.binning)
        form.addRow("LED in exposures", self.led)
        centre = QHBoxLayout()
        for box in self.centre:
            centre.addWidget(box)
        form.addRow("field centre", centre)
        form.addRow(self.error)
        for box in (self.exposure, *self.roi, *self.centre):
            box.valueChanged.connect(lambda _: self.problems())
        for combo in (self.binning, self.led):
            combo.currentTextChanged.connect(lambda _: self.problems())

    def settings(self) -> CameraSettings:
        """The settings in the controls."""
        led = self.led.currentText()
        x, y, w, h = (b.value() for b in self.roi)
        return CameraSettings(exposure_ms=self.exposure.value(), roi_px=(x, y, w, h),
                              binning=int(self.binning.currentText()), led="" if led == NO_LED else led,
                              field_center_um=(self.centre[0].value(), self.centre[1].value()))

    def problems(self) -> list[str]:
        """Check the settings against the profile; show the problems inline."""
        found = check_camera(self.settings(), self.profile, self.camera, self.led_source)
        _show(self.error, found)
        return found

    def live_plan(self) -> tuple[SweepPlan | None, list[str]]:
        """The live-view plan, or the problems that refuse it."""
        found = self.problems()
        if found:
            return None, found
        return camera_plan(self.settings(), self.profile, self.camera, self.led_source), []


class LightStimControls(QWidget):
    """Static LED on/off (idle rig only, duty-limited) and a single stimulus pulse within the profile's limits."""

    led_requested = pyqtSignal(str, bool)        # led, on
    pulse_requested = pyqtSignal(object)         # [SweepPlan]

    def __init__(self, profile: HardwareProfile, led_source: str | None, stimulator: str | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.profile, self.led_source, self.stimulator = profile, led_source, stimulator
        specs = profile.led_source(led_source).leds if led_source else {}
        self.guards = {name: DutyGuard(s.max_duty_fraction) for name, s in specs.items()}
        self.led = QComboBox()
        self.led.addItems(list(specs))
        self.led_button = QPushButton("LED on")
        self.led_button.setCheckable(True)
        self.led_message = QLabel()
        self.led_message.setWordWrap(True)
        self.amplitude = QLineEdit("-4")
        self.width_ms = QLineEdit("0.2")
        self.pulse_button = QPushButton("Single pulse")
        self.pulse_error = _error_label()
        self.lit = ""  # the LED switched on statically, '' when none
        self._idle = True
        lbox = QGroupBox(f"LEDs: {led_source or 'none'}")
        lform = QFormLayout(lbox)
        row = QHBoxLayout()
        row.addWidget(self.led)
        row.addWidget(self.led_button)
        lform.addRow("static", row)
        lform.addRow(self.led_message)
        sbox = QGroupBox(f"stimulus isolator: {stimulator or 'none'}")
        sform = QFormLayout(sbox)
        sform.addRow("amplitude (V)", self.amplitude)
        sform.addRow("width (ms)", self.width_ms)
        sform.addRow(self.pulse_button)
        sform.addRow(self.pulse_error)
        layout = QVBoxLayout(self)  # stacked: side by side they need ~540 px, more than the Devices column has
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(lbox)
        layout.addWidget(sbox)
        self.led_button.toggled.connect(self._toggle)
        self.pulse_button.clicked.connect(self.request_pulse)
        for edit in (self.amplitude, self.width_ms):
            edit.textEdited.connect(lambda _: self.validate_pulse())
        self._timer = QTimer(self, interval=200)
        self._timer.timeout.connect(self._enforce_duty)
        self._timer.start()
        self.set_busy("")

    # ----- LEDs -------------------------------------------------------------------------------
    def _toggle(self, on: bool) -> None:
        led = self.lit if not on else self.led.currentText()
        if on and not self.guards[led].may_switch_on(time.monotonic()):
            self._uncheck(f"{led}: duty limit used; wait a few seconds")
            return
        if led:
            self.led_requested.emit(led, on)

    def led_switched(self, led: str, on: bool, message: str = "") -> None:
        """Reflect an LED switch done (or refused, with a message) by the window."""
        now = time.monotonic()
        if message:
            self._uncheck(message)
            return
        self.guards[led].switched(on, now)
        self.lit = led if on else ""
        self.led.setEnabled(not on)
        self.led_message.setText(f"{led} on (max duty {self.guards[led].max_on_s / self.guards[led].window_s:g} "
                                 f"over {self.guards[led].window_s:g} s)" if on else f"{led} off")
        if not on and self.led_button.isChecked():
            self._uncheck(self.led_message.text())

    def _uncheck(self, message: str) -> None:
        self.led_button.blockSignals(True)
        self.led_button.setChecked(False)
        self.led_button.blockSignals(False)
        self.led.setEnabled(True)
        self.led_message.setText(message)

    def _enforce_duty(self) -> None:
        if self.lit and self.guards[self.lit].exhausted(time.monotonic()):
            log.info("LED %s switched off: duty limit reached", self.lit)
            self.led_requested.emit(self.lit, False)

    # ----- stimulus ---------------------------------------------------------------------------
    def validate_pulse(self) -> tuple[float, float] | None:
        """(amplitude V, width ms) when within the limits, else None with the problem shown inline."""
        if self.stimulator is None:
            _show(self.pulse_error, ["no stimulus isolator in this profile"])
            return None
        try:
            amplitude, width = float(self.amplitude.text()), float(self.width_ms.text())
        except ValueError:
            _show(self.pulse_error, ["amplitude and width must be numbers"])
            return None
        found = pulse_problems(self.profile, self.stimulator, amplitude, width)
        _show(self.pulse_error, found)
        return None if found or not math.isfinite(amplitude + width) else (amplitude, width)

    def request_pulse(self) -> bool:
        """Emit a one-pulse plan if the values are within the limits; True when emitted."""
        values = self.validate_pulse()
        if values is None or self.stimulator is None or not self._idle:
            return False
        self.pulse_requested.emit([single_pulse_plan(self.profile, self.stimulator, *values)])
        return True

    def set_busy(self, job: str) -> None:
        """LEDs and pulses only while no job runs."""
        self._idle = not job
        self.led_button.setEnabled(self._idle and bool(self.guards))
        self.pulse_button.setEnabled(self._idle and self.stimulator is not None)
