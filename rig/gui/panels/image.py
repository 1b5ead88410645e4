"""Image panel: frame scans and the camera live view; the operator draws the scan line, the bleach point and ROIs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rig.config.profile import HardwareProfile
from rig.datatypes.records import DataChunk, Record, SweepStarted
from rig.gui import theme
from rig.gui.camera_live import LatestFrame
from rig.gui.frame_scan import FrameLayout, FrameSettings, check_frame, fold_frame, frame_scan_plan
from rig.gui.roi_markers import ROI_MARKERS, RoiMarkers
from rig.gui.session import repeated

FRAME_JOB = "frame_scan"
CAMERA_JOB = "camera_live"
BLEACH_POINT = "bleach point"
_LIVE_FRAMES = 2400  # a live view ends by itself after ~10 min


def _spin(low: float, high: float, value: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class ImagePanel(QWidget):
    """Frame view with the scan line (two endpoints) and the bleach point, in sample-plane micrometres."""

    acquire_requested = pyqtSignal(str, object)  # job label, list of plans
    stop_requested = pyqtSignal()
    scan_line_changed = pyqtSignal(object, object)  # start_um, end_um
    bleach_point_changed = pyqtSignal(object)  # point_um
    camera_live_requested = pyqtSignal(bool)

    def __init__(self, profile: HardwareProfile, parent: QWidget | None = None):
        super().__init__(parent)
        self.profile = profile
        self.scanner = next(iter(profile.devices_of_kind("galvo_scanner")), None)
        self.laser = next(iter(profile.devices_of_kind("pockels_laser")), None)
        self.shutter = next(iter(profile.devices_of_kind("shutter")), None)
        half = profile.devices[self.scanner].limits.field_half_width_um if self.scanner else 50.0
        max_power = profile.devices[self.laser].limits.max_imaging_power_fraction if self.laser else 0.1
        d = FrameSettings()
        self.centre_x = _spin(-half, half, d.centre_um[0], 1.0)
        self.centre_y = _spin(-half, half, d.centre_um[1], 1.0)
        self.size = _spin(1.0, 2 * half, d.size_um, 1.0)
        self.pixels = QSpinBox()
        self.pixels.setRange(8, 512)
        self.pixels.setValue(d.pixels)
        self.power = _spin(0.01, max_power, min(d.power_fraction, max_power), 0.01)
        self.snap_button = QPushButton("Snap")
        self.live_button = QPushButton("Live")
        self.live_button.setCheckable(True)
        self.line_button = QPushButton("Draw scan line")
        self.line_button.setCheckable(True)
        self.line_button.setToolTip("then click the line's start (in the dendrite) and its end (beyond the head)")
        self.camera_button = QPushButton("Camera live")
        self.camera_button.setCheckable(True)
        self.camera_button.setToolTip("camera frames at ~10 Hz with the LED chosen in Devices lit during exposures")
        self.place_mode = QComboBox()
        self.place_mode.addItems([BLEACH_POINT, *ROI_MARKERS])
        self.place_mode.setToolTip("what a click on the image places (Na/Ca ROIs go to the protocol's rois.*)")
        self.message = QLabel("click the image to place the bleach point on a spine head")
        self.message.setWordWrap(True)
        self.view = pg.PlotWidget()
        self.view.setAspectLocked(True)
        self.view.setLabel("bottom", "x", units="um")
        self.view.setLabel("left", "y", units="um")
        # Fixed axis sizes: with the aspect locked, an axis that fits its tick labels changes the view's width,
        # which changes the range and so the labels: the view re-laid itself out 40-80 times a second.
        self.view.getAxis("left").setWidth(52)
        self.view.getAxis("bottom").setHeight(40)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.view.addItem(self.image)
        # contrast: the histogram's region sets the levels; dragging it hands contrast to the operator
        self.levels = pg.HistogramLUTWidget(image=self.image, orientation="horizontal")
        self.levels.item.gradient.setColorMap(pg.colormap.get("inferno"))
        self.levels.setFixedHeight(64)
        self.levels.setToolTip("drag the region's edges to set the contrast (turns auto contrast off)")
        self.auto_levels = QCheckBox("auto contrast")
        self.auto_levels.setChecked(True)
        self.auto_levels.setToolTip("levels from each frame (1st/99th percentile of the square-root image)")
        self._setting_levels = False
        self.levels.item.sigLevelChangeFinished.connect(self._levels_dragged)
        self.line = pg.LineSegmentROI([(-1.5, 0.0), (2.5, 0.0)], pen=pg.mkPen(theme.AVERAGE_PEN, width=2))
        self.view.addItem(self.line)
        self.target = pg.TargetItem(pos=(1.288, 0.0), size=14, pen=pg.mkPen(theme.ACCENT, width=2), movable=True)
        self.view.addItem(self.target)
        self.rois = RoiMarkers(self.view)
        self.protocol_rois = pg.ScatterPlotItem(pxMode=False, brush=None, pen=pg.mkPen(theme.OK_TEXT, width=1.5))
        self.protocol_rois.setToolTip("the running protocol's ROIs (rois.* of its step)")
        self.view.addItem(self.protocol_rois)
        self.camera = LatestFrame()
        self._camera_source = CAMERA_JOB
        self._cam_version = 0
        self._cam_drawn = 0
        self._cam_rect: tuple[float, float, float, float] | None = None
        self._layout: FrameLayout | None = None
        self._shown_layout: FrameLayout | None = None
        self._samples: np.ndarray | None = None
        self._version = 0
        self._drawn = 0
        self._line_clicks: list[tuple[float, float]] = []
        self.frames = 0
        self._build()
        self.snap_button.clicked.connect(lambda: self._acquire(1))
        self.live_button.toggled.connect(self._live)
        self.camera_button.toggled.connect(self.camera_live_requested)
        self.view.scene().sigMouseClicked.connect(self._clicked)
        self.line.sigRegionChangeFinished.connect(lambda _: self._emit_line())
        self.target.sigPositionChangeFinished.connect(lambda _: self._emit_bleach())

    def _build(self) -> None:
        grid = QGridLayout()  # frame settings in three columns, two rows of label + box: fits a narrow column
        for i, (name, w) in enumerate((("x0 um", self.centre_x), ("y0 um", self.centre_y), ("size um", self.size),
                                       ("pixels", self.pixels), ("power", self.power))):
            row, col = divmod(i, 3)
            grid.addWidget(QLabel(name), 2 * row, col)
            grid.addWidget(w, 2 * row + 1, col)
        acquire = QHBoxLayout()
        for b in (self.snap_button, self.live_button, self.camera_button):
            acquire.addWidget(b)
        place = QHBoxLayout()
        place.addWidget(self.line_button)
        place.addWidget(QLabel("click places"))
        place.addWidget(self.place_mode, 1)
        column = QVBoxLayout(self)
        column.addLayout(grid)
        column.addLayout(acquire)
        column.addLayout(place)
        column.addWidget(self.view, 1)
        contrast = QHBoxLayout()
        contrast.addWidget(self.levels, 1)
        contrast.addWidget(self.auto_levels)
        column.addLayout(contrast)
        column.addWidget(self.message)

    # ----- acquisition -------------------------------------------------------------------
    def settings(self) -> FrameSettings:
        """The frame settings in the controls."""
        return FrameSettings(centre_um=(self.centre_x.value(), self.centre_y.value()), size_um=self.size.value(),
                             pixels=self.pixels.value(), power_fraction=self.power.value())

    def _acquire(self, frames: int) -> bool:
        if self.scanner is None or self.laser is None:
            self.message.setText("this profile has no galvo scanner and laser: no frame scan")
            return False
        settings = self.settings()
        problems = check_frame(settings, self.profile, self.scanner, self.laser)
        if problems:
            self.message.setText("; ".join(problems))
            return False
        plan = frame_scan_plan(settings, self.scanner, self.laser, self.shutter)
        self.acquire_requested.emit(FRAME_JOB, repeated(plan, frames))
        return True

    def _live(self, on: bool) -> None:
        if on:
            if not self._acquire(_LIVE_FRAMES):
                self.live_button.setChecked(False)
        else:
            self.stop_requested.emit()

    def set_busy(self, job: str) -> None:
        """Enable acquisition only when the rig is idle (or this panel's live view runs)."""
        self.snap_button.setEnabled(not job)
        for button, own in ((self.live_button, FRAME_JOB), (self.camera_button, CAMERA_JOB)):
            button.setEnabled(not job or job == own)
            if job != own and button.isChecked():
                button.blockSignals(True)
                button.setChecked(False)
                button.blockSignals(False)

    def handle_camera(self, record: Record) -> None:
        """Take a record of the camera live job."""
        if isinstance(record, SweepStarted):
            self._camera_source = CAMERA_JOB
            self.protocol_rois.setData([])
        if self.camera.handle(record):
            self._cam_version += 1

    def handle_protocol(self, record: Record) -> None:
        """Take a record of a protocol run: a camera sweep's frames are shown live with the step's ROIs."""
        if isinstance(record, SweepStarted):
            if record.plan.camera is None:
                self.protocol_rois.setData([])
                return
            self._camera_source = record.plan.step_name
            rois = record.plan.meta.rois
            radius = rois.radius_um if rois is not None else 0.6
            points = (rois.head_um, rois.neck_um, rois.dendrite_um, rois.background_um) if rois is not None else ()
            spots = [{"pos": tuple(p), "size": 2 * radius, "symbol": "o"} for p in points if p is not None]
            self.protocol_rois.setData(spots)
        if self.camera.handle(record):
            self._cam_version += 1

    def handle(self, record: Record) -> None:
        """Take a record of a frame-scan job."""
        if isinstance(record, SweepStarted):
            frame = record.plan.meta.frame
            assert frame is not None, "a frame-scan sweep carries its frame layout"
            self._layout = FrameLayout(frame.first_sample, frame.samples_per_line, frame.pixels,
                                       (float(frame.origin_um[0]), float(frame.origin_um[1])), frame.pixel_um)
            self._samples = np.full(record.plan.n_samples, np.nan, dtype=np.float32)
            self.frames += 1
        elif isinstance(record, DataChunk) and record.channel.startswith("in:") and self._samples is not None:
            stop = record.first_sample + record.samples.shape[0]
            self._samples[record.first_sample:stop] = record.samples
            self._version += 1

    def redraw(self) -> bool:
        """Show the frame acquired so far (or the newest camera frame); True when drawn."""
        frame = self.camera.frame
        if self._cam_version != self._cam_drawn and frame is not None:
            return self._draw_camera(frame)
        if self._version == self._drawn or self._layout is None or self._samples is None:
            return False
        self._drawn = self._version
        layout = self._layout
        # square root of the counts: photon noise becomes uniform and dim spine heads show beside the dendrite
        img = np.sqrt(np.nan_to_num(fold_frame(self._samples, layout), nan=0.0))
        self._show_image(img, (0.0, max(1.0, float(np.percentile(img, 99.0)))))
        rect = QRectF(layout.origin_um[0], layout.origin_um[1], layout.size_um, layout.size_um)
        self.image.setRect(rect)
        if layout != self._shown_layout:
            self._shown_layout, self._cam_rect = layout, None
            self.view.setRange(rect, padding=0.02)
        return True

    def _show_image(self, img: np.ndarray, auto: tuple[float, float]) -> None:
        """Show an image at the automatic levels, or at the operator's if they set the contrast."""
        self._setting_levels = True
        try:
            if self.auto_levels.isChecked():
                self.image.setImage(img, autoLevels=False, levels=auto)
            else:
                self.image.setImage(img, autoLevels=False)
        finally:
            self._setting_levels = False

    def _levels_dragged(self) -> None:
        if not self._setting_levels:
            self.auto_levels.setChecked(False)

    def _draw_camera(self, frame: np.ndarray) -> bool:
        self._cam_drawn = self._cam_version
        raw = frame.astype(np.float32)
        # square root above the dark level: spine heads stay visible beside the bright dendrite
        img = np.sqrt(np.maximum(raw - float(np.percentile(raw, 1.0)), 0.0))
        self._show_image(img, (0.0, max(1.0, float(np.percentile(img, 99.7)))))
        rect = self.camera.rect_um()
        self.image.setRect(QRectF(*rect))
        if rect != self._cam_rect:
            self._cam_rect, self._shown_layout = rect, None
            self.view.setRange(QRectF(*rect), padding=0.02)
        if self._camera_source == CAMERA_JOB:
            self.message.setText(f"camera frame {self.camera.frames}; LED light of the live view "
                                 f"{self.camera.led_ms:.0f} ms")
        else:
            self.message.setText(f"camera frame {self.camera.frames} of protocol step {self._camera_source} "
                                 f"(circles: the step's ROIs)")
        return True

    def frame_image(self) -> np.ndarray | None:
        """The latest frame as an array (rows = y), or None."""
        return None if self._layout is None or self._samples is None else fold_frame(self._samples, self._layout)

    # ----- scan line and bleach point ------------------------------------------------------
    def scan_line(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Start and end of the scan line (um)."""
        a, b = (self.line.mapToParent(h.pos()) for h in self.line.getHandles())
        return (round(a.x(), 3), round(a.y(), 3)), (round(b.x(), 3), round(b.y(), 3))

    def bleach_point(self) -> tuple[float, float]:
        """The bleach point (um)."""
        p = self.target.pos()
        return round(p.x(), 3), round(p.y(), 3)

    def show_geometry(self, start: tuple[float, float], end: tuple[float, float], bleach: tuple[float, float]) -> None:
        """Show a protocol's line and bleach point without re-emitting them."""
        self.line.blockSignals(True)
        self.target.blockSignals(True)
        handles = self.line.getHandles()
        self.line.movePoint(handles[0], QPointF(*start), finish=False)
        self.line.movePoint(handles[1], QPointF(*end), finish=False)
        self.target.setPos(*bleach)
        self.line.blockSignals(False)
        self.target.blockSignals(False)

    def place(self, start: tuple[float, float], end: tuple[float, float], bleach: tuple[float, float]) -> None:
        """Place the line and the bleach point as the operator would, and hand them to the protocol."""
        self.show_geometry(start, end, bleach)
        self._emit_line()
        self._emit_bleach()

    def _clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        vb = self.view.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        point = (round(p.x(), 3), round(p.y(), 3))
        if self.line_button.isChecked():
            self._line_clicks.append(point)
            if len(self._line_clicks) == 2:
                start, end = self._line_clicks
                self._line_clicks = []
                self.line_button.setChecked(False)
                self.place(start, end, self.bleach_point())
            else:
                self.message.setText(f"line start {point}: now click the end")
            return
        mode = self.place_mode.currentText()
        if mode != BLEACH_POINT:
            self.rois.place(mode, point)
            self.message.setText(f"{mode} ROI at {point} um")
            self.place_mode.setCurrentIndex((self.place_mode.currentIndex() + 1) % self.place_mode.count())
            return
        self.target.setPos(*point)
        self._emit_bleach()

    def _emit_line(self) -> None:
        start, end = self.scan_line()
        self.message.setText(f"scan line {start} -> {end} um; bleach point {self.bleach_point()} um")
        self.scan_line_changed.emit(start, end)

    def _emit_bleach(self) -> None:
        self.message.setText(f"scan line {self.scan_line()[0]} -> {self.scan_line()[1]} um; "
                             f"bleach point {self.bleach_point()} um")
        self.bleach_point_changed.emit(self.bleach_point())
