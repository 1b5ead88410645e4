"""An externally triggered Python camera for the Micro-Manager core (pymmcore-plus unicore).

A producer (the simulated DAQ, a benchmark) calls `push_frame(image)` once per hardware
trigger; the core's sequence acquisition (`startSequenceAcquisition`, popNextImage...)
delivers the frames. The camera never times frames itself: when the producer is paced, it
keeps its own absolute deadlines; the camera thread sleeps on a condition until frames
arrive and then hands over every waiting frame in one burst, so neither side spins or
sleeps per frame. Tested against pymmcore-plus 0.18 (unicore is experimental).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from pymmcore_plus.core._constants import Keyword
from pymmcore_plus.experimental.unicore import CameraDevice, pymm_property

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

log = logging.getLogger(__name__)

# Metadata the camera attaches to each frame (the core's own ImageNumber counts delivered frames only).
FRAME_NUMBER_KEY = "TriggerFrameNumber"
TIMESTAMP_KEY = "TriggerTimestamp-ms"
MAX_RATE_PROPERTY = "MaxFrameRate-Hz"
ALLOWED_BINNING = (1, 2, 4, 8)
_STOP_POLL_S = 0.02  # how often a waiting acquisition looks for a stop request
_SNAP_TIMEOUT_S = 5.0


class TriggeredPythonCamera(CameraDevice):
    """A CCD that delivers one pushed frame per hardware trigger, with ROI and binning applied on the camera."""

    def __init__(self) -> None:
        super().__init__()
        self._sensor_w = 80
        self._sensor_h = 80
        self._max_rate_hz = 2000.0
        self._readout_ms = 0.0
        self._exposure_ms = 1.0
        self._binning = 1
        self._roi: tuple[int, int, int, int] | None = None  # binned pixels, Micro-Manager convention
        self._cond = threading.Condition(threading.Lock())
        self._pending: deque[tuple[int, float, np.ndarray | None]] = deque()
        self._armed = False
        self._session: object | None = None  # identifies the armed sequence
        self._next_number = 0
        self.ignored_triggers = 0  # pushes while no acquisition was armed
        self.set_property_limits(Keyword.Binning, (1, max(ALLOWED_BINNING)))  # values are checked by set_binning

    # ---------------------------------------------------------------- properties

    @pymm_property(is_pre_init=True, limits=(1, 8192), name="SensorWidth")
    def sensor_width(self) -> int:
        """Sensor width in unbinned pixels (set before initialization)."""
        return self._sensor_w

    @sensor_width.setter
    def sensor_width(self, value: int) -> None:
        self._sensor_w = int(value)

    @pymm_property(is_pre_init=True, limits=(1, 8192), name="SensorHeight")
    def sensor_height(self) -> int:
        """Sensor height in unbinned pixels (set before initialization)."""
        return self._sensor_h

    @sensor_height.setter
    def sensor_height(self, value: int) -> None:
        self._sensor_h = int(value)

    @pymm_property(is_pre_init=True, limits=(0.001, 1e6), name=MAX_RATE_PROPERTY)
    def max_frame_rate_hz(self) -> float:
        """Fastest trigger rate the camera can follow."""
        return self._max_rate_hz

    @max_frame_rate_hz.setter
    def max_frame_rate_hz(self, value: float) -> None:
        self._max_rate_hz = float(value)

    def get_readout_time(self) -> float:
        """Sensor readout time in ms (frame transfer: exposure of the next frame overlaps it)."""
        return self._readout_ms

    def set_readout_time(self, value: float) -> None:
        """Set the readout time in ms."""
        self._readout_ms = float(value)

    def get_exposure(self) -> float:
        """Exposure in ms (the producer renders with it; the camera does not wait for it)."""
        return self._exposure_ms

    def set_exposure(self, exposure: float) -> None:
        """Set the exposure in ms (strings from a config or profile are accepted)."""
        exposure_ms = float(exposure)
        if exposure_ms <= 0:
            raise ValueError(f"exposure must be > 0 ms, got {exposure}")
        self._exposure_ms = exposure_ms

    def get_binning(self) -> int:
        """Symmetric on-chip binning."""
        return self._binning

    def set_binning(self, value: int) -> None:
        """Set binning; as on most Micro-Manager cameras this resets the ROI to the full sensor."""
        value = int(float(value))
        if value not in ALLOWED_BINNING:
            raise ValueError(f"binning {value} is not one of {ALLOWED_BINNING}")
        self._binning = value
        self._roi = None

    # ---------------------------------------------------------------- geometry

    def _binned_sensor(self) -> tuple[int, int]:
        return self._sensor_w // self._binning, self._sensor_h // self._binning

    def get_roi(self) -> tuple[int, int, int, int]:
        """Current ROI (x, y, width, height) in binned pixels."""
        if self._roi is not None:
            return self._roi
        w, h = self._binned_sensor()
        return (0, 0, w, h)

    def set_roi(self, x: int, y: int, width: int, height: int) -> None:
        """Set the ROI in binned pixels."""
        w, h = self._binned_sensor()
        if x < 0 or y < 0 or width <= 0 or height <= 0 or x + width > w or y + height > h:
            raise ValueError(f"ROI ({x}, {y}, {width}, {height}) does not fit the {w}x{h} (binned) sensor")
        self._roi = (int(x), int(y), int(width), int(height))

    def clear_roi(self) -> None:
        """Full sensor."""
        self._roi = None

    def shape(self) -> tuple[int, int]:
        """Delivered image shape (height, width)."""
        _, _, w, h = self.get_roi()
        return (h, w)

    def dtype(self) -> DTypeLike:
        """16-bit pixels."""
        return np.uint16

    # ---------------------------------------------------------------- producer side

    def push_frame(self, image: np.ndarray | None, timestamp_ms: float = float("nan"),
                   frame_number: int | None = None) -> None:
        """One hardware trigger: a full-sensor (or ROI-sized, unbinned) frame; None = a frame lost in the camera.

        Thread-safe. The camera counts triggers itself (frame numbers from 0 per armed
        sequence); a lost frame leaves a gap in the frame numbers the core delivers.
        """
        with self._cond:
            if not self._armed:
                self.ignored_triggers += 1
                return
            number = self._next_number if frame_number is None else int(frame_number)
            self._next_number = number + 1
            if image is None:
                return
            self._pending.append((number, float(timestamp_ms), np.array(image, copy=True)))
            self._cond.notify()

    @property
    def armed(self) -> bool:
        """Whether a sequence acquisition is waiting for triggers."""
        return self._armed

    def disarm(self) -> None:
        """Stop accepting triggers and wake a waiting acquisition so it ends."""
        with self._cond:
            self._armed = False
            self._pending.clear()
            self._cond.notify_all()

    # ---------------------------------------------------------------- core side

    def start_sequence(self, n: int | None,
                       get_buffer: Callable[[Sequence[int], DTypeLike], np.ndarray]) -> Iterator[Mapping]:
        """Arm now (triggers from this call on are counted from 0); frames are delivered by the returned generator."""
        session = object()
        with self._cond:
            self._pending.clear()
            self._next_number = 0
            self._armed = True
            self._session = session
        return self._deliver(n, get_buffer, session)

    def _deliver(self, n: int | None, get_buffer: Callable[[Sequence[int], DTypeLike], np.ndarray],
                 session: object) -> Iterator[Mapping]:
        # Runs in the core's acquisition thread. Its stop event is read where pymmcore-plus 0.18
        # puts it; a snap (no acquisition thread) waits a bounded time for one trigger.
        stop: threading.Event | None = getattr(threading.current_thread(), "stop_event", None)
        deadline = None if stop is not None else time.monotonic() + _SNAP_TIMEOUT_S
        x, y, w, h = self.get_roi()
        b = self._binning
        rows, cols = slice(y * b, (y + h) * b), slice(x * b, (x + w) * b)
        full = (self._sensor_h, self._sensor_w)
        delivered = 0
        try:
            while n is None or delivered < n:
                with self._cond:
                    while True:
                        if self._session is not session or not self._armed or (stop is not None and stop.is_set()):
                            return
                        if self._pending:
                            break
                        if deadline is not None and time.monotonic() > deadline:
                            log.warning("%s: no trigger within %.0f s of a snap", self.get_label(), _SNAP_TIMEOUT_S)
                            return
                        self._cond.wait(_STOP_POLL_S)
                    batch = list(self._pending)
                    self._pending.clear()
                for number, stamp_ms, image in batch:
                    if n is not None and delivered >= n:
                        break
                    buf = get_buffer((h, w), np.uint16)
                    _bin_into(buf, image if image.shape == full else _embed(image, full, rows, cols), rows, cols, b)
                    delivered += 1
                    if n is not None and delivered >= n:
                        with self._cond:  # the sequence is complete: later triggers are ignored, as by a camera
                            if self._session is session:
                                self._armed = False
                    yield {FRAME_NUMBER_KEY: str(number), TIMESTAMP_KEY: f"{stamp_ms:.4f}"}
        finally:
            # The core abandons a finished generator at its last yield; it is closed whenever it is
            # collected, possibly during a later sequence, which it must not disarm.
            with self._cond:
                if self._session is session:
                    self._armed = False


def _embed(image: np.ndarray, full: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    """A ROI-sized (unbinned) frame placed on a full-sensor canvas; other shapes are refused."""
    if image.shape != (rows.stop - rows.start, cols.stop - cols.start):
        raise ValueError(f"pushed frame of shape {image.shape}: expected the sensor {full} or the ROI "
                         f"{(rows.stop - rows.start, cols.stop - cols.start)} (unbinned)")
    canvas = np.zeros(full, dtype=image.dtype)
    canvas[rows, cols] = image
    return canvas


def _bin_into(out: np.ndarray, image: np.ndarray, rows: slice, cols: slice, binning: int) -> None:
    """Crop to the ROI and sum binning x binning blocks into `out` (saturating at the 16-bit maximum)."""
    region = image[rows, cols]
    if binning == 1:
        if region.dtype == np.uint16:
            out[...] = region
        else:
            np.clip(region, 0, 65535, out=out, casting="unsafe")
        return
    h, w = out.shape
    summed = region.reshape(h, binning, w, binning).sum(axis=(1, 3), dtype=np.float64)
    np.clip(summed, 0, 65535, out=out, casting="unsafe")


def find_python_camera(core: Any, label: str) -> TriggeredPythonCamera | None:
    """The TriggeredPythonCamera loaded under `label` in a UniMMCore, else None."""
    manager = getattr(core, "_pydevices", None)
    if manager is None or label not in manager:
        return None
    device = manager.get_device_of_type(label, TriggeredPythonCamera)
    return device if isinstance(device, TriggeredPythonCamera) else None
