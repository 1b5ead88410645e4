"""An NI rig with Micro-Manager devices: built through build_rig, the MM parts on the real pymmcore-plus core."""

from __future__ import annotations

import pytest
from mm_fake_devices import MODULE
from nidaqmx_boundary import FakeDaqmx, autospec_interpreter

from rig.backends.micromanager.devices import MmShutter
from rig.backends.ni.backend import build_rig
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.devices.roles import LedSource

PROFILE = f"""
name: mixed rig
backend: ni
daq: {{device: Dev1, max_sample_rate_hz: 100000}}
micromanager:
  devices:
    Lamp: {{library: {MODULE}, adapter_device: FakeShutter}}
    LEDs: {{library: {MODULE}, adapter_device: FakeLedController}}
devices:
  leds:
    kind: led_source
    leds:
      uv385: {{channel: Dev1/port0/line1, wavelength_nm: 385, max_duty_fraction: 0.6}}
    micromanager: {{device: LEDs, properties: {{intensity: "50"}}, safe_properties: {{intensity: "0"}}}}
  lamp_shutter:
    kind: shutter
    backend: micromanager
    channels: {{open: Lamp}}
  camera:
    kind: camera
    backend: micromanager
    channels: {{trigger: Dev1/port0/line0}}
"""


@pytest.fixture
def daqmx(monkeypatch):
    return FakeDaqmx(autospec_interpreter(monkeypatch))


def write(tmp_path, text):
    path = tmp_path / "rig.yaml"
    path.write_text(text)
    return load_profile(path)


def test_a_micromanager_camera_the_core_does_not_have_is_a_clear_problem(daqmx, tmp_path):
    with pytest.raises(InvalidInput, match=r"devices\.camera\.micromanager\.device: no camera is named"):
        build_rig(write(tmp_path, PROFILE))


def test_mixed_rig_builds_applies_controller_properties_and_makes_safe(daqmx, tmp_path):
    rig = build_rig(write(tmp_path, PROFILE.split("  camera:")[0]))
    core = rig.extras["micromanager_core"]
    assert isinstance(rig.devices["lamp_shutter"], MmShutter)
    assert isinstance(rig.devices["leds"], LedSource)
    assert core.getProperty("LEDs", "intensity") == "50"  # set when the rig is built
    core.setShutterOpen("Lamp", True)
    for device in rig.devices_in_safe_order():
        device.make_safe()
    assert core.getShutterOpen("Lamp") is False
    assert core.getProperty("LEDs", "intensity") == "0"
    h = daqmx.handle("spinerig-static-do")
    assert daqmx.calls("write_digital_lines", h)[0][5].item() is False
    assert all(d.safety().safe for d in rig.devices.values())


def test_missing_micromanager_device_is_named(daqmx, tmp_path):
    text = PROFILE.split("  camera:")[0].replace("channels: {open: Lamp}", "channels: {open: Lamp2}")
    with pytest.raises(InvalidInput, match="no Micro-Manager device 'Lamp2' is loaded"):
        build_rig(write(tmp_path, text))
