"""A fake DAQ board at our driver seam (rig.devices.driver.DaqDriver), for tests of the device and clock code."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rig.devices.driver import AnalogChannel, AnalogExpirationState, DigitalChannel, LineExpirationState


@dataclass
class FakeTimer:
    """The board's watchdog timer: expires only when a test says so."""

    lines: tuple[LineExpirationState, ...]
    log: list[str]
    expired: bool = False

    def start(self) -> None:
        self.log.append("watchdog.start")

    def reset_timer(self) -> None:
        self.log.append("watchdog.feed")

    def clear_expiration(self) -> None:
        self.log.append("watchdog.clear")
        self.expired = False

    def stop(self) -> None:
        self.log.append("watchdog.stop")

    def close(self) -> None:
        self.log.append("watchdog.close")


@dataclass
class FakeTasks:
    """The clocked tasks of one sweep: what was loaded, and in which order they ran."""

    ai: list[AnalogChannel]
    ao: list[AnalogChannel]
    do: list[DigitalChannel]
    log: list[str]
    ai_volts: dict[str, float]
    loaded: dict[str, np.ndarray] = field(default_factory=dict)

    def write(self, ao: np.ndarray | None, do: np.ndarray | None) -> None:
        for rows, lines in ((ao, self.ao), (do, self.do)):
            if rows is not None:
                self.loaded.update({line.physical: row for line, row in zip(lines, rows)})

    def start(self) -> None:
        self.log.append("sweep.start")

    def read(self, n_samples: int, timeout_s: float) -> np.ndarray:
        return np.stack([np.full(n_samples, self.ai_volts.get(c.physical, 0.0)) for c in self.ai])

    def outputs_done(self) -> bool:
        return True

    def stop(self) -> None:
        self.log.append("sweep.stop")

    def close(self) -> None:
        self.log.append("sweep.close")


class FakeBoard:
    """A DaqDriver that keeps each line's last level (as a board holds it) and logs every call."""

    def __init__(self, ai_volts: dict[str, float] | None = None):
        self.ai_volts = ai_volts or {}
        self.levels: dict[str, float | bool] = {}
        self.log: list[str] = []
        self.timer: FakeTimer | None = None
        self.sweeps: list[FakeTasks] = []

    def write_analog(self, channel: AnalogChannel, volts: float) -> None:
        assert channel.min_V - 1e-12 <= volts <= channel.max_V + 1e-12, "the seam never gets volts beyond a range"
        self.levels[channel.physical] = volts
        self.log.append(f"ao {channel.physical}")

    def write_digital(self, channel: DigitalChannel, level: bool) -> None:
        self.levels[channel.physical] = level
        self.log.append(f"do {channel.physical}")

    def read_analog(self, channel: AnalogChannel, n_samples: int, rate_hz: float,
                    terminal_config: str = "default") -> np.ndarray:
        return np.full(n_samples, self.ai_volts.get(channel.physical, 0.0))

    def sweep_tasks(self, timing, ai, ao, do, terminal_config="default", counter_physical=None) -> FakeTasks:
        tasks = FakeTasks(ai, ao, do, self.log, self.ai_volts)
        self.sweeps.append(tasks)
        return tasks

    def exposure_clocked_lines(self, lines, terminal, pattern, max_rate_hz):
        raise AssertionError("not used by these profiles")

    def watchdog_timer(self, device: str, task_name: str, timeout_s: float,
                       lines: tuple[LineExpirationState, ...],
                       analog: tuple[AnalogExpirationState, ...]) -> FakeTimer:
        self.timer = FakeTimer(lines, self.log)
        return self.timer


VC_GAIN_1 = {"Dev1/ai6": 6.0, "Dev1/ai7": 2.0}  # telegraphs: VC, primary gain 1
CC_GAIN_1 = {"Dev1/ai6": 2.0, "Dev1/ai7": 2.0}
