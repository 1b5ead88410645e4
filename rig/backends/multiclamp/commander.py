"""MultiClamp 700A/B Commander through its message API (AxMultiClampMsg.dll, ctypes, Windows; loaded lazily).

Commander is the only place a MultiClamp 700B reports its mode, output signals and gains to software (a 700B rig
rarely wires the telegraph outputs to the DAQ). The API (MCCMSG_*, version 1.0.0.7 of Axon's header) returns BOOL
and writes results and an error code through pointers; every call here checks both.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int, c_uint, c_void_p
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

API_VERSION = b"1.0.0.7"
DLL_NAME = "AxMultiClampMsg.dll"
# Where Commander's installer puts the DLL (32- and 64-bit installs).
DEFAULT_DLL_DIRS = (r"C:\Program Files\Molecular Devices\MultiClamp 700B Commander\3rd Party Support\AxMultiClampMsg",
                    r"C:\Program Files (x86)\Molecular Devices\MultiClamp 700B Commander\3rd Party Support\AxMultiClampMsg",
                    r"C:\Axon\MultiClamp 700B Commander\3rd Party Support\AxMultiClampMsg")
NO_ERROR = 6000
ERRORS = {6001: "out of memory", 6002: "MultiClamp Commander is not running", 6003: "invalid DLL handle",
          6004: "invalid parameter", 6005: "message timed out", 6006: "Commander command failed"}
SERIAL_SIZE = 16
MODES: dict[int, Literal["VC", "CC", "I0"]] = {0: "VC", 1: "CC", 2: "I0"}
MODELS = {0: "MultiClamp 700A", 1: "MultiClamp 700B"}
# Primary signal IDs (MCCMSG_PRI_SIGNAL_*): what the scaled output carries.
PRIMARY_SIGNALS = {0: "VC membrane current", 1: "VC membrane potential", 2: "VC pipette potential",
                   3: "VC 100x AC membrane potential", 4: "VC external command potential", 5: "VC auxiliary 1",
                   6: "VC auxiliary 2", 7: "CC membrane potential", 8: "CC membrane current",
                   9: "CC command current", 10: "CC 100x AC membrane potential", 11: "CC external command current",
                   12: "CC auxiliary 1", 13: "CC auxiliary 2"}
# The primary signal our scaling assumes in each mode: membrane current in VC, membrane potential in CC.
EXPECTED_PRIMARY = {"VC": 0, "CC": 7}

_HANDLE = c_void_p
_PINT, _PUINT, _PDOUBLE = POINTER(c_int), POINTER(c_uint), POINTER(c_double)
# name -> (restype, argtypes), as AxMultiClampMsg.h declares them (BOOL is an int; HMCCMSG a handle).
PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "MCCMSG_CheckAPIVersion": (c_bool, [c_char_p]),
    "MCCMSG_CreateObject": (_HANDLE, [_PINT]),
    "MCCMSG_DestroyObject": (None, [_HANDLE]),
    "MCCMSG_SetTimeOut": (c_bool, [_HANDLE, c_uint, _PINT]),
    "MCCMSG_FindFirstMultiClamp": (c_bool, [_HANDLE, _PUINT, c_char_p, c_uint, _PUINT, _PUINT, _PUINT, _PINT]),
    "MCCMSG_FindNextMultiClamp": (c_bool, [_HANDLE, _PUINT, c_char_p, c_uint, _PUINT, _PUINT, _PUINT, _PINT]),
    "MCCMSG_SelectMultiClamp": (c_bool, [_HANDLE, c_uint, c_char_p, c_uint, c_uint, c_uint, _PINT]),
    "MCCMSG_GetMode": (c_bool, [_HANDLE, _PUINT, _PINT]),
    "MCCMSG_GetPrimarySignal": (c_bool, [_HANDLE, _PUINT, _PINT]),
    "MCCMSG_GetPrimarySignalGain": (c_bool, [_HANDLE, _PDOUBLE, _PINT]),
    "MCCMSG_GetPrimarySignalLPF": (c_bool, [_HANDLE, _PDOUBLE, _PINT]),
    "MCCMSG_GetSecondarySignal": (c_bool, [_HANDLE, _PUINT, _PINT]),
    "MCCMSG_GetSecondarySignalGain": (c_bool, [_HANDLE, _PDOUBLE, _PINT]),
}


class CommanderError(RuntimeError):
    """Commander could not be reached or refused a message."""


@dataclass(frozen=True)
class CommanderChannel:
    """One amplifier channel that Commander offers (a 700B is found by serial number and channel 1 or 2)."""

    model: int
    serial: str
    com_port: int
    device: int
    channel: int

    @property
    def description(self) -> str:
        """'MultiClamp 700B 00834001, channel 1'."""
        return f"{MODELS.get(self.model, f'model {self.model}')} {self.serial or '?'}, channel {self.channel}"


@dataclass(frozen=True)
class CommanderReading:
    """What Commander says one channel is set to."""

    mode: Literal["VC", "CC", "I0"]
    primary_signal: int
    primary_gain: float
    primary_lpf_hz: float
    secondary_signal: int
    secondary_gain: float

    @property
    def primary_signal_name(self) -> str:
        """The primary output's signal, in Commander's words."""
        return PRIMARY_SIGNALS.get(self.primary_signal, f"signal {self.primary_signal}")


def load_library(dll_path: str | None = None) -> Any:
    """AxMultiClampMsg.dll (Windows only), from `dll_path` or Commander's install folders; CommanderError if absent."""
    if sys.platform != "win32":
        raise CommanderError("MultiClamp Commander's message API is a Windows DLL; this is " + sys.platform)
    candidates = [Path(dll_path)] if dll_path else [Path(d) / DLL_NAME for d in DEFAULT_DLL_DIRS]
    for path in candidates:
        if path.is_file():
            os.add_dll_directory(str(path.parent))  # Windows-only API
            return ctypes.WinDLL(str(path))
    raise CommanderError(f"{DLL_NAME} not found (looked in {', '.join(str(p.parent) for p in candidates)}); "
                         "install MultiClamp 700B Commander or set the profile's commander.dll_path")


def bind(library: Any) -> Any:
    """Declare every function's argument and result types on a loaded library (or a stand-in with the same names)."""
    for name, (restype, argtypes) in PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


class Commander:
    """A connection to MultiClamp Commander through its message API."""

    def __init__(self, library: Any, timeout_ms: int = 3000):
        self._lib = bind(library)
        if not self._lib.MCCMSG_CheckAPIVersion(API_VERSION):
            raise CommanderError(f"{DLL_NAME} does not implement API version {API_VERSION.decode()}")
        error = c_int(NO_ERROR)
        handle = self._lib.MCCMSG_CreateObject(ctypes.byref(error))
        if not handle or error.value != NO_ERROR:
            raise CommanderError(f"cannot create the Commander message object: {_describe(error.value)}")
        self._handle = handle
        self._selected: CommanderChannel | None = None
        self._call("MCCMSG_SetTimeOut", c_uint(timeout_ms))

    def close(self) -> None:
        """Release the message object."""
        if self._handle:
            self._lib.MCCMSG_DestroyObject(self._handle)
            self._handle = None

    def __enter__(self) -> "Commander":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, name: str, *args: Any) -> None:
        error = c_int(NO_ERROR)
        ok = getattr(self._lib, name)(self._handle, *args, ctypes.byref(error))
        if not ok or error.value != NO_ERROR:
            raise CommanderError(f"{name}: {_describe(error.value)}")

    def channels(self) -> list[CommanderChannel]:
        """Every amplifier channel Commander offers (empty when none is open)."""
        found = []
        model, com, device, channel = c_uint(), c_uint(), c_uint(), c_uint()
        serial = ctypes.create_string_buffer(SERIAL_SIZE)
        error = c_int(NO_ERROR)
        args = (ctypes.byref(model), serial, c_uint(SERIAL_SIZE), ctypes.byref(com), ctypes.byref(device),
                ctypes.byref(channel), ctypes.byref(error))
        more = self._lib.MCCMSG_FindFirstMultiClamp(self._handle, *args)
        while more:
            found.append(CommanderChannel(model.value, serial.value.decode("ascii", "replace"), com.value,
                                          device.value, channel.value))
            more = self._lib.MCCMSG_FindNextMultiClamp(self._handle, *args)
        return found

    def select(self, serial: str | None, channel: int) -> CommanderChannel:
        """Select the channel of the amplifier with this serial (None: the only 700B/700A found)."""
        offered = self.channels()
        matches = [c for c in offered if c.channel == channel and (serial is None or c.serial == serial)]
        if len(matches) != 1:
            listed = "; ".join(c.description for c in offered) or "none (is Commander running?)"
            which = f"serial {serial}" if serial else "the only amplifier"
            raise CommanderError(f"Commander offers no single channel {channel} of {which}: offered {listed}")
        c = matches[0]
        self._call("MCCMSG_SelectMultiClamp", c_uint(c.model), c.serial.encode("ascii"), c_uint(c.com_port),
                   c_uint(c.device), c_uint(c.channel))
        self._selected = c
        return c

    def _uint(self, name: str) -> int:
        value = c_uint()
        self._call(name, ctypes.byref(value))
        return int(value.value)

    def _double(self, name: str) -> float:
        value = c_double()
        self._call(name, ctypes.byref(value))
        return float(value.value)

    def read(self) -> CommanderReading:
        """Mode, output signals, gains and filter of the selected channel, as Commander has them now."""
        if self._selected is None:
            raise CommanderError("no amplifier channel selected")
        mode_id = self._uint("MCCMSG_GetMode")
        if mode_id not in MODES:
            raise CommanderError(f"MCCMSG_GetMode returned an unknown mode {mode_id}")
        return CommanderReading(MODES[mode_id], self._uint("MCCMSG_GetPrimarySignal"),
                                self._double("MCCMSG_GetPrimarySignalGain"), self._double("MCCMSG_GetPrimarySignalLPF"),
                                self._uint("MCCMSG_GetSecondarySignal"), self._double("MCCMSG_GetSecondarySignalGain"))


def _describe(code: int) -> str:
    return ERRORS.get(code, f"error {code}")


def check_reading(reading: CommanderReading, amplifier: str, mode: str, previous: CommanderReading | None,
                  follow_gain_changes: bool) -> list[str]:
    """Why a sweep in `mode` must not start with the amplifier as Commander reports it (empty when it may)."""
    problems = []
    if reading.mode != mode:
        problems.append(f"{amplifier}: Commander reports {reading.mode} but the sweep needs {mode}; switch the mode "
                        "in MultiClamp Commander")
    elif reading.primary_signal != EXPECTED_PRIMARY[mode]:
        problems.append(f"{amplifier}: the primary output carries {reading.primary_signal_name}, the sweep needs "
                        f"{PRIMARY_SIGNALS[EXPECTED_PRIMARY[mode]]}; set it in Commander")
    if previous is not None and not follow_gain_changes and previous.mode == reading.mode and \
            previous.primary_gain != reading.primary_gain:
        problems.append(f"{amplifier}: the primary gain changed from {previous.primary_gain:g} to "
                        f"{reading.primary_gain:g} during the run (the profile's commander.on_gain_change is "
                        "'refuse')")
    return problems
