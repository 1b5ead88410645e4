"""The thin NI-DAQmx layer: NiDriver, the NI side of the driver seam (rig.devices.driver); nidaqmx imported lazily."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import numpy as np

from rig.devices.driver import (
    AnalogChannel,
    AnalogExpirationState,
    DigitalChannel,
    LineExpirationState,
    WatchdogTimer,
)
from rig.devices.signals.timing import Role, SweepTiming

log = logging.getLogger(__name__)


class NiUnavailable(RuntimeError):
    """The nidaqmx package or the NI-DAQmx driver is missing; the message says how to fix it."""


def load_nidaqmx() -> ModuleType:
    """Import nidaqmx (only when real hardware is used)."""
    try:
        import nidaqmx
        import nidaqmx.stream_readers  # noqa: F401
        import nidaqmx.stream_writers  # noqa: F401
    except ImportError as exc:
        raise NiUnavailable(f"the nidaqmx package cannot be imported ({exc}): pip install nidaqmx") from None
    return nidaqmx


def _terminal_config(constants: Any, name: str) -> Any:
    return {"default": constants.TerminalConfiguration.DEFAULT, "rse": constants.TerminalConfiguration.RSE,
            "nrse": constants.TerminalConfiguration.NRSE, "diff": constants.TerminalConfiguration.DIFF,
            "pseudo_diff": constants.TerminalConfiguration.PSEUDO_DIFF}[name]


class SweepTasks:
    """The AI, AO, DO (and clock counter) tasks of one sweep, all on one sample clock."""

    def __init__(self, timing: SweepTiming, ai: list[AnalogChannel], ao: list[AnalogChannel],
                 do: list[DigitalChannel], terminal_config: str = "default", counter_physical: str | None = None):
        self.timing = timing
        self.ai, self.ao, self.do = ai, ao, do
        self.terminal_config = terminal_config
        self.counter_physical = counter_physical
        self.tasks: dict[Role, Any] = {}
        self._nidaqmx = load_nidaqmx()

    def configure(self) -> None:
        """Create every task: channels, sample clock, start trigger, regeneration."""
        ni = self._nidaqmx
        c = ni.constants
        try:
            for role, timing in self.timing.tasks.items():
                task = ni.Task(f"spinerig-{role}")
                self.tasks[role] = task
                if role == "ai":
                    for ch in self.ai:
                        task.ai_channels.add_ai_voltage_chan(
                            ch.physical, name_to_assign_to_channel=ch.name,
                            terminal_config=_terminal_config(c, self.terminal_config), min_val=ch.min_V, max_val=ch.max_V)
                elif role == "ao":
                    for ch in self.ao:
                        task.ao_channels.add_ao_voltage_chan(ch.physical, name_to_assign_to_channel=ch.name,
                                                             min_val=ch.min_V, max_val=ch.max_V)
                elif role == "do":
                    for dch in self.do:
                        task.do_channels.add_do_chan(dch.physical, name_to_assign_to_lines=dch.name,
                                                     line_grouping=c.LineGrouping.CHAN_PER_LINE)
                mode = c.AcquisitionType.CONTINUOUS if timing.continuous else c.AcquisitionType.FINITE
                if role == "ctr":
                    clock = self.timing.counter
                    assert clock is not None and self.counter_physical is not None
                    task.co_channels.add_co_pulse_chan_ticks(
                        self.counter_physical, source_terminal=clock.timebase, name_to_assign_to_channel="sweep_clock",
                        idle_state=c.Level.LOW, initial_delay=2, low_ticks=clock.low_ticks, high_ticks=clock.high_ticks)
                    task.timing.cfg_implicit_timing(sample_mode=mode, samps_per_chan=timing.samples_per_channel)
                    continue
                task.timing.cfg_samp_clk_timing(timing.rate_hz, source=timing.clock_source, active_edge=c.Edge.RISING,
                                                sample_mode=mode, samps_per_chan=timing.samples_per_channel)
                if timing.start_trigger is not None:
                    task.triggers.start_trigger.cfg_dig_edge_start_trig(timing.start_trigger, trigger_edge=c.Edge.RISING)
                if timing.regenerate:
                    task.out_stream.regen_mode = c.RegenerationMode.ALLOW_REGENERATION
        except Exception:
            self.close()
            raise

    def write(self, ao: np.ndarray | None, do: np.ndarray | None) -> None:
        """Load the output buffers: ao (n_ao, n) volts, do (n_do, n) booleans; nothing starts."""
        from nidaqmx.stream_writers import AnalogMultiChannelWriter

        if ao is not None and "ao" in self.tasks:
            writer = AnalogMultiChannelWriter(self.tasks["ao"].out_stream, auto_start=False)
            writer.write_many_sample(np.ascontiguousarray(ao, dtype=np.float64))
        if do is not None and "do" in self.tasks:
            data = np.asarray(do, dtype=bool)
            self.tasks["do"].write(data[0] if data.shape[0] == 1 else data, auto_start=False)

    def start(self) -> None:
        """Start the followers, then the master: the master's first clock edge starts everything."""
        for role in self.timing.start_order:
            self.tasks[role].start()

    def read(self, n_samples: int, timeout_s: float) -> np.ndarray:
        """Block until n_samples of every AI channel are in; returns (n_ai, n_samples) volts."""
        from nidaqmx.stream_readers import AnalogMultiChannelReader

        buffer = np.zeros((len(self.ai), n_samples), dtype=np.float64)
        reader = AnalogMultiChannelReader(self.tasks["ai"].in_stream)
        got = reader.read_many_sample(buffer, n_samples, timeout_s)
        if got != n_samples:
            raise RuntimeError(f"DAQ returned {got} of {n_samples} samples")
        return buffer

    def outputs_done(self) -> bool:
        """True once every finite output task has generated all its samples."""
        return all(self.tasks[role].is_task_done() for role in ("ao", "do", "ctr") if role in self.tasks)

    def stop(self) -> None:
        """Stop the master first (no more clock edges), then the followers."""
        for role in reversed(self.timing.start_order):
            if role in self.tasks:
                self.tasks[role].stop()

    def close(self) -> None:
        """Release every task; one failing close never skips the others."""
        for role, task in list(self.tasks.items()):
            try:
                task.close()
            except Exception:  # keep closing the rest: their channels must be released
                log.exception("closing the %s task failed", role)
        self.tasks.clear()


class ExposureClockedLines:
    """Digital lines (LEDs) that step once per camera frame, clocked by the camera's exposure-out terminal."""

    def __init__(self, lines: list[DigitalChannel], terminal: str, n_frames: int, max_rate_hz: float):
        self._nidaqmx = load_nidaqmx()
        self.lines, self.terminal, self.n_frames, self.max_rate_hz = lines, terminal, n_frames, max_rate_hz
        self.task: Any = None

    def configure(self, pattern: np.ndarray) -> None:
        """Create the task (finite, one sample per exposure edge) and load the per-frame pattern."""
        c = self._nidaqmx.constants
        self.task = self._nidaqmx.Task("spinerig-led")
        try:
            for line in self.lines:
                self.task.do_channels.add_do_chan(line.physical, name_to_assign_to_lines=line.name,
                                                  line_grouping=c.LineGrouping.CHAN_PER_LINE)
            self.task.timing.cfg_samp_clk_timing(self.max_rate_hz, source=self.terminal, active_edge=c.Edge.RISING,
                                                 sample_mode=c.AcquisitionType.FINITE, samps_per_chan=self.n_frames)
            data = np.asarray(pattern, dtype=bool)
            self.task.write(data[0] if data.shape[0] == 1 else data, auto_start=False)
        except Exception:
            self.close()
            raise

    def start(self) -> None:
        """Arm: the lines wait for the camera's first exposure edge."""
        self.task.start()

    def stop(self) -> None:
        """Stop the task."""
        if self.task is not None:
            self.task.stop()

    def close(self) -> None:
        """Release the task."""
        if self.task is not None:
            task, self.task = self.task, None
            task.close()


class NiDriver:
    """NI-DAQmx behind the driver seam: every call goes to nidaqmx (imported on first use)."""

    def write_analog(self, channel: AnalogChannel, volts: float) -> None:
        """Drive one AO channel to a constant voltage (an on-demand task, started on write)."""
        ni = load_nidaqmx()
        with ni.Task("spinerig-static-ao") as task:
            task.ao_channels.add_ao_voltage_chan(channel.physical, name_to_assign_to_channel=channel.name,
                                                 min_val=channel.min_V, max_val=channel.max_V)
            task.write(float(volts), auto_start=True)

    def write_digital(self, channel: DigitalChannel, level: bool) -> None:
        """Drive one DO line high or low (an on-demand task)."""
        ni = load_nidaqmx()
        with ni.Task("spinerig-static-do") as task:
            task.do_channels.add_do_chan(channel.physical, name_to_assign_to_lines=channel.name,
                                         line_grouping=ni.constants.LineGrouping.CHAN_PER_LINE)
            task.write(bool(level), auto_start=True)

    def read_analog(self, channel: AnalogChannel, n_samples: int, rate_hz: float, terminal_config: str = "default",
                    timeout_s: float = 2.0) -> np.ndarray:
        """A short finite AI recording of one channel (telegraphs, doctor checks); returns volts."""
        ni = load_nidaqmx()
        c = ni.constants
        with ni.Task("spinerig-static-ai") as task:
            task.ai_channels.add_ai_voltage_chan(channel.physical, name_to_assign_to_channel=channel.name,
                                                 terminal_config=_terminal_config(c, terminal_config),
                                                 min_val=channel.min_V, max_val=channel.max_V)
            task.timing.cfg_samp_clk_timing(rate_hz, sample_mode=c.AcquisitionType.FINITE, samps_per_chan=n_samples)
            return np.asarray(task.read(number_of_samples_per_channel=n_samples, timeout=timeout_s), dtype=np.float64)

    def sweep_tasks(self, timing: SweepTiming, ai: list[AnalogChannel], ao: list[AnalogChannel],
                    do: list[DigitalChannel], terminal_config: str = "default",
                    counter_physical: str | None = None) -> SweepTasks:
        """Create and configure the tasks of one sweep."""
        tasks = SweepTasks(timing, ai, ao, do, terminal_config, counter_physical)
        tasks.configure()
        return tasks

    def exposure_clocked_lines(self, lines: list[DigitalChannel], terminal: str, pattern: np.ndarray,
                               max_rate_hz: float) -> ExposureClockedLines:
        """A finite DO task clocked by a PFI terminal, loaded with one sample per edge."""
        task = ExposureClockedLines(lines, terminal, int(np.shape(pattern)[1]), max_rate_hz)
        task.configure(pattern)
        return task

    def watchdog_timer(self, device: str, task_name: str, timeout_s: float,
                       lines: tuple[LineExpirationState, ...],
                       analog: tuple[AnalogExpirationState, ...]) -> WatchdogTimer:
        """A nidaqmx.system.WatchdogTask with its DO (and AO) expiration states configured."""
        ni = load_nidaqmx()
        from nidaqmx.types import AOExpirationState, DOExpirationState

        c = ni.constants
        task = ni.system.WatchdogTask(device, task_name, timeout=timeout_s)
        try:
            if lines:
                task.cfg_watchdog_do_expir_states([DOExpirationState(e.physical, c.Level.HIGH if e.high else
                                                                     c.Level.LOW) for e in lines])
            if analog:
                task.cfg_watchdog_ao_expir_states([AOExpirationState(e.physical, e.volts,
                                                                     c.WatchdogAOExpirState.VOLTAGE) for e in analog])
        except Exception:
            task.close()
            raise
        timer: WatchdogTimer = task
        return timer
