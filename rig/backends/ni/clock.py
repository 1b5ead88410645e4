"""NiDaqClock: the SweepClock of a real rig; one NI sample clock for every AO, AI and DO of a sweep."""

from __future__ import annotations

import logging
import time
from typing import Callable, Mapping

import numpy as np

from rig.backends.ni.driver import NiDriver
from rig.backends.ni.watchdog import NiWatchdog, WatchdogPlan, plan_watchdog
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.bus import Mode
from rig.devices.channel_map import AmplifierState, ChannelMap
from rig.devices.driver import AnalogChannel, ClockedLines, DaqDriver, SweepTaskGroup
from rig.devices.signals.timing import Role, plan_sweep_timing
from rig.devices.signals.ttl import led_states_per_frame
from rig.hal.watchdog import Watchdog, WatchdogExpired

log = logging.getLogger(__name__)


class NiDaqClock:
    """Executes SweepPlans on NI-DAQmx: finite sweeps, or continuous regeneration for live scanning.

    Like the simulated DAQ, outputs hold their last value after a sweep: `held` records it in
    the channel's unit (NaN when a sweep was cut short and the held value is unknown). Every call to
    the board goes through `driver` (rig.devices.driver.DaqDriver; NiDriver by default), and the
    device classes (rig.devices) drive it as their DeviceBus.

    The hardware watchdog is armed before a sweep's outputs move (in `load`), fed in the
    read/wait loops, and disarmed once every guarded line is known to hold its safe value.
    """

    switches_amplifier_mode = False  # the amplifier is switched in MultiClamp Commander, not by the DAQ

    def __init__(self, profile: HardwareProfile, channels: ChannelMap, watchdog: Watchdog | None = None,
                 watchdog_plan: WatchdogPlan | None = None, driver: DaqDriver | None = None):
        self.profile = profile
        self.channels = channels
        self.driver: DaqDriver = driver if driver is not None else NiDriver()
        self.watchdog_plan = watchdog_plan or plan_watchdog(profile, channels)
        self.watchdog: Watchdog = watchdog if watchdog is not None else NiWatchdog(self.watchdog_plan, self.driver)
        self.held: dict[str, float] = {n: float("nan") for n, c in channels.channels.items()
                                       if c.info.direction == "out"}
        self._tasks: SweepTaskGroup | None = None
        self._led_task: ClockedLines | None = None
        self._plan: SweepPlan | None = None
        self._inputs: list[str] = []
        self._outputs: list[str] = []
        self._position = 0
        self._continuous = False
        self._running = False

    # ----- SweepClock -------------------------------------------------------------------
    def load(self, plan: SweepPlan, continuous: bool = False) -> None:
        """Create the sweep's tasks on one sample clock and load every output buffer; nothing moves yet."""
        if self._tasks is not None:
            self.stop()
        unknown = [c for c in (*plan.outputs, *plan.inputs) if c not in self.channels.channels]
        if unknown:
            raise ValueError(f"channels not wired to the NI DAQ: {', '.join(sorted(unknown))}")
        self._outputs = list(plan.outputs)
        self._inputs = list(plan.inputs)
        self.watchdog.arm()  # before any output can move; clears an expiry left by an earlier sweep or process
        ao = [c for c in self._outputs if self.channels.channels[c].io_type == "ao"]
        exposure_clocked = self._exposure_clocked_leds(plan)
        do = [c for c in self._outputs if self.channels.channels[c].io_type == "do" and c not in exposure_clocked]
        try:
            tasks, leds = self._configure(plan, continuous, ao, do, exposure_clocked)
        except Exception:
            self._disarm_if_safe({})  # nothing moved: the lines hold what they held
            raise
        self._tasks, self._plan, self._position, self._continuous = tasks, plan, 0, continuous
        self._led_task = leds

    def _configure(self, plan: SweepPlan, continuous: bool, ao: list[str], do: list[str],
                   exposure_clocked: list[str]) -> tuple[SweepTaskGroup, ClockedLines | None]:
        """Create the sweep's tasks and load their buffers (closing them again if anything fails)."""
        ao_data = np.stack([self.channels.to_hardware(c, plan.outputs[c]) for c in ao]) if ao else None
        do_data = np.stack([self.channels.to_hardware(c, plan.outputs[c]) for c in do]) if do else None
        t = self.profile.daq.timing
        present: dict[Role, bool] = {"ai": bool(self._inputs), "ao": bool(ao), "do": bool(do)}
        roles = [role for role, used in present.items() if used]
        timing = plan_sweep_timing(self.profile.daq.device, t.clock, roles, plan.sample_rate_hz, plan.n_samples,
                                   continuous, t.counter, t.timebase, t.timebase_hz)
        tasks = self.driver.sweep_tasks(
            timing, [self.channels.channels[c].analog_line() for c in self._inputs],
            [self.channels.channels[c].analog_line() for c in ao],
            [self.channels.channels[c].digital_line() for c in do],
            t.ai_terminal_config, f"{self.profile.daq.device}/{t.counter}")
        leds = None
        try:
            tasks.write(ao_data, do_data)
            if exposure_clocked:
                leds = self._load_exposure_clocked(plan, exposure_clocked)
        except Exception:
            tasks.close()
            raise
        return tasks, leds

    def _exposure_clocked_leds(self, plan: SweepPlan) -> list[str]:
        """LED channels of this plan whose source is clocked by the camera's exposure-out."""
        out = []
        for name, spec in self.profile.devices.items():
            if spec.kind == "led_source" and spec.clock == "camera_exposure":
                out += [f"{name}.{led}" for led in spec.leds if f"{name}.{led}" in plan.outputs]
        return out

    def _load_exposure_clocked(self, plan: SweepPlan, channels: list[str]) -> ClockedLines:
        """One sample per frame for the exposure-clocked LEDs, from the plan's LED waveforms at each trigger."""
        if plan.camera is None:
            raise ValueError(f"{', '.join(channels)} are clocked by the camera's exposure, but the plan has no camera")
        pattern = led_states_per_frame(plan.outputs[plan.camera.trigger_channel], {c: plan.outputs[c] for c in channels})
        source = self.profile.led_source(self.channels.channels[channels[0]].info.device)
        camera = self.profile.camera(plan.camera.camera)
        if source.exposure_out_terminal is None:  # refused by the profile schema; kept for the type checker
            raise ValueError(f"{', '.join(channels)}: clock: camera_exposure needs exposure_out_terminal")
        return self.driver.exposure_clocked_lines(
            [self.channels.channels[c].digital_line() for c in channels],
            source.exposure_out_terminal, pattern, camera.max_frame_rate_hz)

    def start(self) -> None:
        """Start followers, then the master clock."""
        if self._tasks is None:
            raise RuntimeError("start() before load()")
        if self._led_task is not None:
            self._led_task.start()  # armed before the master clock: it waits for the first exposure edge
        self._tasks.start()
        self._running = True

    def _chunk_samples(self, plan: SweepPlan) -> int:
        return max(1, int(round(self.profile.daq.timing.read_chunk_ms * 1e-3 * plan.sample_rate_hz)))

    def read(self) -> Mapping[str, np.ndarray] | None:
        """The next chunk of every input in its unit; None once a finite sweep has been read completely."""
        plan, tasks = self._plan, self._tasks
        if plan is None or tasks is None or not self._running:
            return None
        self.watchdog.feed()
        remaining = plan.n_samples - self._position
        if not self._continuous and remaining <= 0:
            self._wait_outputs(tasks, 1.0 + plan.duration_s)
            self._sweep_complete(plan)
            return None
        n = self._chunk_samples(plan) if self._continuous else min(self._chunk_samples(plan), remaining)
        if not self._inputs:  # outputs only: wait for them, then the sweep is done
            self._wait_outputs(tasks, 5.0 + plan.duration_s)
            self._position = plan.n_samples
            self._sweep_complete(plan)
            return None
        volts = tasks.read(n, timeout_s=5.0 + n / plan.sample_rate_hz)
        self._position += n
        return {c: self.channels.from_hardware(c, volts[i]) for i, c in enumerate(self._inputs)}

    def _wait_outputs(self, tasks: SweepTaskGroup, timeout_s: float) -> None:
        """Wait for the finite outputs in short slices, feeding the watchdog (a long sweep is not a hang)."""
        deadline = time.monotonic() + timeout_s
        while not tasks.outputs_done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the outputs did not finish within {timeout_s:g} s")
            self.watchdog.feed()
            time.sleep(min(0.02, self.watchdog.timeout_ms / 5000.0))

    def _sweep_complete(self, plan: SweepPlan) -> None:
        """Every sample is out: outputs hold their last values; disarm if that leaves every guarded line safe."""
        self._disarm_if_safe({c: float(plan.outputs[c][-1]) for c in plan.outputs})

    def _disarm_if_safe(self, held: Mapping[str, float]) -> None:
        if self.watchdog_plan.is_safe({**self.held, **held}):
            self.watchdog.disarm()

    def stop(self) -> None:
        """Stop and release the tasks; outputs hold their last value."""
        tasks, plan, leds = self._tasks, self._plan, self._led_task
        self._tasks, self._plan, self._running, self._led_task = None, None, False, None
        if tasks is None or plan is None:
            return
        try:
            tasks.stop()
            if leds is not None:
                leds.stop()
        finally:
            tasks.close()
            if leds is not None:
                leds.close()
            complete = not self._continuous and self._position >= plan.n_samples
            for c in self._outputs:
                self.held[c] = float(plan.outputs[c][-1]) if complete else float("nan")
            self._disarm_if_safe({})

    def write_static(self, channel: str, value: float) -> None:
        """Drive one output channel to a constant value in its unit (never during a sweep)."""
        if self._running:
            raise RuntimeError(f"static write to {channel} while a sweep is running")
        ch = self.channels.channels[channel]
        level = self.channels.to_hardware(channel, value)[0]
        try:
            self.watchdog.feed()
        except WatchdogExpired:  # the lines ignore writes until the expiry is cleared; the program is alive again
            log.warning("the DAQ watchdog expired during the last sweep; disarming it to make the rig safe")
            self.watchdog.disarm()
        ch.write_static(self.driver, level)
        self.held[channel] = float(value)
        self._disarm_if_safe({})

    def read_static_volts(self, address: str, n_samples: int = 100, rate_hz: float = 10_000.0) -> float:
        """Mean volts of a short recording of an AI address outside a sweep (telegraphs)."""
        if self._running:
            raise RuntimeError(f"static read of {address} while a sweep is running")
        ch = AnalogChannel(address.lstrip("/"), "", -10.0, 10.0)
        return float(np.mean(self.driver.read_analog(ch, n_samples, rate_hz,
                                                     self.profile.daq.timing.ai_terminal_config)))

    # ----- DeviceBus (rig.devices.bus) -------------------------------------------------
    def device_outputs(self, device: str) -> list[str]:
        """The DAQ-wired output channels of one device."""
        return self.channels.device_outputs(device)

    def amplifier_state(self, device: str) -> AmplifierState:
        """Mode and gains this amplifier's channels are scaled with."""
        return self.channels.amplifiers[device]

    def set_amplifier_mode(self, device: str, mode: Mode) -> None:
        """Scale this amplifier's channels for a mode (the amplifier itself is switched in its own software)."""
        self.channels.amplifiers[device].mode = mode

    def wait(self, duration_s: float, should_stop: Callable[[], bool]) -> None:
        """Let wall-clock time pass between sweeps, checking for a stop request every 50 ms."""
        end = time.monotonic() + duration_s
        step_s = min(0.05, self.watchdog.timeout_ms / 5000.0)
        while not should_stop():
            self.watchdog.feed()
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(step_s, left))

    def close(self) -> None:
        """Stop any sweep and release the watchdog task (call after the rig was made safe)."""
        self.stop()
        self.watchdog.close()
