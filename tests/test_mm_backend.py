"""The Micro-Manager backend through the real pymmcore-plus core (UniMMCore).

No Micro-Manager installation (so no C++ device adapter) exists on the test machine: the
devices below are pymmcore-plus Python devices, loaded by the real core from this module
exactly as a profile names them; loading a C++ adapter is checked only for its error message.
"""

from __future__ import annotations

import numpy as np
import pytest
from mm_fake_devices import MODULE

from rig.backends.micromanager.devices import MmPropertySetter, MmShutter, build_device
from rig.backends.micromanager.session import MicroManagerError, open_core, require_device
from rig.config.device_specs import CameraSpec, MicroManagerDeviceRef, ShutterSpec
from rig.config.profile import MicroManagerLoadSpec, MicroManagerSpec
from rig.datatypes.sweep_plan import SweepPlan


def spec_with(**devices: MicroManagerLoadSpec) -> MicroManagerSpec:
    return MicroManagerSpec(devices=devices)


@pytest.fixture
def core():
    """A real core with the two Python devices loaded from a profile-style spec."""
    return open_core(spec_with(Shutter=MicroManagerLoadSpec(library=MODULE, adapter_device="FakeShutter"),
                               LEDs=MicroManagerLoadSpec(library=MODULE, adapter_device="FakeLedController",
                                                         properties={})))


def plan_with(outputs: dict[str, np.ndarray]) -> SweepPlan:
    return SweepPlan(0, "s", "test", 0, 1000.0, 10, outputs, ())


def test_devices_load_by_label(core):
    assert {"Shutter", "LEDs"} <= set(core.getLoadedDevices())
    assert core.getShutterOpen("Shutter") is False
    require_device(core, "Shutter", "here")
    with pytest.raises(MicroManagerError, match="no Micro-Manager device 'Nope' is loaded"):
        require_device(core, "Nope", "devices.x.micromanager.device")


def test_shutter_follows_the_plan_and_is_made_safe(core):
    ref = MicroManagerDeviceRef(device="Shutter")
    shutter = MmShutter("lamp", core, ref)
    opening = np.zeros(10)
    opening[3:6] = 1
    shutter.configure(plan_with({"lamp.open": opening}))
    assert core.getShutterOpen("Shutter") is True
    report = shutter.safety()
    assert not report.safe and "open" in report.detail
    shutter.configure(plan_with({}))  # a sweep that does not use it: closed
    assert core.getShutterOpen("Shutter") is False
    shutter.set_open(True)
    shutter.make_safe()
    assert shutter.safety().safe and core.getShutterOpen("Shutter") is False


def test_properties_are_set_on_build_and_on_make_safe(core):
    setter = MmPropertySetter(core, "LEDs")
    setter.apply({"intensity": "50"})
    assert core.getProperty("LEDs", "intensity") == "50"
    ref = MicroManagerDeviceRef(device="Shutter", properties={}, safe_properties={})
    MmShutter("s", core, ref).make_safe()
    with pytest.raises(Exception):
        setter.apply({"intensity": "75"})  # not an allowed value: the core refuses it


def test_build_device_for_a_profile_shutter_and_a_camera_the_core_lacks(core):
    spec = ShutterSpec(kind="shutter", backend="micromanager", channels={"open": "Shutter"})
    device = build_device("lamp_shutter", spec, core)
    assert isinstance(device, MmShutter) and device.label == "Shutter"
    camera = CameraSpec(kind="camera", backend="micromanager", channels={"trigger": "Dev1/port0/line4"})
    with pytest.raises(MicroManagerError, match="no camera is named"):
        build_device("camera", camera, core)
    other = type("Spec", (), {"kind": "galvo_scanner"})()
    with pytest.raises(MicroManagerError, match="cannot use the micromanager backend"):
        build_device("scanner", other, core)


def test_unloadable_devices_give_a_clear_message():
    with pytest.raises(MicroManagerError) as err:
        open_core(spec_with(Cam=MicroManagerLoadSpec(library="DemoCamera", adapter_device="DCam")))
    text = str(err.value)
    assert "micromanager.devices.Cam" in text and "DemoCamera" in text and "adapters available" in text
    with pytest.raises(MicroManagerError, match="is not a folder"):
        open_core(MicroManagerSpec(adapter_path="/no/such/micromanager"))
    with pytest.raises(MicroManagerError, match="cannot be loaded"):
        open_core(MicroManagerSpec(config_file="/no/such/file.cfg"))


def test_core_is_built_while_a_qt_application_runs(monkeypatch):
    """The GUI runs a QApplication; without qtpy the core must fall back to psygnal signals."""
    import importlib.util

    monkeypatch.delenv("PYMM_SIGNALS_BACKEND", raising=False)
    monkeypatch.setattr("pymmcore_plus._util._qt_app_is_running", lambda: True)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qtpy" else real_find_spec(name, *a))
    from rig.backends.micromanager.session import new_core

    core = new_core()
    assert "Core" in core.getLoadedDevices()
    assert "PYMM_SIGNALS_BACKEND" not in __import__("os").environ
