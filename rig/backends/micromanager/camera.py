"""A hardware-triggered camera through the Micro-Manager core (real adapters or the Python camera alike)."""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
from pymmcore_plus import DeviceType

from rig.backends.micromanager.python_camera import (
    FRAME_NUMBER_KEY,
    MAX_RATE_PROPERTY,
    TIMESTAMP_KEY,
    find_python_camera,
)
from rig.backends.micromanager.session import MicroManagerError, new_core, require_device
from rig.config.device_specs import CameraSpec, MicroManagerDeviceRef
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.sweep_plan import SweepPlan, rising_edges
from rig.hal.interfaces import FrameBatch, SafetyReport

log = logging.getLogger(__name__)

PYTHON_CAMERA_LIBRARY = "rig.backends.micromanager.python_camera"
PYTHON_CAMERA_CLASS = "TriggeredPythonCamera"
_CORE_NUMBER_KEY = "ImageNumber"  # the core's count of delivered frames: blind to frames the camera lost
_CORE_TIME_KEY = "ElapsedTime-ms"


class CameraRefused(MicroManagerError):
    """The camera cannot do what a plan asks (rate, exposure, ROI); raised before the clock starts."""


def frame_interval_ms(plan: SweepPlan) -> float | None:
    """Shortest interval between the plan's camera triggers (None with fewer than two triggers)."""
    assert plan.camera is not None
    trigger = plan.outputs.get(plan.camera.trigger_channel)
    if trigger is None:
        return None
    edges = rising_edges(trigger)
    if edges.size < 2:
        return None
    return float(np.min(np.diff(edges))) * 1000.0 / plan.sample_rate_hz


class MmCamera:
    """The hal Camera on a Micro-Manager camera: ROI, binning, exposure, and one frame per external trigger.

    Frames come through MMCore's sequence acquisition. Frame numbers are the camera's own
    counter (`frame_number_key` in the image metadata) where it gives one, else the core's
    ImageNumber; the trigger mode itself is a camera property set from the profile.
    """

    kind = "camera"

    def __init__(self, name: str, core: Any, label: str, *, clock: Any = None,
                 safe_properties: dict[str, str] | None = None, frame_number_key: str = FRAME_NUMBER_KEY,
                 timestamp_key: str = TIMESTAMP_KEY, max_rate_property: str = MAX_RATE_PROPERTY):
        self.name = name
        self.core = core
        self.label = label
        self.clock = clock
        self.safe_properties = dict(safe_properties or {})
        self.frame_number_key = frame_number_key
        self.timestamp_key = timestamp_key
        self.max_rate_property = max_rate_property
        self._acq: CameraAcquisition | None = None
        self._python = find_python_camera(core, label)

    # ------------------------------------------------------------------ checks

    def _float_property(self, prop: str) -> float | None:
        if not self.core.hasProperty(self.label, prop):
            return None
        try:
            return float(self.core.getProperty(self.label, prop))
        except ValueError:
            return None

    def check_plan(self, plan: SweepPlan) -> list[str]:
        """Why this camera cannot run the plan's frames (empty when it can); no device state changes."""
        acq = plan.camera
        if acq is None or acq.camera != self.name:
            return []
        where = f"camera '{self.name}' (Micro-Manager '{self.label}')"
        msgs: list[str] = []
        x, y, _, _ = acq.roi_px
        if x % acq.binning or y % acq.binning:
            msgs.append(f"{where}: ROI origin ({x}, {y}) must be a multiple of binning {acq.binning} "
                        "(Micro-Manager ROIs are in binned pixels)")
        interval_ms = frame_interval_ms(plan)
        if interval_ms is None:
            return msgs
        rate_hz = 1000.0 / interval_ms
        max_rate = self._float_property(self.max_rate_property)
        if max_rate is not None and rate_hz > max_rate * (1 + 1e-9):
            msgs.append(f"{where}: frame rate {rate_hz:g} Hz exceeds the camera's {self.max_rate_property} = "
                        f"{max_rate:g}")
        if acq.exposure_ms > interval_ms * (1 + 1e-9):
            msgs.append(f"{where}: exposure {acq.exposure_ms:g} ms is longer than the frame interval "
                        f"{interval_ms:g} ms ({rate_hz:g} Hz)")
        readout_ms = self._float_property("ReadoutTime")
        if readout_ms is not None and readout_ms > interval_ms * (1 + 1e-9):
            msgs.append(f"{where}: readout time {readout_ms:g} ms is longer than the frame interval "
                        f"{interval_ms:g} ms ({rate_hz:g} Hz)")
        return msgs

    # ------------------------------------------------------------------ Device

    def configure(self, plan: SweepPlan) -> None:
        """Refuse a plan the camera cannot follow, then apply binning, ROI and exposure and verify them."""
        acq = plan.camera
        if acq is None or acq.camera != self.name:
            return
        problems = self.check_plan(plan)
        if problems:
            raise CameraRefused("; ".join(problems))
        self.stop_frames()
        core, label = self.core, self.label
        core.setCameraDevice(label)
        self._set_binning(acq.binning)
        x, y, w, h = acq.roi_px
        b = acq.binning
        core.setROI(label, x // b, y // b, w // b, h // b)
        core.setExposure(label, float(acq.exposure_ms))
        core.waitForDevice(label)
        shape = (int(core.getImageHeight()), int(core.getImageWidth()))
        if shape != acq.frame_shape:
            raise CameraRefused(f"camera '{self.name}': Micro-Manager '{label}' gives {shape[1]}x{shape[0]} images "
                                f"for ROI {list(acq.roi_px)} at binning {b}; the plan needs "
                                f"{acq.frame_shape[1]}x{acq.frame_shape[0]}")
        actual_ms = float(core.getExposure(label))
        interval_ms = frame_interval_ms(plan)
        if interval_ms is not None and actual_ms > interval_ms * (1 + 1e-9):
            raise CameraRefused(f"camera '{self.name}': exposure is {actual_ms:g} ms on the camera, longer than the "
                                f"frame interval {interval_ms:g} ms")

    def _set_binning(self, binning: int) -> None:
        if not self.core.hasProperty(self.label, "Binning"):
            if binning != 1:
                raise CameraRefused(f"camera '{self.name}': Micro-Manager '{self.label}' has no Binning property")
            return
        allowed = [str(v) for v in self.core.getAllowedPropertyValues(self.label, "Binning")]
        value = f"{binning}x{binning}" if f"{binning}x{binning}" in allowed else str(binning)
        if allowed and value not in allowed:
            raise CameraRefused(f"camera '{self.name}': binning {binning} is not offered by '{self.label}' "
                                f"(allowed: {', '.join(allowed)})")
        self.core.setProperty(self.label, "Binning", value)

    def make_safe(self) -> None:
        """Stop any acquisition, apply the safe properties, and drive the trigger line low on the clock."""
        try:
            self.stop_frames()
            for prop, value in self.safe_properties.items():
                self.core.setProperty(self.label, prop, value)
        finally:
            if self.clock is not None:
                self.clock.write_static(f"{self.name}.trigger", 0.0)

    def safety(self) -> SafetyReport:
        """Safe when no sequence acquisition is running (and a Python camera is disarmed)."""
        running = bool(self.core.isSequenceRunning(self.label))
        armed = self._python is not None and self._python.armed
        detail = f"{self.label}: " + ("acquiring" if running else "armed" if armed else "idle")
        return SafetyReport(self.name, not (running or armed), detail)

    # ------------------------------------------------------------------ Camera

    def start_frames(self, plan: SweepPlan) -> None:
        """Arm a sequence acquisition of the plan's frames; the camera waits for the clock's triggers."""
        acq = plan.camera
        if acq is None or acq.camera != self.name:
            return
        self.core.setCameraDevice(self.label)
        self.core.clearCircularBuffer()
        self._acq = acq
        self.core.startSequenceAcquisition(self.label, int(acq.n_frames), 0.0, False)

    def read_frames(self) -> FrameBatch | None:
        """Every frame waiting in the core's buffer, with the camera's frame numbers and timestamps."""
        acq = self._acq
        if acq is None:
            return None
        n = int(self.core.getRemainingImageCount())
        if n <= 0:
            return None
        h, w = acq.frame_shape
        frames = np.empty((n, h, w), dtype=np.uint16)
        numbers = np.empty(n, dtype=np.int64)
        stamps = np.full(n, np.nan)
        buffer = self._python_buffer()
        for i in range(n):
            if buffer is not None:
                popped = buffer.pop_next(out=frames[i]) if buffer_shape(buffer) == (h, w) else None
                if popped is None:  # emptied or a frame of another shape: let the core say what it is
                    buffer = None
                else:
                    md: Any = popped[1]
                    numbers[i] = int(_first(md, self.frame_number_key, _CORE_NUMBER_KEY, default="-1"))
                    stamps[i] = float(_first(md, self.timestamp_key, _CORE_TIME_KEY, default="nan"))
                    continue
            image, md = self.core.popNextImageAndMD(fix=False)
            if image.shape != (h, w):
                raise MicroManagerError(f"camera '{self.name}': frame of shape {image.shape} arrived, expected "
                                        f"{(h, w)} (ROI or binning changed during the sweep?)")
            frames[i] = image
            numbers[i] = int(_first(md, self.frame_number_key, _CORE_NUMBER_KEY, default="-1"))
            stamps[i] = float(_first(md, self.timestamp_key, _CORE_TIME_KEY, default="nan"))
        if self.core.isBufferOverflowed():
            log.warning("camera '%s': Micro-Manager's sequence buffer overflowed; frames were lost", self.name)
        return FrameBatch(frames, numbers, stamps)

    def _python_buffer(self) -> Any:
        """The UniMMCore sequence buffer that holds this Python camera's frames, else None.

        popNextImageAndMD copies each frame and turns its metadata dict into a SWIG Metadata tag by
        tag (~12 calls per frame); popping the buffer directly into the batch skips both. It is a
        private part of pymmcore-plus's experimental unicore (0.18); without it the public pop is used.
        """
        if self._python is None or str(self.core.getCameraDevice()) != self.label:
            return None
        buffer = getattr(self.core, "_seq_buffer", None)
        return buffer if callable(getattr(buffer, "pop_next", None)) and hasattr(buffer, "_slots") else None

    def stop_frames(self) -> None:
        """Stop the sequence acquisition (idempotent)."""
        if self.core.isSequenceRunning(self.label):
            self.core.stopSequenceAcquisition(self.label)
        if self._python is not None:
            self._python.disarm()


def buffer_shape(buffer: Any) -> tuple[int, ...] | None:
    """Shape of the oldest frame in a UniMMCore sequence buffer (None when it is empty)."""
    slots = buffer._slots
    return tuple(slots[0].array.shape) if slots else None


def _first(md: Any, *keys: str, default: str) -> str:
    """The first of `keys` present in an image's metadata."""
    for key in keys:
        if key in md:
            value = str(md[key])
            return value if value else default
    return default


def build_camera(name: str, spec: CameraSpec, core: Any, clock: Any = None) -> MmCamera:
    """The BUILDERS entry: the camera the profile names (or the core's current camera), checked against the spec."""
    ref = spec.micromanager
    label = ref.device if ref is not None else str(core.getCameraDevice())
    where = f"devices.{name}.micromanager.device"
    if not label:
        raise MicroManagerError(f"{where}: no camera is named and Micro-Manager has no current camera; name its "
                                "label (from the config file or micromanager.devices)")
    require_device(core, label, where)
    device_type = core.getDeviceType(label)
    if int(device_type) != int(DeviceType.Camera):
        kind = getattr(device_type, "name", str(device_type))
        raise MicroManagerError(f"{where}: Micro-Manager device '{label}' is a {kind} device, not a camera")
    for prop, value in (ref.properties if ref is not None else {}).items():
        core.setProperty(label, prop, value)
    core.setCameraDevice(label)
    core.clearROI()
    binning = int(str(core.getProperty(label, "Binning")).split("x")[0]) if core.hasProperty(label, "Binning") else 1
    sensor = (int(core.getImageWidth()) * binning, int(core.getImageHeight()) * binning)
    if sensor != tuple(spec.sensor_px):
        raise MicroManagerError(f"devices.{name}.sensor_px: the profile says {list(spec.sensor_px)} but "
                                f"Micro-Manager '{label}' has a {sensor[0]}x{sensor[1]} sensor")
    return MmCamera(name, core, label, clock=clock, safe_properties=dict(ref.safe_properties) if ref else None)


def open_simulated_camera(name: str, spec: CameraSpec, label: str = "SimCCD", core: Any | None = None,
                          clock: Any = None) -> tuple[MmCamera, Callable[..., None]]:
    """A TriggeredPythonCamera loaded into a (new) real core, as an MmCamera plus its push_frame.

    The simulated DAQ calls `push_frame(image, timestamp_ms=...)` once per rising edge of
    `<name>.trigger`, with a full-sensor frame (sensor_px, unbinned counts); the camera
    applies ROI and binning and the core's sequence acquisition delivers it. Passing
    `image=None` counts the trigger but loses the frame (a gap in frame numbers). With a
    `clock`, make_safe also drives `<name>.trigger` low on it.
    """
    if core is None:
        # A Python camera needs no Micro-Manager installation: pymmcore-plus's search for one, and its
        # error when there is none, mean nothing here.
        mm_log = logging.getLogger("pymmcore-plus")
        level = mm_log.level
        mm_log.setLevel(logging.CRITICAL)
        try:
            core = new_core()
        finally:
            mm_log.setLevel(level)
    core.loadDevice(label, PYTHON_CAMERA_LIBRARY, PYTHON_CAMERA_CLASS)
    width, height = spec.sensor_px
    core.setProperty(label, "SensorWidth", str(width))
    core.setProperty(label, "SensorHeight", str(height))
    core.setProperty(label, MAX_RATE_PROPERTY, str(spec.max_frame_rate_hz))
    core.initializeDevice(label)
    ref = MicroManagerDeviceRef(device=label)
    camera = build_camera(name, spec.model_copy(update={"micromanager": ref}), core, clock)
    device = find_python_camera(core, label)
    assert device is not None
    return camera, device.push_frame
