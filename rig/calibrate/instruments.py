"""What a calibration reads besides the DAQ: a power meter (read by software or typed in) and telegraph volts.

A simulated rig offers a power meter and its amplifiers' telegraph outputs in `Rig.extras`
("power_meter", "telegraphs"); a real rig's power meter is read by the operator, who types each reading.
"""

from __future__ import annotations

import threading
from typing import Callable, Literal, Protocol, runtime_checkable

from rig.engine.rig import Rig


@runtime_checkable
class PowerMeter(Protocol):
    """A power meter under the objective that software can read."""

    def read_mW(self) -> float:
        """One settled reading (mW)."""


@runtime_checkable
class TelegraphOutputs(Protocol):
    """Telegraph voltages and the amplifier's gain knob, as a simulated amplifier offers them."""

    def set_gain(self, amplifier: str, gain: float) -> None:
        """Turn the primary output gain."""

    def read_volts(self, address: str, n_samples: int = 100) -> float:
        """Mean volts on a telegraph input."""


class PowerReadings(Protocol):
    """Where the calibration gets a power reading for the light level just set."""

    method: str

    def reading_mW(self, what: str) -> float:
        """The power (mW) at the sample now; `what` says what is on (for a prompt)."""


class MeterReadings:
    """Readings from a power meter software can read (the simulated rig's)."""

    method = "power meter read by software"

    def __init__(self, meter: PowerMeter):
        self.meter = meter

    def reading_mW(self, what: str) -> float:
        """The meter's reading."""
        return self.meter.read_mW()


class TypedReadings:
    """Readings the operator types in from a power meter's display (`ask` shows a prompt, returns the text)."""

    method = "power meter readings typed in"

    def __init__(self, ask: Callable[[str], str]):
        self.ask = ask

    def reading_mW(self, what: str) -> float:
        """Ask until the operator types a finite number >= 0."""
        while True:
            text = self.ask(f"{what}: power meter reading (mW)? ").strip()
            try:
                value = float(text)
            except ValueError:
                continue
            if value >= 0 and value == value and value != float("inf"):
                return value


def rig_power_meter(rig: Rig) -> PowerMeter | None:
    """The rig's software-readable power meter, if it has one."""
    meter = rig.extras.get("power_meter")
    return meter if isinstance(meter, PowerMeter) else None


def rig_telegraphs(rig: Rig) -> TelegraphOutputs | None:
    """The rig's telegraph outputs, if the backend offers them as an object (the simulated rig)."""
    telegraphs = rig.extras.get("telegraphs")
    return telegraphs if isinstance(telegraphs, TelegraphOutputs) else None


class TelegraphStepper(Protocol):
    """Puts the amplifier in a mode / at a gain and reads a telegraph input."""

    method: str

    def set_mode(self, mode: Literal["VC", "CC", "I0"]) -> None:
        """Switch the clamp mode."""

    def set_gain(self, gain: float) -> None:
        """Turn the primary output gain."""

    def read_volts(self, address: str) -> float:
        """Mean volts on a telegraph input."""


def read_holding_light(rig: Rig, readings: PowerReadings, what: str) -> float:
    """A reading taken while static light is on: the DAQ clock keeps waiting (so the hardware watchdog is fed
    and does not cut the light) until the reading is in; a software meter is read at once."""
    if isinstance(readings, MeterReadings):
        return readings.reading_mW(what)
    result: list[float] = []
    failure: list[BaseException] = []

    def take() -> None:
        try:
            result.append(readings.reading_mW(what))
        except BaseException as exc:  # handed to the calling thread, which makes the rig safe
            failure.append(exc)

    worker = threading.Thread(target=take, name="power-meter-reading", daemon=True)
    worker.start()
    while worker.is_alive():
        rig.clock.wait(0.05, lambda: not worker.is_alive())
    if failure:
        raise failure[0]
    return result[0]
