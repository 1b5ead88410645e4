"""Camera live view: settings checked against the profile, a short triggered SweepPlan, and the latest frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.config.device_specs import LedSourceSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import LiveCameraMeta
from rig.datatypes.layouts import CameraAcquisition
from rig.datatypes.records import DataChunk, Record, SweepStarted
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan

LIVE_RATE_HZ = 10.0        # frames per second of the live view
LIVE_FRAMES_PER_SWEEP = 3  # a sweep is short, so 'stop' ends the view within ~0.3 s
_SAMPLE_RATE_HZ = 10_000.0
_LEAD_MS = 5.0
_TAIL = 2
BINNINGS = (1, 2, 4, 8)


@dataclass(frozen=True)
class CameraSettings:
    """What the operator sets for the camera: exposure, sensor ROI (unbinned px), binning, LED, field centre."""

    exposure_ms: float = 3.0
    roi_px: tuple[int, int, int, int] = (0, 0, 80, 80)
    binning: int = 1
    led: str = ""
    field_center_um: tuple[float, float] = (0.0, 0.0)
    rate_hz: float = LIVE_RATE_HZ


def check_camera(settings: CameraSettings, profile: HardwareProfile, camera: str, led_source: str | None) -> list[str]:
    """Problems of the settings against the profile's camera (sensor_px, max_frame_rate_hz) and LED limits."""
    spec = profile.camera(camera)
    problems: list[str] = []
    sensor_w, sensor_h = spec.sensor_px
    x, y, w, h = settings.roi_px
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > sensor_w or y + h > sensor_h:
        problems.append(f"ROI {list(settings.roi_px)} does not fit the {sensor_w}x{sensor_h} sensor "
                        f"(devices.{camera}.sensor_px)")
    b = settings.binning
    if b not in BINNINGS or w % b or h % b or x % b or y % b:
        problems.append(f"binning {b} must be one of {list(BINNINGS)} and divide the ROI origin and size")
    max_rate = spec.max_frame_rate_hz
    if settings.rate_hz > max_rate:
        problems.append(f"{settings.rate_hz:g} Hz exceeds devices.{camera}.max_frame_rate_hz = {max_rate:g}")
    interval_ms = 1000.0 / settings.rate_hz
    if not 1000.0 / _SAMPLE_RATE_HZ <= settings.exposure_ms < interval_ms:
        problems.append(f"exposure must be in [{1000.0 / _SAMPLE_RATE_HZ:g}, {interval_ms:g}) ms "
                        f"(frame interval at {settings.rate_hz:g} Hz)")
    if settings.led:
        leds = profile.devices_of_type(LedSourceSpec).get(led_source or "")
        if leds is None or settings.led not in leds.leds:
            problems.append(f"no LED '{settings.led}' in this profile")
        else:
            duty = settings.exposure_ms / interval_ms
            allowed = leds.leds[settings.led].max_duty_fraction
            if duty > allowed:
                problems.append(f"LED duty {duty:.2f} exceeds devices.{led_source}.leds.{settings.led}."
                                f"max_duty_fraction = {allowed:g}")
    return problems


def camera_plan(settings: CameraSettings, profile: HardwareProfile, camera: str, led_source: str | None,
                n_frames: int = LIVE_FRAMES_PER_SWEEP, sweep_in_step: int = 0) -> SweepPlan:
    """Triggers at `rate_hz` on `<camera>.trigger`, the chosen LED lit during each exposure (and only then)."""
    spec = profile.camera(camera)
    rate = _SAMPLE_RATE_HZ
    lead = int(round(_LEAD_MS * rate / 1000.0))
    period = int(round(rate / settings.rate_hz))
    exposure = max(1, int(round(settings.exposure_ms * rate / 1000.0)))
    n = lead + n_frames * period + _TAIL
    trigger = np.zeros(n, dtype=np.float32)
    light = np.zeros(n, dtype=np.float32)
    for k in range(n_frames):
        a = lead + k * period
        trigger[a:a + max(1, exposure // 4)] = 1.0
        light[a:a + exposure] = 1.0
    outputs = {f"{camera}.trigger": trigger}
    if settings.led and led_source:
        outputs[f"{led_source}.{settings.led}"] = light
    (x, y, w, h), (sensor_w, sensor_h), (cx, cy) = settings.roi_px, spec.sensor_px, settings.field_center_um
    acquisition = CameraAcquisition(camera, f"{camera}.trigger", n_frames, settings.exposure_ms, settings.binning,
                                    (x, y, w, h), spec.pixel_size_um, (sensor_w, sensor_h), (cx, cy))
    return SweepPlan(step_index=0, step_name="camera_live", kind="camera_live", sweep_in_step=sweep_in_step,
                     sample_rate_hz=rate, n_samples=n, outputs=outputs, inputs=(), camera=acquisition,
                     meta=SweepMeta(kind_meta=LiveCameraMeta(settings.led, settings.rate_hz)))


class LatestFrame:
    """The newest camera frame of a live job and where it sits in the sample plane."""

    def __init__(self) -> None:
        self.acquisition: CameraAcquisition | None = None
        self.frame: np.ndarray | None = None
        self.frames = 0
        self.led_ms = 0.0  # LED light delivered by the live view (exposure x frames with an LED)
        self._led = ""

    def handle(self, record: Record) -> bool:
        """Take a record; True when a new frame arrived."""
        if isinstance(record, SweepStarted):
            self.acquisition = record.plan.camera
            kind = record.plan.meta.kind_meta
            self._led = kind.led if isinstance(kind, LiveCameraMeta) else ""
        elif isinstance(record, DataChunk) and self.acquisition is not None and \
                record.channel == f"in:{self.acquisition.camera}.frames" and len(record.samples):
            self.frame = np.asarray(record.samples[-1])
            self.frames += len(record.samples)
            if self._led:
                self.led_ms += len(record.samples) * self.acquisition.exposure_ms
            return True
        return False

    def rect_um(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the frame in the sample plane, for ImageItem.setRect."""
        cam = self.acquisition
        assert cam is not None
        xs, ys = cam.pixel_centers_um()
        step = cam.pixel_size_um * cam.binning
        return float(xs[0] - step / 2), float(ys[0] - step / 2), step * len(xs), step * len(ys)
