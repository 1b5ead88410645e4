"""The hardware watchdog: what it guards, its timeout, and the shape every backend's watchdog has.

A watchdog is armed before a sweep's outputs move and fed from the clock's read/wait loop.
If feeding stops for longer than its timeout (the program was killed or hangs), the DAQ
itself drives the guarded outputs to their expiration states: light off, shutter closed,
stimulator idle. It does not need the program to be alive, which is the point.
"""

from __future__ import annotations

import math
from typing import Protocol

from rig.config.profile import HardwareProfile

DEFAULT_TIMEOUT_MS = 500.0
MIN_TIMEOUT_MS = 50.0
MAX_TIMEOUT_MS = 30_000.0  # X-series watchdog counters reach ~34 s ((2**32 - 1) x 8 ns)


class WatchdogExpired(RuntimeError):
    """The watchdog timed out and forced its outputs safe; the sweep under way cannot continue."""


class Watchdog(Protocol):
    """A hardware (or simulated hardware) watchdog timer with expiration states."""

    timeout_ms: float

    def arm(self) -> None:
        """Start guarding (clearing an expired state left by an earlier expiry); fed from now on."""

    def feed(self) -> None:
        """Restart the timeout (cheap: called once per chunk); raises WatchdogExpired if it expired."""

    def disarm(self) -> None:
        """Stop guarding (outputs are safe and the program stays in control)."""

    def close(self) -> None:
        """Disarm and release the watchdog for good."""


def watchdog_timeout_ms(profile: HardwareProfile) -> float:
    """The profile's watchdog timeout (`daq.watchdog_timeout_ms` when the schema has it), else 500 ms.

    ValueError when it is not a finite number within [MIN_TIMEOUT_MS, MAX_TIMEOUT_MS].
    """
    value = getattr(profile.daq, "watchdog_timeout_ms", None)
    if value is None:
        return DEFAULT_TIMEOUT_MS
    timeout = float(value)
    if not math.isfinite(timeout) or not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS:
        raise ValueError(f"daq.watchdog_timeout_ms must be between {MIN_TIMEOUT_MS:g} and {MAX_TIMEOUT_MS:g} ms")
    return timeout


def guarded_outputs(profile: HardwareProfile) -> dict[str, float]:
    """Logical output channels the watchdog must drive on expiry, with their safe value (0 for every one)."""
    out: dict[str, float] = {}
    for name, spec in profile.devices.items():
        if spec.kind == "pockels_laser":
            out[f"{name}.power"] = 0.0
        elif spec.kind == "shutter":
            out[f"{name}.open"] = 0.0
        elif spec.kind == "led_source":
            out.update({f"{name}.{led}": 0.0 for led in spec.leds})
        elif spec.kind in ("stimulus_isolator", "camera"):
            out[f"{name}.trigger"] = 0.0
    return out
