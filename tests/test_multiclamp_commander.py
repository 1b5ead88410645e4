"""MultiClamp Commander's message API through ctypes: a stand-in for AxMultiClampMsg.dll whose functions are real
ctypes function pointers (C signatures as Axon's header declares them), so every call goes through ctypes'
marshalling (handles, byref out-parameters, the serial-number buffer, error codes); the NI amplifier reads mode and
gains from it before every sweep and refuses a sweep Commander disagrees with."""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int, c_uint, c_void_p
from pathlib import Path

import pytest
import yaml
from nidaqmx_boundary import FakeDaqmx, autospec_interpreter  # the nidaqmx interpreter stand-in

from rig.backends.multiclamp.commander import Commander, CommanderError
from rig.backends.ni.backend import build_rig
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.devices.amplifier import AmplifierStateError
from rig.protocols.protocol_file import compile_protocol, load_protocol

ROOT = Path(__file__).resolve().parents[1]
TWO_PHOTON = ROOT / "hardware_profiles" / "two_photon_rig.yaml"
FRAP = ROOT / "protocols" / "frap.yaml"
FUNC = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)  # WINAPI on Windows, the C convention elsewhere
PINT, PUINT, PDOUBLE = POINTER(c_int), POINTER(c_uint), POINTER(c_double)
NO_ERROR, NOT_OPEN = 6000, 6002


class FakeCommanderDll:
    """Two 700B channels behind Commander's message API; state a test can change between calls."""

    def __init__(self, serial: bytes = b"00834001", running: bool = True):
        self.serial, self.running = serial, running
        self.state = {1: {"mode": 0, "primary": 0, "gain": 1.0, "lpf": 10_000.0, "secondary": 1, "gain2": 1.0},
                      2: {"mode": 1, "primary": 7, "gain": 10.0, "lpf": 10_000.0, "secondary": 8, "gain2": 1.0}}
        self.selected: int | None = None
        self.found = 0
        self.calls: list[str] = []
        self.handle = 0x5EED
        sig = {  # restype, argtypes: the header's declarations, written out independently of the binding
            "MCCMSG_CheckAPIVersion": (c_bool, c_char_p), "MCCMSG_CreateObject": (c_void_p, PINT),
            "MCCMSG_DestroyObject": (None, c_void_p), "MCCMSG_SetTimeOut": (c_bool, c_void_p, c_uint, PINT),
            # the serial number is an out-buffer (char *): received as a raw address, written in place
            "MCCMSG_FindFirstMultiClamp": (c_bool, c_void_p, PUINT, c_void_p, c_uint, PUINT, PUINT, PUINT, PINT),
            "MCCMSG_FindNextMultiClamp": (c_bool, c_void_p, PUINT, c_void_p, c_uint, PUINT, PUINT, PUINT, PINT),
            "MCCMSG_SelectMultiClamp": (c_bool, c_void_p, c_uint, c_char_p, c_uint, c_uint, c_uint, PINT),
            "MCCMSG_GetMode": (c_bool, c_void_p, PUINT, PINT), "MCCMSG_GetPrimarySignal": (c_bool, c_void_p, PUINT, PINT),
            "MCCMSG_GetPrimarySignalGain": (c_bool, c_void_p, PDOUBLE, PINT),
            "MCCMSG_GetPrimarySignalLPF": (c_bool, c_void_p, PDOUBLE, PINT),
            "MCCMSG_GetSecondarySignal": (c_bool, c_void_p, PUINT, PINT),
            "MCCMSG_GetSecondarySignalGain": (c_bool, c_void_p, PDOUBLE, PINT),
        }
        self._keep = []
        for name, (restype, *argtypes) in sig.items():
            pointer = FUNC(restype, *argtypes)(getattr(self, "_" + name.removeprefix("MCCMSG_")))
            self._keep.append(pointer)
            setattr(self, name, pointer)

    def _ok(self, err, handle=None) -> bool:
        if handle is not None and handle != self.handle:
            err[0] = 6003
            return False
        if not self.running:
            err[0] = NOT_OPEN
            return False
        err[0] = NO_ERROR
        return True

    def _CheckAPIVersion(self, version):
        return version == b"1.0.0.7"

    def _CreateObject(self, err):
        err[0] = NO_ERROR
        return self.handle

    def _DestroyObject(self, handle):
        self.calls.append("destroy")

    def _SetTimeOut(self, handle, ms, err):
        return self._ok(err, handle)

    def _fill(self, model, serial, size, com, device, channel, err, which):
        model[0], com[0], device[0], channel[0] = 1, 0, 0, which
        ctypes.memmove(serial, self.serial + b"\0", min(size, len(self.serial) + 1))
        err[0] = NO_ERROR
        return True

    def _FindFirstMultiClamp(self, handle, model, serial, size, com, device, channel, err):
        if not self._ok(err, handle):
            return False
        self.found = 1
        return self._fill(model, serial, size, com, device, channel, err, 1)

    def _FindNextMultiClamp(self, handle, model, serial, size, com, device, channel, err):
        if self.found >= 2:
            return False
        self.found += 1
        return self._fill(model, serial, size, com, device, channel, err, self.found)

    def _SelectMultiClamp(self, handle, model, serial, com, device, channel, err):
        if not self._ok(err, handle) or serial != self.serial or channel not in self.state:
            err[0] = 6004 if err[0] == NO_ERROR else err[0]
            return False
        self.selected = channel
        return True

    def _get(self, key, handle, out, err):
        if not self._ok(err, handle):
            return False
        self.calls.append(key)
        out[0] = self.state[self.selected][key]
        return True

    def _GetMode(self, h, out, err):
        return self._get("mode", h, out, err)

    def _GetPrimarySignal(self, h, out, err):
        return self._get("primary", h, out, err)

    def _GetPrimarySignalGain(self, h, out, err):
        return self._get("gain", h, out, err)

    def _GetPrimarySignalLPF(self, h, out, err):
        return self._get("lpf", h, out, err)

    def _GetSecondarySignal(self, h, out, err):
        return self._get("secondary", h, out, err)

    def _GetSecondarySignalGain(self, h, out, err):
        return self._get("gain2", h, out, err)


def test_commander_finds_selects_and_reads_through_ctypes() -> None:
    """Both channels listed with the serial from the string buffer; channel 2 read as CC, gain 10."""
    dll = FakeCommanderDll()
    with Commander(dll) as commander:
        assert [c.description for c in commander.channels()] == ["MultiClamp 700B 00834001, channel 1",
                                                                  "MultiClamp 700B 00834001, channel 2"]
        commander.select("00834001", 2)
        reading = commander.read()
    assert (reading.mode, reading.primary_gain, reading.primary_signal_name) == ("CC", 10.0, "CC membrane potential")
    assert dll.calls[-1] == "destroy"


def test_commander_not_running_is_one_clear_error() -> None:
    """No Commander window: the error code is translated, not swallowed."""
    with pytest.raises(CommanderError, match="Commander is not running"):
        Commander(FakeCommanderDll(running=False))
    with Commander(FakeCommanderDll()) as commander, pytest.raises(CommanderError, match="offered MultiClamp 700B"):
        commander.select("999", 1)


@pytest.fixture
def commander_rig(tmp_path, monkeypatch):
    """The two-photon NI rig (nidaqmx's interpreter faked) whose amplifier reads Commander's channel 1."""
    FakeDaqmx(autospec_interpreter(monkeypatch), {"Dev1/ai0": 0.1, "Dev1/ai1": -0.7})
    data = yaml.safe_load(TWO_PHOTON.read_text())
    amp = data["devices"]["amplifier"]
    amp.pop("telegraph", None)
    amp["commander"] = {"serial": "00834001", "channel": 1, "on_gain_change": "refuse"}
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(data))
    dll = FakeCommanderDll()
    monkeypatch.setattr("rig.devices.amplifier.load_library", lambda dll_path=None: dll)  # the DLL boundary
    profile = load_profile(path)
    plan = compile_protocol(load_protocol(FRAP, ["sweeps=1"]), profile).plans[0]
    return build_rig(profile).devices["amplifier"], dll, plan


def test_amplifier_checks_commander_before_every_sweep(commander_rig) -> None:
    """VC sweep on a VC channel: scaled with Commander's gain; a mode switch or a gain change mid-run refuses."""
    amp, dll, plan = commander_rig
    amp.configure(plan)
    assert amp.state.primary_gain == 1.0 and dll.calls.count("mode") == 1
    dll.state[1]["gain"] = 5.0
    with pytest.raises(AmplifierStateError, match="primary gain changed from 1 to 5"):
        amp.configure(plan)
    dll.state[1]["gain"], dll.state[1]["mode"] = 1.0, 1
    with pytest.raises(AmplifierStateError, match="Commander reports CC but the sweep needs VC"):
        amp.configure(plan)
    amp.make_safe()  # safe holding in the unit of the mode Commander reports
    assert "CC holding 0 pA" in amp.safety().detail
    dll.state[1]["mode"], dll.state[1]["primary"] = 0, 1
    with pytest.raises(AmplifierStateError, match="primary output carries VC membrane potential"):
        amp.configure(plan)
    dll.running = False
    with pytest.raises(AmplifierStateError, match="cannot read the amplifier's state from Commander"):
        amp.configure(plan)


def test_commander_channel_must_be_1_or_2(tmp_path) -> None:
    """A bad channel in the profile is one line naming the field."""
    data = yaml.safe_load(TWO_PHOTON.read_text())
    data["devices"]["amplifier"]["commander"] = {"channel": 3}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidInput) as err:
        load_profile(path)
    assert any("commander.channel" in str(p) for p in err.value.problems)


def test_doctor_reports_commander(monkeypatch) -> None:
    """`rig doctor` names the channel Commander offers and its state; without the DLL it says what to install."""
    from rig.config.device_specs import CommanderSpec
    from rig.doctor import Report, check_commander

    report = Report()
    check_commander(report, "amplifier", CommanderSpec(serial="00834001", channel=2))
    assert not report.findings[0].ok and "install MultiClamp 700B Commander" in report.findings[0].hint
    dll = FakeCommanderDll()
    monkeypatch.setattr("rig.backends.multiclamp.commander.load_library", lambda dll_path=None: dll)
    report = Report()
    check_commander(report, "amplifier", CommanderSpec(serial="00834001", channel=2))
    assert report.findings[0].ok and "channel 2 of 2 channel(s): CC, primary CC membrane potential x10" in \
        report.findings[0].detail
