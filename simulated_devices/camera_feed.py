"""Feeds the simulated CCD: one frame of the specimen per rising edge of the camera trigger, pushed into MMCore.

The frame shows the specimen at the frame's mid-exposure, excited by whichever LED the plan
lights at that trigger, through the widefield optics; the camera itself (a Python camera in
the real Micro-Manager core) applies ROI and binning and delivers frames by sequence acquisition.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rig.config.device_specs import CameraSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from simulated_devices.ccd import CcdSpec, frame_weights, frames_from_templates, scene_from_specimen, sweep_templates
from simulated_devices.specimen import ChunkSamples, Specimen
from simulated_devices.specimen_config import simulation_of


class CameraFeed:
    """Renders and pushes frames for one camera during sweeps that trigger it."""

    def __init__(self, name: str, spec: CameraSpec, profile: HardwareProfile, specimen: Specimen,
                 push_frame: Callable[..., None], rng: np.random.Generator):
        self.name = name
        self.trigger = f"{name}.trigger"
        self.profile = profile
        self.specimen = specimen
        self.push_frame = push_frame
        self.rng = rng
        wf = simulation_of(profile).widefield
        self.band = wf.emission
        width, height = spec.sensor_px
        self.base = CcdSpec(sensor_px=(height, width), pixel_size_um=spec.pixel_size_um, psf_sigma_um=wf.psf_sigma_um,
                            photons_per_ms=wf.photons_per_ms, read_noise_e=wf.read_noise_e,
                            led_drift_per_sweep=wf.led_drift_per_sweep, drift_um_per_sweep=wf.drift_um_per_min)
        self.drop_frames: set[int] = set()  # fault injection: triggers whose frame is lost in transport
        self._plan: SweepPlan | None = None
        self._exposure_total_ms = 0.0

    def start_sweep(self, plan: SweepPlan) -> None:
        """Prepare the sweep's scene (slice drift) if the plan triggers this camera."""
        self._plan = plan if plan.camera is not None and plan.camera.camera == self.name else None
        if self._plan is None:
            return
        cam = self._plan.camera
        self._ccd = CcdSpec(**{**self.base.__dict__, "center_um": tuple(cam.field_center_um)})
        # the drift rate is per minute of simulated time (CcdSpec's per-"sweep" field read as per minute)
        minutes = self.specimen.time_ms / 60000.0
        self._templates = sweep_templates(scene_from_specimen(self.specimen), self._ccd, minutes, self.rng)
        self._frame = 0
        self._led_nm = {f"{name}.{led}": s.wavelength_nm for name, spec in self.profile.devices.items()
                        if spec.kind == "led_source" for led, s in spec.leds.items()}

    def on_chunk(self, start: int, outputs: dict[str, np.ndarray], previous_trigger: float,
                 samples: ChunkSamples, dt_ms: float) -> None:
        """Render and push a frame for every trigger edge in this chunk."""
        plan = self._plan
        if plan is None:
            return
        trigger = outputs[self.trigger] > 0.5
        before = np.concatenate(([previous_trigger > 0.5], trigger[:-1]))
        edges = np.flatnonzero(trigger & ~before)
        if edges.size == 0:
            return
        cam = plan.camera
        n = trigger.size
        mid = np.minimum(edges + int(round(cam.exposure_ms / 2 / dt_ms)), n - 1)
        led_nm = np.zeros(edges.size)
        for channel, nm in self._led_nm.items():
            lit = outputs[channel][np.minimum(edges + 1, n - 1)] > 0.5
            led_nm[lit] = nm
        dend, heads = frame_weights(self.specimen, samples, mid, led_nm, self.band)
        index = self._frame + np.arange(edges.size)
        drift = 1.0 + self._ccd.led_drift_per_sweep * index / max(cam.n_frames - 1, 1)
        intensity = (led_nm > 0) * drift
        frames = frames_from_templates(self._templates, self._ccd, dend, heads, intensity, cam.exposure_ms, self.rng,
                                       self._exposure_total_ms)
        self._exposure_total_ms += float(np.sum(intensity)) * cam.exposure_ms
        for k, edge in enumerate(edges):
            number = int(index[k])
            image = None if number in self.drop_frames else np.clip(frames[k], 0, 65535).astype(np.uint16)
            self.push_frame(image, timestamp_ms=(start + edge) * dt_ms, frame_number=number)
        self._frame += edges.size
