"""Stimulus isolator and static LEDs: a one-pulse SweepPlan, its limit checks, and a duty guard for static LEDs."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import StimulusTestMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan

_SAMPLE_RATE_HZ = 20_000.0
_LEAD_MS = 5.0
_TAIL_MS = 20.0
DUTY_WINDOW_S = 10.0  # a static LED's max_duty_fraction applies over this sliding window


def pulse_problems(profile: HardwareProfile, stimulator: str, amplitude_V: float, width_ms: float) -> list[str]:
    """Problems of one stimulus pulse against devices.<stimulator>.limits."""
    lim = profile.stimulator(stimulator).limits
    problems = []
    if not math.isfinite(amplitude_V) or abs(amplitude_V) > lim.max_amplitude_V:
        problems.append(f"amplitude {amplitude_V:g} V exceeds devices.{stimulator}.limits.max_amplitude_V = "
                        f"{lim.max_amplitude_V:g}")
    if not math.isfinite(width_ms) or width_ms > lim.max_pulse_ms:
        problems.append(f"width {width_ms:g} ms exceeds devices.{stimulator}.limits.max_pulse_ms = "
                        f"{lim.max_pulse_ms:g}")
    elif width_ms < 1000.0 / _SAMPLE_RATE_HZ:
        problems.append(f"width must be at least {1000.0 / _SAMPLE_RATE_HZ:g} ms (one sample)")
    return problems


def single_pulse_plan(profile: HardwareProfile, stimulator: str, amplitude_V: float, width_ms: float) -> SweepPlan:
    """One pulse on `<stimulator>.trigger` after a short lead; the amplifier's primary recorded if there is one."""
    rate = _SAMPLE_RATE_HZ
    lead = int(round(_LEAD_MS * rate / 1000.0))
    width = max(1, int(round(width_ms * rate / 1000.0)))
    n = lead + width + int(round(_TAIL_MS * rate / 1000.0))
    wave = np.zeros(n, dtype=np.float32)
    wave[lead:lead + width] = amplitude_V
    amps = list(profile.devices_of_kind("patch_amplifier"))
    inputs = (f"{amps[0]}.primary",) if amps else ()
    return SweepPlan(step_index=0, step_name="single_pulse", kind="single_pulse", sweep_in_step=0,
                     sample_rate_hz=rate, n_samples=n, outputs={f"{stimulator}.trigger": wave}, inputs=inputs,
                     events_ms={"stimulus_0": _LEAD_MS},
                     meta=SweepMeta(kind_meta=StimulusTestMeta(amplitude_V, width_ms)))


class DutyGuard:
    """On-time of a static LED over a sliding window, against the LED's max_duty_fraction."""

    def __init__(self, max_duty_fraction: float, window_s: float = DUTY_WINDOW_S):
        self.max_on_s = max_duty_fraction * window_s
        self.window_s = window_s
        self._spans: deque[tuple[float, float]] = deque()  # closed (on, off) times
        self._on_since: float | None = None

    @property
    def is_on(self) -> bool:
        """True while the guard counts the LED as on."""
        return self._on_since is not None

    def on_time(self, now: float) -> float:
        """Seconds the LED was on within the window ending now."""
        start = now - self.window_s
        while self._spans and self._spans[0][1] < start:
            self._spans.popleft()
        total = sum(min(b, now) - max(a, start) for a, b in self._spans if b > start)
        if self._on_since is not None:
            total += now - max(self._on_since, start)
        return total

    def may_switch_on(self, now: float) -> bool:
        """True when there is duty left in the window."""
        return self.on_time(now) < self.max_on_s

    def switched(self, on: bool, now: float) -> None:
        """Record a switch."""
        if on and self._on_since is None:
            self._on_since = now
        elif not on and self._on_since is not None:
            self._spans.append((self._on_since, now))
            self._on_since = None

    def exhausted(self, now: float) -> bool:
        """True when an LED that is on has used the window's duty (it must go off now)."""
        return self.is_on and self.on_time(now) >= self.max_on_s
