"""Bad camera input through the real core: refused before any light, each with one clear line."""

from __future__ import annotations

import pytest
from mm_camera_helpers import camera_spec, collect, fire, frame_plan, numbered
from mm_fake_devices import MODULE

from rig.backends.micromanager.camera import CameraRefused, MmCamera, open_simulated_camera
from rig.backends.micromanager.devices import build_device
from rig.backends.micromanager.session import MicroManagerError, open_core
from rig.config.device_specs import MicroManagerDeviceRef
from rig.config.profile import MicroManagerLoadSpec, MicroManagerSpec

CONFIG = """# a rig's Micro-Manager config: the camera is the Python CCD
#py pyDevice,CCD,rig.backends.micromanager.python_camera,TriggeredPythonCamera
#py Property,CCD,SensorWidth,80
#py Property,CCD,SensorHeight,80
Property,Core,Initialize,1
#py Property,Core,Camera,CCD
"""


def assert_untouched(camera: MmCamera) -> None:
    """Nothing was armed or changed on the camera."""
    assert not camera.core.isSequenceRunning(camera.label)
    assert camera.safety().safe
    assert camera.core.getROI(camera.label) == [0, 0, 80, 80]


def refusal(camera: MmCamera, plan) -> str:
    assert camera.check_plan(plan), "check_plan must name the problem before configure"
    with pytest.raises(CameraRefused) as err:
        camera.configure(plan)
    text = str(err.value)
    assert "\n" not in text
    assert_untouched(camera)
    return text


def test_exposure_longer_than_the_frame_interval_is_refused():
    camera, _ = open_simulated_camera("camera", camera_spec())
    text = refusal(camera, frame_plan(rate_hz=2000.0, n_frames=10, exposure_ms=0.6, roi_px=(0, 0, 40, 40)))
    assert "camera 'camera' (Micro-Manager 'SimCCD'): exposure 0.6 ms is longer than the frame interval 0.5 ms " \
           "(2000 Hz)" in text
    assert camera.check_plan(frame_plan(rate_hz=2000.0, n_frames=10, exposure_ms=0.5)) == []


def test_rate_above_the_cameras_max_rate_property_is_refused():
    camera, _ = open_simulated_camera("camera", camera_spec(max_frame_rate_hz=1000.0))
    assert float(camera.core.getProperty(camera.label, "MaxFrameRate-Hz")) == 1000.0
    text = refusal(camera, frame_plan(rate_hz=2000.0, n_frames=10, exposure_ms=0.4, roi_px=(0, 0, 40, 40)))
    assert "frame rate 2000 Hz exceeds the camera's MaxFrameRate-Hz = 1000" in text
    assert camera.check_plan(frame_plan(rate_hz=1000.0, n_frames=10, exposure_ms=0.4)) == []


def test_readout_slower_than_the_frame_interval_is_refused():
    camera, _ = open_simulated_camera("camera", camera_spec())
    camera.core.setProperty(camera.label, "ReadoutTime", "0.8")
    text = refusal(camera, frame_plan(rate_hz=2000.0, n_frames=10, exposure_ms=0.4, roi_px=(0, 0, 40, 40)))
    assert "readout time 0.8 ms is longer than the frame interval 0.5 ms (2000 Hz)" in text


def test_roi_origin_off_the_binning_grid_is_refused():
    camera, _ = open_simulated_camera("camera", camera_spec())
    text = refusal(camera, frame_plan(roi_px=(3, 0, 40, 40), binning=2))
    assert "ROI origin (3, 0) must be a multiple of binning 2" in text


def test_plans_of_other_cameras_are_not_this_cameras_business():
    camera, _ = open_simulated_camera("camera", camera_spec())
    other = frame_plan(rate_hz=2000.0, exposure_ms=5.0, camera="other")
    assert camera.check_plan(other) == []
    camera.configure(other)
    assert_untouched(camera)


def test_a_config_file_that_fails_to_load_names_the_file(tmp_path):
    bad = tmp_path / "rig.cfg"
    bad.write_text("Device,Cam,NoSuchAdapter,DCam\nProperty,Core,Initialize,1\n")
    with pytest.raises(MicroManagerError) as err:
        open_core(MicroManagerSpec(config_file=str(bad)))
    assert f"micromanager.config_file '{bad}' cannot be loaded" in str(err.value)
    assert "NoSuchAdapter" in str(err.value)


def test_a_config_file_that_fails_to_load_is_one_line(tmp_path):
    bad = tmp_path / "rig.cfg"
    bad.write_text("Device,Cam,NoSuchAdapter,DCam\n")
    with pytest.raises(MicroManagerError) as err:
        open_core(MicroManagerSpec(config_file=str(bad)))
    assert "\n" not in str(err.value)


def test_a_profile_config_file_opens_its_camera_through_the_registry(tmp_path):
    cfg = tmp_path / "rig.cfg"
    cfg.write_text(CONFIG)
    core = open_core(MicroManagerSpec(config_file=cfg.name), base_dir=tmp_path)
    spec = camera_spec(backend="micromanager", micromanager=MicroManagerDeviceRef(
        device="CCD", properties={"ReadoutTime": "0.1"}, safe_properties={"Exposure": "1"}))
    camera = build_device("camera", spec, core)
    assert isinstance(camera, MmCamera) and camera.label == "CCD"
    assert float(core.getProperty("CCD", "ReadoutTime")) == pytest.approx(0.1)
    plan = frame_plan(n_frames=4, exposure_ms=0.5)
    camera.configure(plan)
    camera.start_frames(plan)
    device = core._pydevices["CCD"]
    fire(plan, device.push_frame, numbered)
    assert collect(camera, 4).frame_numbers.tolist() == [0, 1, 2, 3]
    camera.make_safe()
    assert core.getExposure("CCD") == pytest.approx(1.0)  # safe properties applied
    assert camera.safety().safe


def test_builder_names_what_is_wrong_with_the_camera(tmp_path):
    cfg = tmp_path / "rig.cfg"
    cfg.write_text(CONFIG)
    core = open_core(MicroManagerSpec(config_file=str(cfg)))
    with pytest.raises(MicroManagerError, match=r"devices.camera.sensor_px: the profile says \[64, 64\] but "
                                                r"Micro-Manager 'CCD' has a 80x80 sensor"):
        build_device("camera", camera_spec(sensor_px=(64, 64), micromanager=MicroManagerDeviceRef(device="CCD")), core)
    with pytest.raises(MicroManagerError, match="no Micro-Manager device 'Cam9' is loaded"):
        build_device("camera", camera_spec(micromanager=MicroManagerDeviceRef(device="Cam9")), core)
    bare = open_core(MicroManagerSpec(devices={"Lamp": MicroManagerLoadSpec(library=MODULE,
                                                                             adapter_device="FakeShutter")}))
    with pytest.raises(MicroManagerError, match="no camera is named and Micro-Manager has no current camera"):
        build_device("camera", camera_spec(), bare)
    with pytest.raises(MicroManagerError, match="'Lamp' is a .*Shutter.*, not a camera"):
        build_device("camera", camera_spec(micromanager=MicroManagerDeviceRef(device="Lamp")), bare)
    camera = build_device("camera", camera_spec(), core)  # no label: the config's current camera
    assert camera.label == "CCD"
