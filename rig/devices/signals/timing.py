"""The timing of one sweep as data: which task owns the sample clock, who follows it, the start order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from rig.devices.signals.addresses import counter_output_terminal, terminal

Role = Literal["ai", "ao", "do", "ctr"]


@dataclass(frozen=True)
class TaskTiming:
    """Sample clock, mode, buffer and start trigger of one task of a sweep."""

    role: Role
    clock_source: str  # "" means the task's own onboard clock
    rate_hz: float
    continuous: bool
    samples_per_channel: int  # finite: samples to generate/acquire; continuous: buffer size
    start_trigger: str | None = None
    regenerate: bool = False


@dataclass(frozen=True)
class CounterClock:
    """A counter dividing a timebase into the sample clock: pulse high/low widths in timebase ticks."""

    counter: str
    timebase: str
    high_ticks: int
    low_ticks: int


@dataclass(frozen=True)
class SweepTiming:
    """Every task of a sweep on one clock; `start_order` starts followers first and the master last."""

    master: Role
    tasks: dict[Role, TaskTiming]
    start_order: tuple[Role, ...]
    counter: CounterClock | None = None


def timebase_divisor(rate_hz: float, timebase_hz: float) -> int:
    """The integer divisor of the timebase that gives exactly rate_hz; ValueError when there is none."""
    if rate_hz <= 0:
        raise ValueError(f"sample rate must be positive (got {rate_hz:g} Hz)")
    exact = timebase_hz / rate_hz
    divisor = int(round(exact))
    if divisor < 2 or abs(exact - divisor) > 1e-6 * exact:
        low, high = timebase_hz / max(2, int(exact) + 1), timebase_hz / max(2, int(exact))
        raise ValueError(f"sample rate {rate_hz:g} Hz is not the {timebase_hz:g} Hz timebase divided by a whole "
                         f"number; the nearest exact rates are {low:.6g} Hz and {high:.6g} Hz")
    return divisor


def plan_sweep_timing(device: str, clock: Literal["ai", "counter"], roles: Iterable[Role], rate_hz: float,
                      n_samples: int, continuous: bool = False, counter: str = "ctr0",
                      timebase: str = "100MHzTimebase", timebase_hz: float = 100e6,
                      input_buffer_s: float = 1.0) -> SweepTiming:
    """Timing of every task of a sweep: one sample clock shared by AI, AO and DO, started by one task."""
    clocked: tuple[Role, ...] = ("ai", "ao", "do")
    present = [r for r in clocked if r in set(roles)]
    if not present:
        raise ValueError("a sweep needs at least one clocked input or output")
    if n_samples <= 0:
        raise ValueError(f"a sweep needs samples (got {n_samples})")
    divisor = timebase_divisor(rate_hz, timebase_hz)
    in_buffer = max(n_samples, int(rate_hz * input_buffer_s)) if continuous else n_samples

    def task(role: Role, source: str, trigger: str | None) -> TaskTiming:
        size = in_buffer if role == "ai" else n_samples
        return TaskTiming(role, source, rate_hz, continuous, size, trigger, regenerate=continuous and role != "ai")

    if clock == "counter":
        source = counter_output_terminal(device, counter)
        tasks: dict[Role, TaskTiming] = {r: task(r, source, None) for r in present}
        high = divisor // 2
        counter_clock = CounterClock(counter, terminal(device, timebase), high, divisor - high)
        tasks["ctr"] = TaskTiming("ctr", terminal(device, timebase), rate_hz, continuous, n_samples)
        return SweepTiming("ctr", tasks, tuple(present) + ("ctr",), counter_clock)
    master: Role = present[0]  # the AI when there are inputs: outputs follow the AI sample clock
    followers = [r for r in present if r != master]
    tasks = {master: task(master, "", None)}
    for role in followers:
        tasks[role] = task(role, terminal(device, f"{master}/SampleClock"), terminal(device, f"{master}/StartTrigger"))
    return SweepTiming(master, tasks, tuple(followers) + (master,))
