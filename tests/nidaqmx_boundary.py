"""The nidaqmx boundary for tests: nidaqmx's real Python code runs down to its C interpreter, which is faked here.

nidaqmx (1.x) offers no public way to give a Task, System or WatchdogTask another interpreter: their
constructors take only `grpc_options`, and a fake gRPC device server would need nidaqmx's private
generated stubs. So, as in nidaqmx's own unit tests, the private `nidaqmx.utils._select_interpreter`
is replaced by one returning a `create_autospec(BaseInterpreter)`; this module is the only place that
names it (`install_interpreter`). Unit tests of the device and clock code do not come here: they use
a fake at our own driver seam (tests/test_ni_devices.py).
"""

from __future__ import annotations

from typing import Callable
from unittest import mock

import pytest
from nidaqmx._base_interpreter import BaseInterpreter
from nidaqmx.constants import ChannelType
from nidaqmx.errors import DaqNotFoundError

SELECT_INTERPRETER = "nidaqmx.utils._select_interpreter"  # private in nidaqmx; see the module docstring


def install_interpreter(monkeypatch: pytest.MonkeyPatch, select: Callable[..., object]) -> None:
    """Make every nidaqmx Task, System and WatchdogTask get its interpreter from `select`."""
    monkeypatch.setattr(SELECT_INTERPRETER, select)


def autospec_interpreter(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """Install and return an autospec of nidaqmx's interpreter (every call recorded, nothing reaches a driver)."""
    interp = mock.create_autospec(BaseInterpreter, instance=True)
    install_interpreter(monkeypatch, mock.Mock(return_value=interp))
    return interp


def install_missing_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """nidaqmx behaves as on a machine without NI-DAQmx: creating an interpreter raises DaqNotFoundError."""
    def missing(*args: object, **kwargs: object) -> None:
        raise DaqNotFoundError("Could not find an installation of NI-DAQmx.")

    install_interpreter(monkeypatch, missing)


@pytest.fixture
def interpreter(monkeypatch: pytest.MonkeyPatch) -> mock.Mock:
    """The autospec interpreter every nidaqmx Task and System gets."""
    return autospec_interpreter(monkeypatch)


# DAQmx attribute ids the nidaqmx Task code asks the interpreter for
CHANNEL_NAMES, WRITE_NUM_CHANS, DO_BOOLEANS_PER_CHAN, REGEN_MODE = 0x1273, 0x217E, 0x217F, 0x1453
WATCHDOG_EXPIRED = 0x21A8


class FakeDaqmx:
    """Answers the interpreter's queries like a driver would: channels per task, constant AI volts, a watchdog.

    A watchdog task expires only when a test calls `expire` (the board's timer is not simulated here);
    clearing its expiration (DAQmx Control Watchdog, clear expiration) resets it.
    """

    def __init__(self, interpreter: mock.Mock, ai_volts: dict[str, float] | None = None):
        self.interpreter = interpreter
        self.ai_volts = ai_volts or {}
        self.tasks: dict[str, dict] = {}
        it = interpreter
        it.create_task.side_effect = self._create
        it.get_task_attribute_string.side_effect = self._task_string
        it.create_ai_voltage_chan.side_effect = lambda h, phys, name, *a: self._chan(h, phys, name, "ai")
        it.create_ao_voltage_chan.side_effect = lambda h, phys, name, *a: self._chan(h, phys, name, "ao")
        it.create_do_chan.side_effect = lambda h, phys, name, *a: self._chan(h, phys, name, "do")
        it.internal_get_last_created_chan.side_effect = NotImplementedError
        it.get_read_attribute_uint32.side_effect = lambda h, attr: len(self.tasks[h]["chans"])
        it.get_write_attribute_uint32.side_effect = self._write_attribute
        it.get_chan_attribute_int32.side_effect = self._chan_type
        it.read_analog_f64.side_effect = self._read
        it.write_analog_f64.side_effect = lambda h, n, auto, timeout, layout, data: n
        it.write_digital_lines.side_effect = lambda h, n, auto, timeout, layout, data: n
        it.get_system_info_attribute_string.return_value = "Dev1"
        it.create_watchdog_timer_task_ex.side_effect = self._create_watchdog
        it.get_watchdog_attribute_bool.side_effect = self._watchdog_bool
        it.control_watchdog_task.side_effect = self._control_watchdog
        it.is_task_done.return_value = True

    def _create_watchdog(self, device: str, name: str, timeout: float):
        handle = f"handle-{name}-{len(self.tasks)}"
        self.tasks[handle] = {"name": name, "chans": [], "kind": "watchdog", "device": device, "timeout": timeout,
                              "expired": False}
        return handle, True

    def _watchdog_bool(self, handle: str, channel: str, attribute: int) -> bool:
        assert attribute == WATCHDOG_EXPIRED
        return self.tasks[handle]["expired"]

    def _control_watchdog(self, handle: str, action: int) -> None:
        from nidaqmx.constants import WDTTaskAction

        if action == WDTTaskAction.CLEAR_EXPIRATION.value:
            self.tasks[handle]["expired"] = False

    def expire(self, name: str = "spinerig-watchdog") -> None:
        """The board's watchdog timer runs out (as when nobody fed it for its timeout)."""
        self.tasks[self.handle(name)]["expired"] = True

    def _create(self, name: str):
        handle = f"handle-{name}-{len(self.tasks)}"
        self.tasks[handle] = {"name": name, "chans": []}
        return handle, True

    def _task_string(self, handle: str, attribute: int) -> str:
        task = self.tasks[handle]
        if attribute == CHANNEL_NAMES:
            return ",".join(name for name, _ in task["chans"])
        return task["name"]

    def _chan(self, handle: str, physical: str, name: str, kind: str) -> None:
        self.tasks[handle]["chans"].append((name or physical, physical))
        self.tasks[handle]["kind"] = kind

    def _write_attribute(self, handle: str, attribute: int) -> int:
        if attribute == DO_BOOLEANS_PER_CHAN:
            return 1  # one line per channel
        assert attribute == WRITE_NUM_CHANS
        return len(self.tasks[handle]["chans"])

    def _chan_type(self, handle: str, channel: str, attribute: int) -> int:
        kind = self.tasks[handle]["kind"]
        return {"ai": ChannelType.ANALOG_INPUT, "ao": ChannelType.ANALOG_OUTPUT,
                "do": ChannelType.DIGITAL_OUTPUT}[kind].value

    def _read(self, handle, n, timeout, fill_mode, data):
        for i, (_, physical) in enumerate(self.tasks[handle]["chans"]):
            data.reshape(len(self.tasks[handle]["chans"]), -1)[i, :] = self.ai_volts.get(physical, 0.0)
        return data, n

    def handle(self, name: str) -> str:
        """The handle of the last task created with this name."""
        return [h for h, t in self.tasks.items() if t["name"] == name][-1]

    def calls(self, method: str, handle: str | None = None) -> list[tuple]:
        """Arguments of every call of one interpreter method (optionally on one task)."""
        found = [c.args for c in getattr(self.interpreter, method).call_args_list]
        return [a for a in found if handle is None or a[0] == handle]


@pytest.fixture
def daqmx(interpreter) -> FakeDaqmx:
    """Telegraphs at VC (6.0 V) and gain 1 (2.0 V); amplifier primary at 0.1 V; PMTs at -0.5 V."""
    return FakeDaqmx(interpreter, {"Dev1/ai6": 6.0, "Dev1/ai7": 2.0, "Dev1/ai0": 0.1, "Dev1/ai1": -0.7,
                                   "Dev1/ai2": -0.25, "Dev1/ai3": -0.5})
