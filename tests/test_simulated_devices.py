"""The simulated rig runs the device classes of a real rig; its board turns their volts back into physics.

Every output goes units -> volts (the shared ChannelMap: profile calibration and limits) -> the
simulated board's `to_physical`, the one place a true calibration that differs from the profile
plugs in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from rig.api import prepare_run
from rig.config.profile import load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.amplifier import AmplifierStateError
from rig.devices.registry import DEVICE_CLASSES
from rig.engine.rig import build_rig

ROOT = Path(__file__).resolve().parents[1]
SIMULATED = ROOT / "hardware_profiles" / "simulated.yaml"


@pytest.fixture(scope="module")
def rig():
    """The default simulated rig (one watchdog process for the module)."""
    return build_rig(load_profile(SIMULATED))


@pytest.fixture(autouse=True)
def safe_after(rig):
    """Each test leaves the rig as it found it: made safe."""
    yield
    rig.clock.stop()
    for device in rig.devices_in_safe_order():
        device.make_safe()


class GalvoGainOff:
    """A true calibration: the x galvo moves the beam 10 % further per volt than the profile says."""

    def galvo_um(self, device: str, axis: str, volts: np.ndarray) -> np.ndarray | None:
        return volts / 0.01 * 1.1 if axis == "x" else None

    def pockels_power(self, device: str, volts: np.ndarray) -> np.ndarray | None:
        return None


def test_every_daq_device_is_the_class_an_ni_rig_uses_on_the_simulated_daq(rig):
    daq_devices = {n: d for n, d in rig.devices.items() if d.kind != "camera"}
    assert set(daq_devices) == {"amplifier", "scanner", "laser", "shutter", "leds", "stimulator"}
    for device in daq_devices.values():
        assert type(device) is DEVICE_CLASSES[device.kind]
        assert device.bus is rig.clock


def test_the_galvo_limit_of_the_profile_holds_on_the_simulated_rig_too(rig):
    rig.devices["scanner"].park(20.0, -5.0)
    assert rig.clock.held["scanner.x"] == 20.0 and rig.clock.physical["scanner.x"] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="beyond the"):
        rig.devices["scanner"].park(1001.0, 0.0)  # 10.01 V at 0.01 V/um
    assert rig.clock.held["scanner.x"] == 20.0  # refused before anything was written


def test_a_nominal_round_trip_gives_the_plan_s_own_numbers_back(rig):
    plan = prepare_run(ROOT / "protocols" / "frap.yaml", overrides=["interval_s=0"], sweeps=1).compiled.plans[0]
    for channel, wave in plan.outputs.items():
        physical = rig.clock._as_plan_dtype(rig.clock.to_physical(channel, wave), wave)
        np.testing.assert_array_equal(physical, wave, err_msg=channel)


def test_a_true_calibration_plugs_in_where_volts_become_physical(rig):
    driver = rig.clock.driver
    driver.calibration = GalvoGainOff()
    try:
        rig.devices["scanner"].park(10.0, 4.0)
        assert rig.clock.held["scanner.x"] == 10.0  # what the program commanded
        assert rig.clock.physical["scanner.x"] == pytest.approx(11.0)  # where the beam really is
        assert rig.clock.physical["scanner.y"] == pytest.approx(4.0)
        np.testing.assert_allclose(rig.clock.to_physical("scanner.x", np.array([-20.0, 30.0])), [-22.0, 33.0])
    finally:
        driver.calibration = None


def test_a_sweep_moves_the_simulated_beam_by_the_volts_it_was_given(rig):
    n = 400
    plan = SweepPlan(0, "s", "frap", 0, 20_000.0, n, {"scanner.x": np.linspace(-5.0, 5.0, n, dtype=np.float32),
                     "shutter.open": np.zeros(n, dtype=np.float32)}, ("scanner.green",))
    rig.clock.driver.calibration = GalvoGainOff()
    try:
        rig.clock.load(plan)
        rig.clock.start()
        while rig.clock.read() is not None:
            pass
        rig.clock.stop()
    finally:
        rig.clock.driver.calibration = None
    assert rig.clock.held["scanner.x"] == pytest.approx(5.0)
    assert rig.clock.physical["scanner.x"] == pytest.approx(5.5, rel=1e-6)


def test_make_safe_switches_the_simulated_amplifier_back_and_turns_the_light_off(rig):
    rig.devices["amplifier"].set_mode("CC")
    rig.devices["amplifier"].set_holding(100.0)
    rig.devices["shutter"].set_open(True)
    rig.devices["leds"].set_led("uv385", True)
    assert rig.clock.amplifier_modes["amplifier"] == "CC" and rig.clock.physical["shutter.open"] == 1.0
    assert not rig.devices["amplifier"].safety().safe
    for device in rig.devices_in_safe_order():
        device.make_safe()
    assert rig.clock.amplifier_modes["amplifier"] == "VC" and rig.clock.held["amplifier.command"] == -70.0
    assert rig.clock.physical["amplifier.command"] == pytest.approx(-70.0)
    assert rig.clock.physical["shutter.open"] == 0.0 and rig.clock.physical["leds.uv385"] == 0.0
    assert all(d.safety().safe for d in rig.devices.values())


def test_the_simulated_amplifier_answers_on_its_telegraphs(tmp_path):
    data = yaml.safe_load(SIMULATED.read_text())
    data["devices"]["amplifier"]["telegraph"] = {"mode": "SimDev1/ai6", "gain": "SimDev1/ai7",
                                                 "mode_levels_V": {"VC": 6.0, "CC": 2.0},
                                                 "gain_levels_V": [[1, 2.0], [10, 3.5]]}
    path = tmp_path / "telegraphs.yaml"
    path.write_text(yaml.safe_dump(data))
    rig = build_rig(load_profile(path))
    amp = rig.devices["amplifier"]
    n = 100
    plan = SweepPlan(0, "s", "vc", 0, 20_000.0, n, {"amplifier.command": np.full(n, -70.0)}, ("amplifier.primary",),
                     "amplifier", "VC")
    assert rig.clock.read_static_volts("SimDev1/ai6") == 6.0 and rig.clock.read_static_volts("SimDev1/ai7") == 2.0
    amp.configure(plan)
    rig.clock.amplifier_modes["amplifier"] = "CC"  # switched behind the program's back (in the amplifier's software)
    assert rig.clock.read_static_volts("SimDev1/ai6") == 2.0
    with pytest.raises(AmplifierStateError, match="is in CC but the protocol expects VC"):
        amp.configure(plan)
    amp.make_safe()
    assert amp.safety().safe and rig.clock.amplifier_modes["amplifier"] == "VC"


def test_the_same_device_calls_put_the_same_volts_on_an_ni_board_and_on_the_simulated_one(tmp_path):
    """The two-photon profile built once for NI (fake board at the seam) and once simulated: same volts."""
    from daq_seam_fakes import VC_GAIN_1, FakeBoard

    from rig.backends.ni.backend import build_rig as build_ni_rig

    data = yaml.safe_load((ROOT / "hardware_profiles" / "two_photon_rig.yaml").read_text())
    data["backend"] = "simulated"
    data["simulation"] = yaml.safe_load(SIMULATED.read_text())["simulation"]
    path = tmp_path / "two_photon_simulated.yaml"
    path.write_text(yaml.safe_dump(data))
    board = FakeBoard(VC_GAIN_1)
    rigs = (build_ni_rig(load_profile(ROOT / "hardware_profiles" / "two_photon_rig.yaml"), driver=board),
            build_rig(load_profile(path)))
    for rig in rigs:
        for device in rig.devices_in_safe_order():
            device.make_safe()
        rig.devices["scanner"].park(40.0, -8.0)
        rig.devices["laser"].set_power(0.1)
        rig.devices["shutter"].set_open(True)
        rig.devices["amplifier"].set_holding(-60.0)
    assert rigs[1].clock.driver.levels == board.levels
    assert board.levels["Dev1/ao1"] == pytest.approx(0.5) and board.levels["Dev1/ao0"] == pytest.approx(-3.0)
    for device in rigs[1].devices_in_safe_order():
        device.make_safe()
