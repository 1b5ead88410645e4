"""The DAQmx hardware watchdog: which lines it drives on expiry (pure), and the thin task that arms it.

The board applies the expiration states by itself when the program stops resetting the timer
(kill -9, a hang, a crash), so the light goes off without the program. X-series boards have
expiration states for digital lines (DIO and PFI) only; analog outputs hold their last value
unless the board has AO expiration states (e.g. some C-series and AO-only modules).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from rig.backends.ni.driver import NiDriver
from rig.config.channels import logical_channels
from rig.config.device_specs import LedSourceSpec
from rig.config.problems import Problem
from rig.config.profile import HardwareProfile
from rig.devices.channel_map import ChannelMap
from rig.devices.driver import AnalogExpirationState, DaqDriver, LineExpirationState, WatchdogTimer
from rig.hal.watchdog import WatchdogExpired, guarded_outputs, watchdog_timeout_ms

log = logging.getLogger(__name__)

TASK_NAME = "spinerig-watchdog"
MIN_CHUNKS_PER_TIMEOUT = 5  # a chunk read blocks for read_chunk_ms: the timeout must leave room for several


@dataclass(frozen=True)
class LineExpiration:
    """A digital line the board drives on expiry: logical channel, DAQmx line, level, safe value in channel units."""

    channel: str
    physical: str
    high: bool
    safe_value: float


@dataclass(frozen=True)
class AnalogExpiration:
    """An analog output the board drives on expiry (only on boards with AO expiration states)."""

    channel: str
    physical: str
    volts: float
    safe_value: float


@dataclass(frozen=True)
class Unguarded:
    """An output the watchdog cannot drive, and why."""

    channel: str
    address: str
    reason: str


@dataclass(frozen=True)
class WatchdogPlan:
    """Everything the watchdog task is configured with: device, timeout, expiration states, and what it misses."""

    device: str
    timeout_ms: float
    lines: tuple[LineExpiration, ...]
    analog: tuple[AnalogExpiration, ...]
    unguarded: tuple[Unguarded, ...]

    @property
    def timeout_s(self) -> float:
        """The timeout in seconds, as DAQmx takes it."""
        return self.timeout_ms / 1000.0

    @property
    def expirations(self) -> tuple[LineExpiration | AnalogExpiration, ...]:
        """Every output the board drives on expiry."""
        return (*self.lines, *self.analog)

    def is_safe(self, held: dict[str, float]) -> bool:
        """True when every guarded output is known to hold its safe value (nothing left to guard)."""
        return all(held.get(e.channel, math.nan) == e.safe_value for e in self.expirations)


def _safe_value(profile: HardwareProfile, channel: str, guarded: dict[str, float], channels: ChannelMap) -> float:
    """The value make_safe writes on a channel: 0 for light/stimulus/galvo, the safe holding on an amplifier."""
    if channel in guarded:
        return guarded[channel]
    info = channels.channels[channel].info
    spec = profile.devices[info.device]
    if spec.kind == "patch_amplifier":
        mode = channels.amplifiers[info.device].mode
        return spec.safe_holding_mV if mode == "VC" else spec.safe_holding_pA
    return 0.0


def plan_watchdog(profile: HardwareProfile, channels: ChannelMap, timeout_ms: float | None = None,
                  ao_expiration_states: bool = False) -> WatchdogPlan:
    """The watchdog of a profile: every DAQ digital output low on expiry; AO too only if the board has AO states."""
    timeout = watchdog_timeout_ms(profile) if timeout_ms is None else float(timeout_ms)
    guarded = guarded_outputs(profile)
    lines: list[LineExpiration] = []
    analog: list[AnalogExpiration] = []
    unguarded: list[Unguarded] = []
    for name, info in logical_channels(profile).items():
        if info.direction != "out":
            continue
        ch = channels.channels.get(name)
        if ch is None:
            unguarded.append(Unguarded(name, info.address, "not wired to the DAQ (another backend drives it); "
                                       "the DAQ watchdog cannot reach it"))
            continue
        safe = _safe_value(profile, name, guarded, channels)
        level = channels.to_hardware(name, safe)[0]
        if ch.io_type == "do":
            lines.append(LineExpiration(name, ch.physical.name, bool(level), safe))
        elif ao_expiration_states:
            analog.append(AnalogExpiration(name, ch.physical.name, float(level), safe))
        else:
            unguarded.append(Unguarded(name, ch.physical.name, "analog output on a board without AO expiration "
                                       "states: it holds its last value when the watchdog expires"))
    return WatchdogPlan(profile.daq.device, timeout, tuple(lines), tuple(analog), tuple(unguarded))


def check_watchdog(profile: HardwareProfile, source: str) -> list[Problem]:
    """Problems with the watchdog timeout: within bounds and long enough for several chunk reads."""
    try:
        timeout = watchdog_timeout_ms(profile)
    except ValueError as exc:
        return [Problem(source, "daq.watchdog_timeout_ms", str(exc))]
    chunk = profile.daq.timing.read_chunk_ms
    if timeout < MIN_CHUNKS_PER_TIMEOUT * chunk:
        return [Problem(source, "daq.watchdog_timeout_ms", f"{timeout:g} ms is shorter than "
                        f"{MIN_CHUNKS_PER_TIMEOUT} chunk reads of daq.timing.read_chunk_ms = {chunk:g} ms: a normal "
                        "read would let the watchdog expire")]
    return []


def light_warnings(plan: WatchdogPlan, profile: HardwareProfile) -> list[str]:
    """One line per light source the watchdog cannot switch off by itself (neither its command nor a shutter)."""
    guarded = {e.channel for e in plan.expirations}
    shutters = [f"{n}.open" for n in profile.devices_of_kind("shutter") if f"{n}.open" in guarded]
    warnings: list[str] = []
    for name in profile.devices_of_kind("pockels_laser"):
        if f"{name}.power" not in guarded and not shutters:
            warnings.append(f"{name}: the Pockels command is analog and no shutter on a DAQ line is guarded; if the "
                            "program dies the laser stays at its last power (put it behind a TTL shutter)")
    for name, spec in profile.devices_of_type(LedSourceSpec).items():
        for led in spec.leds:
            if f"{name}.{led}" not in guarded:
                warnings.append(f"{name}.{led}: not on a DAQ digital line; the watchdog cannot switch it off")
    return warnings


class NiWatchdog:
    """The DAQ board's watchdog timer task (through the driver seam), created at the first arm and kept until close."""

    def __init__(self, plan: WatchdogPlan, driver: DaqDriver | None = None):
        self.plan = plan
        self.driver: DaqDriver = driver if driver is not None else NiDriver()
        self.timeout_ms = plan.timeout_ms
        self._task: WatchdogTimer | None = None
        self._armed = False
        self.expiries = 0  # expirations found (and cleared) since the rig was built

    @property
    def armed(self) -> bool:
        """True while the timer runs."""
        return self._armed

    def _create(self) -> WatchdogTimer:
        return self.driver.watchdog_timer(
            self.plan.device, TASK_NAME, self.plan.timeout_s,
            tuple(LineExpirationState(e.physical, e.high) for e in self.plan.lines),
            tuple(AnalogExpirationState(e.physical, e.volts) for e in self.plan.analog))

    def _timer(self) -> WatchdogTimer:
        """The timer task (it exists once armed)."""
        if self._task is None:
            raise RuntimeError("the watchdog timer has not been created (arm first)")
        return self._task

    def _clear_expiry(self) -> bool:
        """Clear an expired state (ours or one an earlier process left); True if there was one."""
        timer = self._timer()
        if not timer.expired:
            return False
        self.expiries += 1  # an expiry during a sweep was raised by feed(); this one happened while idle
        log.info("the DAQ watchdog had expired (its lines were forced to their safe states); clearing it")
        timer.clear_expiration()
        return True

    def arm(self) -> None:
        """Start the timer (or restart it), clearing an expired state first."""
        if not self.plan.expirations:
            return
        if self._task is None:
            self._task = self._create()
        if not self._armed:
            self._task.start()
            self._armed = True
        self._clear_expiry()
        self._timer().reset_timer()

    def feed(self) -> None:
        """Reset the timer; WatchdogExpired if it has expired since the last feed."""
        if not self._armed:
            return
        timer = self._timer()
        if timer.expired:
            raise WatchdogExpired(f"the DAQ watchdog expired (no feed for {self.timeout_ms:g} ms): the guarded "
                                  "lines were forced to their safe states")
        timer.reset_timer()

    def disarm(self) -> None:
        """Stop the timer; an expired state is cleared first so that the lines accept writes again."""
        if not self._armed:
            return
        try:
            self._clear_expiry()
        finally:
            self._armed = False
            self._timer().stop()

    def close(self) -> None:
        """Disarm and release the task."""
        if self._task is None:
            return
        try:
            self.disarm()
        finally:
            task, self._task = self._task, None
            task.close()
