"""`rig doctor`: a line per check, a hint per problem, exit 0 only when everything needed is there."""

from __future__ import annotations

from pathlib import Path

import pytest
from nidaqmx_boundary import autospec_interpreter, install_missing_driver

import rig.doctor as doctor_module
from rig.doctor import doctor

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "hardware_profiles"


@pytest.fixture
def no_driver(monkeypatch):
    install_missing_driver(monkeypatch)


@pytest.fixture
def driver(monkeypatch):
    """An NI-DAQmx 24.5 driver that sees one PCIe-6363 named Dev1."""
    interp = autospec_interpreter(monkeypatch)
    interp.get_system_info_attribute_uint32.side_effect = lambda attr: {0x1272: 24, 0x1923: 5, 0x2F22: 0}[attr]
    interp.get_system_info_attribute_string.return_value = "Dev1"
    interp.get_device_attribute_string.return_value = "PCIe-6363"
    return interp


@pytest.fixture
def micromanager(monkeypatch, tmp_path):
    folder = tmp_path / "Micro-Manager"
    folder.mkdir()
    (folder / "libmmgr_dal_DemoCamera.so.0").write_text("")
    monkeypatch.setattr("pymmcore_plus.find_micromanager", lambda *a, **k: str(folder))
    return folder


@pytest.fixture
def no_micromanager(monkeypatch):
    monkeypatch.setattr("pymmcore_plus.find_micromanager", lambda *a, **k: None)


def test_without_driver_and_micromanager(no_driver, no_micromanager, capsys):
    assert doctor(None) == 1
    out = capsys.readouterr().out
    assert "FAIL NI-DAQmx driver: not usable (DaqNotFoundError" in out
    assert "hint: install NI-DAQmx" in out
    assert "FAIL Micro-Manager: no installation" in out and "mmcore install" in out
    assert "2 problem(s) found" in out and "Traceback" not in out


def test_all_installed(driver, micromanager, capsys):
    assert doctor(None) == 0
    out = capsys.readouterr().out
    assert "ok   NI-DAQmx driver: version 24.5.0" in out
    assert "ok   NI devices: Dev1 (PCIe-6363)" in out
    assert "(1 device adapters)" in out and "all checks passed" in out


def test_two_photon_profile_reachable(driver, no_micromanager, capsys):
    assert doctor(PROFILES / "two_photon_rig.yaml") == 0
    out = capsys.readouterr().out
    assert "ok   daq Dev1: PCIe-6363" in out
    assert "ok   device laser: pockels_laser on backend 'ni'" in out
    assert "--   Micro-Manager" in out  # not needed by this profile: reported, not a problem


def test_two_photon_profile_without_driver(no_driver, no_micromanager, capsys):
    assert doctor(PROFILES / "two_photon_rig.yaml") == 1
    out = capsys.readouterr().out
    assert "FAIL device scanner: galvo_scanner on backend 'ni' (not reachable here)" in out
    assert "hint: the NI-DAQmx driver or board above is missing" in out


def test_board_named_differently(driver, no_micromanager, tmp_path, capsys):
    text = (PROFILES / "two_photon_rig.yaml").read_text().replace("Dev1", "Dev3")
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    assert doctor(path) == 1
    out = capsys.readouterr().out
    assert "FAIL daq Dev3: not found on this machine" in out and "set daq.device to one of: Dev1" in out


def test_ccd_profile_needs_micromanager_and_its_config(driver, micromanager, capsys):
    assert doctor(PROFILES / "ccd_rig.yaml") == 1
    out = capsys.readouterr().out
    assert "ok   Micro-Manager:" in out
    assert "FAIL Micro-Manager config:" in out and "Hardware Configuration Wizard" in out
    assert "ok   device camera: camera on backend 'micromanager'" in out


def test_simulated_profile_needs_nothing(no_driver, no_micromanager, capsys):
    assert doctor(PROFILES / "simulated.yaml") == 0
    assert "all checks passed" in capsys.readouterr().out


def test_bad_profile_and_unexpected_errors_never_raise(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbackend: ni\ndaq: {max_sample_rate_hz: -1}\ndevices: {}\n")
    assert doctor(bad) == 1
    assert "FAIL profile:" in capsys.readouterr().out

    def boom(path):
        raise KeyError("surprise")

    monkeypatch.setattr(doctor_module, "run_checks", boom)
    assert doctor(None) == 1
    out = capsys.readouterr().out
    assert "FAIL doctor: unexpected KeyError" in out and "Traceback" not in out
