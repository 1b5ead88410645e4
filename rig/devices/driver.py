"""The driver seam: what the device and clock code asks of a DAQ board, in volts and levels on physical lines.

Everything above this seam (device classes, the clock's bookkeeping, unit <-> volt scaling, safe
states, limits, the watchdog's logic) is the same code on every rig. Below it sit the
implementations: `rig.backends.ni.driver.NiDriver` (nidaqmx, imported lazily) and
`simulated_devices.driver.SimulatedDriver` (the simulated board, which turns volts back into
what the simulated hardware physically does). Unit tests of the code above use a fake at this seam.

Lifecycle of the clocked tasks of one sweep (`SweepTaskGroup`): created with its channels and
timing, `write` loads the output buffers, `start` starts followers then the master, `read`
blocks for input chunks, `outputs_done` polls finite outputs, `stop` stops the master first,
`close` releases every task whatever happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from rig.devices.signals.timing import SweepTiming


@dataclass(frozen=True)
class AnalogChannel:
    """An analog channel of a task: physical address, virtual name, voltage range."""

    physical: str
    name: str
    min_V: float
    max_V: float


@dataclass(frozen=True)
class DigitalChannel:
    """A digital output line of a task."""

    physical: str
    name: str


@dataclass(frozen=True)
class LineExpirationState:
    """A digital line the watchdog drives by itself on expiry, and the level."""

    physical: str
    high: bool


@dataclass(frozen=True)
class AnalogExpirationState:
    """An analog output the watchdog drives on expiry (boards with AO expiration states), in volts."""

    physical: str
    volts: float


class StaticIo(Protocol):
    """Unclocked, on-demand input and output: what a device needs outside a sweep."""

    def write_analog(self, channel: AnalogChannel, volts: float) -> None:
        """Drive one AO channel to a constant voltage now."""

    def write_digital(self, channel: DigitalChannel, level: bool) -> None:
        """Drive one DO line high or low now."""

    def read_analog(self, channel: AnalogChannel, n_samples: int, rate_hz: float,
                    terminal_config: str = "default") -> np.ndarray:
        """A short finite recording of one AI channel, in volts (telegraphs, checks)."""


class SweepTaskGroup(Protocol):
    """The AI, AO, DO (and counter) tasks of one sweep on one sample clock, configured and ready to load."""

    def write(self, ao: np.ndarray | None, do: np.ndarray | None) -> None:
        """Load the output buffers: ao (n_ao, n) volts, do (n_do, n) booleans; nothing starts."""

    def start(self) -> None:
        """Start the followers, then the master."""

    def read(self, n_samples: int, timeout_s: float) -> np.ndarray:
        """Block until n_samples of every AI channel are in; (n_ai, n_samples) volts."""

    def outputs_done(self) -> bool:
        """True once every finite output task has generated all its samples."""

    def stop(self) -> None:
        """Stop the master first, then the followers."""

    def close(self) -> None:
        """Release every task (one failing close never skips the others)."""


class ClockedLines(Protocol):
    """Digital lines stepped by an external clock (the camera's exposure-out), one sample per edge."""

    def start(self) -> None:
        """Arm: wait for the first external edge."""

    def stop(self) -> None:
        """Stop the task."""

    def close(self) -> None:
        """Release the task."""


class WatchdogTimer(Protocol):
    """The board's watchdog timer task with its expiration states configured."""

    @property
    def expired(self) -> bool:
        """True once the timer ran out (the board forced the expiration states)."""

    def start(self) -> None:
        """Start the timer."""

    def reset_timer(self) -> None:
        """Feed: restart the timeout."""

    def clear_expiration(self) -> None:
        """Clear an expired state so that the lines accept writes again."""

    def stop(self) -> None:
        """Stop the timer."""

    def close(self) -> None:
        """Release the task."""


class DaqDriver(StaticIo, Protocol):
    """A whole DAQ board: static I/O, the clocked tasks of a sweep, exposure-clocked lines, the watchdog."""

    def sweep_tasks(self, timing: "SweepTiming", ai: list[AnalogChannel], ao: list[AnalogChannel],
                    do: list[DigitalChannel], terminal_config: str = "default",
                    counter_physical: str | None = None) -> SweepTaskGroup:
        """Create and configure every task of a sweep (channels, sample clock, start trigger, regeneration)."""

    def exposure_clocked_lines(self, lines: list[DigitalChannel], terminal: str, pattern: np.ndarray,
                               max_rate_hz: float) -> ClockedLines:
        """Create a finite DO task on an external clock terminal and load its (n_lines, n_edges) pattern."""

    def watchdog_timer(self, device: str, task_name: str, timeout_s: float,
                       lines: tuple[LineExpirationState, ...],
                       analog: tuple[AnalogExpirationState, ...]) -> WatchdogTimer:
        """Create the watchdog timer task with its expiration states (not started)."""
