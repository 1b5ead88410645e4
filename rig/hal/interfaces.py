"""Device interfaces every backend implements, and the lifecycle contract of a sweep.

Lifecycle of one sweep (the Runner drives it, see docs/architecture.md):
  1. `device.configure(plan)` for every device, in profile order: static settings
     (amplifier mode and holding, camera ROI); nothing emits light or current yet.
  2. `clock.load(plan)`: every clocked output waveform and input channel is handed to
     the master clock (the DAQ); outputs are not yet moving.
  3. `clock.start()`: the master clock starts; every device is slaved to it.
  4. `clock.read()` repeatedly returns the next chunk of every input until None.
  5. `clock.stop()`: clocked tasks stop; outputs hold their last value (as a real DAQ does).
  6. Always, whatever happened: `device.make_safe()` for every device, light first.

The DAQ-driven devices are one class per role (rig.devices) on either backend's clock; the
board itself sits behind the driver seam rig.devices.driver.DaqDriver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal, Mapping, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from rig.datatypes.sweep_plan import SweepPlan


@dataclass(frozen=True)
class SafetyReport:
    """Whether a device is in its safe state, and what it is doing."""

    device: str
    safe: bool
    detail: str


@runtime_checkable
class Device(Protocol):
    """Any rig device: configurable for a sweep and always returnable to a safe state."""

    name: str
    kind: str

    def configure(self, plan: "SweepPlan") -> None:
        """Apply the plan's static (unclocked) settings for this device."""

    def make_safe(self) -> None:
        """Put the device in its safe state (light off, shutter closed, stimulator idle...)."""

    def safety(self) -> SafetyReport:
        """Report whether the device is in its safe state now."""


AmplifierMode = Literal["VC", "CC"]


def amplifier_mode(text: str) -> AmplifierMode:
    """The amplifier mode `text` names; ValueError for anything but 'VC' or 'CC'."""
    if text == "VC":
        return "VC"
    if text == "CC":
        return "CC"
    raise ValueError(f"amplifier mode must be 'VC' or 'CC', got {text!r}")


@runtime_checkable
class PatchAmplifier(Device, Protocol):
    """Whole-cell patch amplifier: VC/CC mode and holding; command and readouts are clocked."""

    def set_mode(self, mode: Literal["VC", "CC"]) -> None:
        """Switch between 'VC' and 'CC' (on a real rig: the mode the channels are scaled for; see rig.devices)."""

    def set_holding(self, value: float) -> None:
        """Holding potential (mV, VC) or current (pA, CC), applied on the command output."""


@runtime_checkable
class GalvoScanner(Device, Protocol):
    """Galvo scanner with PMTs; line and frame waveforms are clocked outputs."""

    def park(self, x_um: float, y_um: float) -> None:
        """Move the beam to a point in the sample plane (used outside sweeps)."""


@runtime_checkable
class PockelsLaser(Device, Protocol):
    """Laser power through a Pockels cell; the power waveform is a clocked output."""

    def set_power(self, fraction: float) -> None:
        """Set a static power fraction (0 is off)."""


@runtime_checkable
class Shutter(Device, Protocol):
    """A light shutter."""

    def set_open(self, is_open: bool) -> None:
        """Open or close the shutter."""


@runtime_checkable
class LedSource(Device, Protocol):
    """TTL-switched LEDs."""

    def set_led(self, led: str, on: bool) -> None:
        """Switch one LED statically."""


@runtime_checkable
class StimulusIsolator(Device, Protocol):
    """Stimulus isolator; pulses are clocked outputs."""


@dataclass(frozen=True)
class FrameBatch:
    """Frames that arrived since the last read, with the camera's own frame counter and timestamps."""

    frames: np.ndarray  # (k, height, width)
    frame_numbers: np.ndarray  # (k,) counter since the sweep's first frame: gaps are dropped frames
    timestamps_ms: np.ndarray  # (k,) camera time of each frame (NaN where the camera gives none)


@runtime_checkable
class Camera(Device, Protocol):
    """A camera acquiring hardware-triggered frames (one per trigger from the master clock).

    Lifecycle inside a sweep: `start_frames(plan)` after `configure` and before the clock
    starts (sequence acquisition armed, waiting for triggers); `read_frames()` polled by the
    Runner while the sweep runs; `stop_frames()` when the sweep ends or is cut short.
    """

    def start_frames(self, plan: "SweepPlan") -> None:
        """Arm a triggered sequence acquisition for the plan's frames."""

    def read_frames(self) -> FrameBatch | None:
        """Frames that arrived since the last call (non-blocking); None if none."""

    def stop_frames(self) -> None:
        """Stop the sequence acquisition."""


class SweepClock(Protocol):
    """The master clock (DAQ) that executes a SweepPlan's waveforms and samples its inputs."""

    def load(self, plan: "SweepPlan") -> None:
        """Take every clocked output and input of the plan; nothing moves yet."""

    def start(self) -> None:
        """Start the master clock."""

    def read(self) -> Mapping[str, np.ndarray] | None:
        """Block for the next chunk of every input channel (equal lengths); None when the sweep is done."""

    def stop(self) -> None:
        """Stop the clocked tasks; outputs hold their last value."""

    def write_static(self, channel: str, value: float) -> None:
        """Drive one output channel to a constant value outside a sweep."""

    def wait(self, duration_s: float, should_stop: Callable[[], bool]) -> None:
        """Let time pass between sweeps (simulated time on the simulated rig)."""


class TruthSource(Protocol):
    """The true state of a simulated specimen, for checking estimates (absent on real rigs)."""

    def truth_for(self, plan: "SweepPlan") -> dict[str, float]:
        """True parameters of the structure the plan targets, at this moment."""

    def describe(self) -> dict[str, object]:
        """The whole specimen's true parameters."""
