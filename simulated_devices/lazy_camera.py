"""The simulated CCD opened on first use: a run that never images with it never imports pymmcore-plus.

Opening the simulated camera loads a Python camera into a real Micro-Manager core (rig.backends.micromanager),
which costs about a second of imports; FRAP, fCaT and other line-scan runs on a profile that lists a camera
never use it. Until a plan for this camera arrives the camera is idle and safe, exactly as a freshly opened one
(make_safe only drives its trigger line low on the clock); any other use opens it and hands over.
"""

from __future__ import annotations

from typing import Any, Callable

from rig.config.device_specs import CameraSpec
from rig.datatypes.sweep_plan import SweepPlan
from rig.hal.interfaces import SafetyReport


class LazySimulatedCamera:
    """A camera device that opens `open_simulated_camera` the first time a plan (or a frame) needs it."""

    kind = "camera"

    def __init__(self, name: str, spec: CameraSpec, clock: Any, label: str = "SimCCD"):
        self.name = name
        self._spec = spec
        self._clock = clock
        self._label = label
        self._camera: Any = None
        self._push: Callable[..., None] | None = None

    @property
    def opened(self) -> bool:
        """True once the Micro-Manager camera exists."""
        return self._camera is not None

    def _open(self) -> Any:
        if self._camera is None:
            from rig.backends.micromanager.camera import open_simulated_camera

            self._camera, self._push = open_simulated_camera(self.name, self._spec, self._label, clock=self._clock)
        return self._camera

    def push_frame(self, *args: Any, **kwargs: Any) -> None:
        """Hand one rendered frame to the camera (opening it if a frame comes first)."""
        self._open()
        assert self._push is not None
        self._push(*args, **kwargs)

    def _mine(self, plan: SweepPlan) -> bool:
        return plan.camera is not None and plan.camera.camera == self.name

    def configure(self, plan: SweepPlan) -> None:
        """Nothing for a plan that does not image with this camera; else open and configure."""
        if self._mine(plan) or self.opened:
            self._open().configure(plan)

    def start_frames(self, plan: SweepPlan) -> None:
        """As MmCamera.start_frames (opening the camera for a plan that images with it)."""
        if self._mine(plan) or self.opened:
            self._open().start_frames(plan)

    def read_frames(self) -> Any:
        """Frames waiting in the core; none before the camera is opened."""
        return self._camera.read_frames() if self.opened else None

    def stop_frames(self) -> None:
        """Stop any acquisition (nothing to stop before the camera is opened)."""
        if self.opened:
            self._camera.stop_frames()

    def make_safe(self) -> None:
        """As MmCamera.make_safe; an unopened camera only has its trigger line to drive low."""
        if self.opened:
            self._camera.make_safe()
        elif self._clock is not None:
            self._clock.write_static(f"{self.name}.trigger", 0.0)

    def safety(self) -> SafetyReport:
        """Safe and idle until opened; then the camera's own report."""
        if self.opened:
            return self._camera.safety()
        return SafetyReport(self.name, True, f"{self._label}: idle")

    def __getattr__(self, name: str) -> Any:  # anything else (core, label, check_plan, ...) is the real camera's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._open(), name)
