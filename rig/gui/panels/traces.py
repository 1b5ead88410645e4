"""Traces panel: ephys and head fluorescence drawn live during each sweep, over previous sweeps and the
running average, and the line-scan kymograph."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF
from PyQt5.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rig.datatypes.kind_meta import VsdMeta
from rig.datatypes.records import DataChunk, Record, RunStarted, SweepEnded, SweepStarted
from rig.gui import theme
from rig.gui.camera_sweep import CameraSweep
from rig.gui.line_scan_view import head_trace, kymograph, roi_dff
from rig.gui.sweep_buffers import SweepBuffers
from rig.protocols.vsd.schema import VsdStep

_MAX_PREVIOUS = 5
LED_PENS = ("#f0a060", "#6cb0d8", "#8cc084", "#c890d8")
FLUOR_TITLES = {"frap": "head fluorescence (counts/line)", "ratio": "head G/R (green / red per line)",
                "camera": "head dF/F per LED (camera frames)", "vsd": "VSD dF/F per ROI",
                "": "head fluorescence"}
ROI_PENS = {"head": "#f0a060", "dendrite": "#6cb0d8"}
# The contrast histogram bins the whole kymograph and moves its region: at most this often (and at each sweep's
# end), while the image itself is redrawn every time.
HISTOGRAM_EVERY_S = 0.25


@dataclass(frozen=True)
class VsdRois:
    """What the live VSD view needs of a vsd step: its dye's PMT and the ROIs besides the head (plan.target_um)."""

    green_pmt: bool
    head_radius_um: float
    dendrite_um: tuple[float, float]
    dendrite_radius_um: float


def vsd_rois(step: object) -> VsdRois | None:
    """The VsdRois of a protocol step of kind 'vsd', else None."""
    if not isinstance(step, VsdStep):
        return None
    rois, imaging = step.rois, step.imaging
    return VsdRois(rois.vsd_pmt == imaging.green_pmt, float(imaging.head_roi_radius_um),
                   (float(rois.dendrite_um[0]), float(rois.dendrite_um[1])), float(rois.dendrite_roi_radius_um))


def _ratio_trace(green: np.ndarray, red: np.ndarray, plan, radius_um: float) -> tuple[np.ndarray, np.ndarray]:
    """(time ms, head green / head red per line): the calcium indicator's ratio, for display."""
    t, g = head_trace(green, plan, radius_um)
    _, r = head_trace(red, plan, radius_um)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite(t, np.where(r > 0, g / r, np.nan))


def _finite(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points without a value (lines not yet scanned, bleach slots): peak downsampling spreads NaN."""
    ok = np.isfinite(y)
    return x[ok], y[ok]


class _Overlay:
    """One plot with curves for the current sweep, the previous sweeps and the running average."""

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.15)
        self.previous = [plot.plot(pen=pg.mkPen(theme.PREVIOUS_PEN)) for _ in range(_MAX_PREVIOUS)]
        self.average = plot.plot(pen=pg.mkPen(theme.AVERAGE_PEN, width=2), name="average")
        self.current = plot.plot(pen=pg.mkPen(theme.CURRENT_PEN, width=1), name="current")
        self._y_range: tuple[float, float] | None = None  # what fit_y last set (None: fit afresh)

    def refit(self) -> None:
        """Let the next fit_y choose the y range afresh (a new sweep: it may shrink)."""
        self._y_range = None

    def fit_y(self) -> None:
        """Grow the y range to hold every curve, with headroom; it never shrinks within a sweep.

        pyqtgraph's auto range moves with every redraw of a growing trace, and a moved range re-renders both
        axes (tick layout, label HTML): most of a redraw's cost. The operator's own zoom is left alone until the
        plot's auto-range button gives the range back."""
        vb = self.plot.getViewBox()
        if vb.state["autoRange"][1]:  # the auto button (or a new plot): the range is ours again
            self._y_range = None
        elif self._y_range is not None and tuple(vb.viewRange()[1]) != self._y_range:
            return  # the operator zoomed or panned
        lows, highs = [], []
        for curve in self.plot.listDataItems():  # the overlay's curves and any other (LED, VSD ROI) curves
            bounds = curve.dataBounds(1)
            if bounds is not None and bounds[0] is not None and np.isfinite(bounds).all():
                lows.append(float(bounds[0]))
                highs.append(float(bounds[1]))
        if not lows:
            return
        low, high = min(lows), max(highs)
        if self._y_range is not None and self._y_range[0] <= low and high <= self._y_range[1]:
            return
        headroom = 0.1 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
        vb.enableAutoRange(y=False)
        vb.setYRange(low - headroom, high + headroom, padding=0.0)
        self._y_range = tuple(vb.viewRange()[1])

    def clear(self) -> None:
        for curve in (*self.previous, self.average, self.current):
            curve.setData([], [])

    def set_history(self, x_of, previous: list[np.ndarray], average: np.ndarray | None) -> None:
        for curve, data in zip(self.previous, list(previous)[-_MAX_PREVIOUS:] + [None] * _MAX_PREVIOUS):
            if data is None:
                curve.setData([], [])
            else:
                curve.setData(*x_of(data))
        if average is None:
            self.average.setData([], [])
        else:
            self.average.setData(*x_of(average))


class TracesPanel(QWidget):
    """Live traces of the protocol run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.buffers = SweepBuffers(_MAX_PREVIOUS)
        self.channel = QComboBox()
        self.roi_radius_um = 0.3
        self.info = QLabel("no run yet")
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.ephys = _Overlay(self.layout_widget.addPlot(row=0, col=0, title="ephys"))
        self.fluor = _Overlay(self.layout_widget.addPlot(row=1, col=0, title="head fluorescence (counts/line)"))
        self.kymo_plot = self.layout_widget.addPlot(row=2, col=0, title="kymograph")
        self.kymo = pg.ImageItem()
        self.kymo.setColorMap(pg.colormap.get("inferno"))
        self.kymo_plot.addItem(self.kymo)
        # contrast of the kymograph: dragging the histogram's region hands the levels to the operator
        self.kymo_levels_widget = pg.HistogramLUTWidget(image=self.kymo, orientation="horizontal")
        self.kymo_levels_widget.setFixedHeight(52)
        self.kymo_levels_widget.setToolTip("the kymograph's contrast: drag the region's edges (turns auto contrast "
                                           "off)")
        self.kymo_levels = self.kymo_levels_widget.item
        self.kymo.sigImageChanged.disconnect(self.kymo_levels.imageChanged)  # refreshed by _refresh_histogram
        self._histogram_at = -math.inf
        self.histogram_refreshes = 0
        self.kymo_levels.gradient.setColorMap(pg.colormap.get("inferno"))
        self.kymo_auto = QCheckBox("auto")
        self.kymo_auto.setChecked(True)
        self.kymo_auto.setToolTip("kymograph levels from each redraw (0 to the 99.5th percentile); drag the "
                                  "histogram beside it to set them yourself")
        self._setting_levels = False
        self.kymo_levels.sigLevelChangeFinished.connect(self._levels_dragged)
        self._vsd: dict[str, VsdRois] = {}
        self._vsd_curves: dict[str, pg.PlotDataItem] = {}
        for p in (self.fluor.plot, self.kymo_plot):
            p.setXLink(self.ephys.plot)
        for plot in (self.ephys.plot, self.fluor.plot, self.kymo_plot):
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # an empty plot read 'time (ms) (x0.001)'
            plot.getAxis("left").setWidth(62)  # the three plots' time axes line up
            plot.setXRange(0.0, 1000.0, padding=0.01)
        self.ephys.plot.setLabel("left", "ephys")
        self.fluor.plot.setLabel("left", "counts")
        self.kymo_plot.setLabel("left", "along line (um)")
        self.kymo_plot.setLabel("bottom", "time (ms)")
        self._drawn_version = -1
        self._history_version = -1
        self._history_changed = 0
        self._ranged_plan = None
        self.redraws = 0
        top = QHBoxLayout()
        top.addWidget(QLabel("ephys channel"))
        top.addWidget(self.channel, 1)
        top.addWidget(self.info, 2)
        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(self.layout_widget, 1)
        contrast = QHBoxLayout()
        contrast.addWidget(self.kymo_levels_widget, 1)
        contrast.addWidget(self.kymo_auto)
        column.addLayout(contrast)
        self.channel.currentTextChanged.connect(lambda _: self._force_redraw())
        self.camera_sweep = CameraSweep()
        self._cam_drawn = -1
        self._led_curves: dict[str, pg.PlotDataItem] = {}
        self._led_previous: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._fluor_mode = ""
        self.camera_redraws = 0

    def set_protocol(self, steps: list[object]) -> None:
        """The steps of the run about to start (the VSD view reads its ROIs from them)."""
        self._vsd = {}
        for step in steps:
            rois = vsd_rois(step)
            if rois is not None:
                self._vsd[getattr(step, "name", None) or "vsd"] = rois

    def _levels_dragged(self) -> None:
        if not self._setting_levels:
            self.kymo_auto.setChecked(False)

    def _show_kymograph(self, image: np.ndarray, auto: tuple[float, float]) -> None:
        if not np.isfinite(image).any():  # no line yet: nothing to show (nor to take a histogram of)
            return
        self._setting_levels = True
        try:
            if self.kymo_auto.isChecked():
                self.kymo.setImage(image, autoLevels=False, levels=auto)
            else:
                self.kymo.setImage(image, autoLevels=False)
            self._refresh_histogram()
        finally:
            self._setting_levels = False

    def _refresh_histogram(self) -> None:
        """Re-bin the contrast histogram from the kymograph, at most every HISTOGRAM_EVERY_S (a sweep's end resets)."""
        now = time.monotonic()
        if self.kymo.image is None or now - self._histogram_at < HISTOGRAM_EVERY_S:
            return
        self._histogram_at = now
        self.histogram_refreshes += 1
        self.kymo_levels.imageChanged()

    def _force_redraw(self) -> None:
        self._drawn_version = -1
        self._history_version = -1

    def handle(self, record: Record) -> None:
        """Take a record of the protocol run (GUI thread)."""
        if isinstance(record, RunStarted):
            self.buffers.reset()
            for overlay in (self.ephys, self.fluor):
                overlay.clear()
            self.kymo.clear()
            ephys = sorted({c for p in record.plans for c in p.inputs if p.amplifier and c.startswith(p.amplifier)})
            current = self.channel.currentText()
            self.channel.blockSignals(True)
            self.channel.clear()
            self.channel.addItems(ephys)
            if current in ephys:
                self.channel.setCurrentText(current)
            self.channel.blockSignals(False)
        elif isinstance(record, SweepStarted):
            self.buffers.start_sweep(record.sweep_index, record.plan)
            for overlay in (self.ephys, self.fluor):
                overlay.refit()
            self.camera_sweep.start(record.plan)
            self.info.setText(f"sweep {record.sweep_index + 1}: {record.plan.step_name} ({record.plan.kind})")
            radius = record.plan.meta.head_roi_radius_um
            self.roi_radius_um = 0.3 if radius is None else radius
        elif isinstance(record, DataChunk) and record.channel.startswith("in:"):
            cam = self.camera_sweep.plan.camera if self.camera_sweep.plan is not None else None
            if cam is not None and record.channel == f"in:{cam.camera}.frames":
                self.camera_sweep.add_frames(record.samples)
            elif cam is not None and record.channel == f"in:{cam.camera}.frame_number":
                self.camera_sweep.add_numbers(record.samples)
            else:
                self.buffers.add_chunk(record.sweep_index, record.channel[3:], record.first_sample, record.samples)
        elif isinstance(record, SweepEnded):
            self.buffers.end_sweep(record.sweep_index, record.completed)
            self._histogram_at = -math.inf  # the next kymograph draw re-bins the histogram: the sweep's whole image
            if self.camera_sweep.active and record.completed:
                self._led_previous = self.camera_sweep.traces()
            self._history_changed += 1

    def redraw(self) -> bool:
        """Draw what changed since the last call; True when something was drawn."""
        b = self.buffers
        cam = self.camera_sweep
        if b.plan is None or (b.version == self._drawn_version and cam.version == self._cam_drawn):
            return False
        self._drawn_version, self._cam_drawn = b.version, cam.version
        plan = b.plan
        if plan is not self._ranged_plan:  # the time axis spans the sweep; the traces grow across it
            self._ranged_plan = plan
            self.ephys.plot.setXRange(0.0, plan.duration_s * 1000.0, padding=0.01)
        t = b.time_ms()
        ephys = b.channels.get(self.channel.currentText())
        m = plan.meta
        line = plan.line_scan is not None
        pmt = b.channels.get(m.pmt_channel) if line else None
        green = b.channels.get(m.green_channel) if line else None
        red = b.channels.get(m.red_channel) if line else None
        vsd = self._vsd.get(plan.step_name) if line and plan.kind == "vsd" else None
        dye = (green if vsd.green_pmt else red) if vsd is not None else None
        mode = "camera" if cam.active else "vsd" if dye is not None else "frap" if pmt is not None else \
            "ratio" if green and red else ""
        if mode == "vsd":
            pmt = green = red = None  # the dye's channel is drawn as dF/F per ROI below, not as counts or G/R
        self._set_fluor_mode(mode)
        if self._history_version != self._history_changed:
            self._history_version = self._history_changed
            self._draw_history(plan, t, ephys, pmt, green, red)
        if ephys is not None:
            n = ephys.filled
            self.ephys.current.setData(t[:n], ephys.current[:n])
        kymo_samples = dye if dye is not None else pmt if pmt is not None else green
        if pmt is not None:
            self.fluor.current.setData(*_finite(*head_trace(pmt.current, plan, self.roi_radius_um)))
        elif green is not None and red is not None:
            self.fluor.current.setData(*_ratio_trace(green.current, red.current, plan, self.roi_radius_um))
        if kymo_samples is not None:
            layout = plan.line_scan
            self._show_kymograph(kymograph(kymo_samples.current, plan).T, self._levels(kymo_samples.current))
            self.kymo.setRect(QRectF(0, 0, plan.duration_s * 1000.0, layout.line_length_um))
        if mode == "camera":
            self._draw_camera(plan)
        elif mode == "vsd" and vsd is not None and dye is not None:
            self._draw_vsd(plan, vsd, dye.current)
        for overlay in (self.ephys, self.fluor):
            overlay.fit_y()
        self.redraws += 1
        return True

    def _set_fluor_mode(self, mode: str) -> None:
        if mode == self._fluor_mode:
            return
        self._fluor_mode = mode
        self.fluor.plot.setTitle(FLUOR_TITLES[mode])
        self.kymo_plot.setLabel("left", "along profile (um)" if mode == "camera" else "along line (um)")
        if mode != "camera":
            for curve in self._led_curves.values():
                self.fluor.plot.removeItem(curve)
            self._led_curves, self._led_previous = {}, {}
        if mode != "vsd":
            for curve in self._vsd_curves.values():
                self.fluor.plot.removeItem(curve)
            self._vsd_curves = {}
        self.fluor.plot.setLabel("left", "dF/F" if mode in ("camera", "vsd") else "G/R" if mode == "ratio"
                                 else "counts")
        self.kymo_plot.setTitle("kymograph")
        self.kymo.clear()

    def _draw_camera(self, plan) -> None:
        """Per-LED head dF/F of the frames so far (the previous sweep dim) and the profile kymograph."""
        self.camera_redraws += 1
        traces = self.camera_sweep.traces()
        for led, (t, dff) in traces.items():
            curve = self._led_curves.get(led)
            if curve is None:
                pen = LED_PENS[len(self._led_curves) % len(LED_PENS)]
                curve = self.fluor.plot.plot(pen=pg.mkPen(pen, width=2), symbol="o", symbolSize=4,
                                             symbolBrush=pen, symbolPen=None)
                self._led_curves[led] = curve
            curve.setData(t, dff)
        if traces:
            keys = ", ".join(f'<span style="color:{LED_PENS[i % len(LED_PENS)]}">{led}</span>'
                             for i, led in enumerate(self._led_curves))
            self.fluor.plot.setTitle(f"head dF/F per LED: {keys}")
        previous = [(t, y) for t, y in self._led_previous.values()]
        for curve, data in zip(self.fluor.previous, previous + [None] * _MAX_PREVIOUS):
            if data is None:
                curve.setData([], [])
            else:
                curve.setData(*data)
        kymo = self.camera_sweep.kymograph()
        if kymo is not None:
            image, led, t_first, t_last = kymo
            finite = image[np.isfinite(image)]
            high = max(1.0, float(np.percentile(finite, 99.5))) if finite.size else 1.0
            self._show_kymograph(image, (0.0, high))
            frame_ms = (t_last - t_first) / max(image.shape[1] - 1, 1)  # one column per frame of that LED
            self.kymo.setRect(QRectF(t_first - frame_ms / 2, 0, frame_ms * image.shape[1],
                                     self.camera_sweep.profile_length_um))
            self.kymo_plot.setTitle(f"kymograph ({led} frames)")  # short: a title widens the plots

    def _draw_vsd(self, plan, rois: VsdRois, samples: np.ndarray) -> None:
        """dF/F of the head (the step's spine point) and the dendrite ROI of the sweep so far."""
        vsd_meta = plan.meta.kind_meta
        event = vsd_meta.event_ms if isinstance(vsd_meta, VsdMeta) else 0.0
        spots = {"head": (plan.target_um, rois.head_radius_um), "dendrite": (rois.dendrite_um, rois.dendrite_radius_um)}
        for roi, (point, radius) in spots.items():
            if point is None:
                continue
            curve = self._vsd_curves.get(roi)
            if curve is None:
                curve = self._vsd_curves[roi] = self.fluor.plot.plot(pen=pg.mkPen(ROI_PENS[roi], width=1.5))
            curve.setData(*roi_dff(samples, plan, point, radius, event))
        role = plan.meta.role
        keys = ", ".join(f'<span style="color:{ROI_PENS[r]}">{r}</span>' for r in self._vsd_curves)
        self.fluor.plot.setTitle(f"VSD dF/F: {keys}")  # short: a plot title's width is the plots' minimum width
        self.info.setText(f"sweep {plan.sweep_in_step + 1} of step {plan.step_name}: {role}")

    def _draw_history(self, plan, t: np.ndarray, ephys, pmt_hist, green=None, red=None) -> None:
        if ephys is not None:
            self.ephys.set_history(lambda y: (t[:y.shape[0]], y), list(ephys.previous), ephys.average)
            unit = "pA" if plan.amplifier_mode == "VC" and self.channel.currentText().endswith("primary") else "mV"
            channel = self.channel.currentText()
            self.ephys.plot.setLabel("left", f"{channel.rsplit('.', 1)[-1]} ({unit})")  # the combo names the device
        else:
            self.ephys.clear()
        if pmt_hist is not None:
            self.fluor.set_history(lambda y: _finite(*head_trace(y, plan, self.roi_radius_um)), list(pmt_hist.previous),
                                   pmt_hist.average)
        elif green is not None and red is not None and len(green.previous) == len(red.previous):
            pairs = [np.stack((g, r)) for g, r in zip(green.previous, red.previous)]
            average = None if green.average is None or red.average is None else np.stack((green.average, red.average))
            self.fluor.set_history(lambda gr: _ratio_trace(gr[0], gr[1], plan, self.roi_radius_um), pairs, average)
        elif not self.camera_sweep.active:
            self.fluor.clear()

    @staticmethod
    def _levels(samples: np.ndarray) -> tuple[float, float]:
        finite = samples[np.isfinite(samples)]
        if finite.size == 0:
            return 0.0, 1.0
        return 0.0, max(1.0, float(np.percentile(finite[:: max(1, finite.size // 5000)], 99.5)))
