"""The device classes and the NI clock through our driver seam (rig.devices.driver), with a fake board below it.

FakeBoard (tests/daq_seam_fakes.py) is the whole boundary: it records the volts and levels the device
code writes, answers static AI reads (the telegraphs), and stands in for the clocked tasks and the
watchdog timer. No nidaqmx here; tests/test_ni_driver.py checks NiDriver itself through nidaqmx's
real code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from daq_seam_fakes import CC_GAIN_1, VC_GAIN_1, FakeBoard

from rig.backends.ni.backend import build_rig
from rig.config.profile import load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.amplifier import AmplifierStateError, PatchAmplifier
from rig.devices.driver import DaqDriver
from rig.devices.registry import DEVICE_CLASSES
from rig.hal.watchdog import WatchdogExpired

ROOT = Path(__file__).resolve().parents[1]
TWO_PHOTON = ROOT / "hardware_profiles" / "two_photon_rig.yaml"


def two_photon(board: FakeBoard):
    """The two-photon profile's rig on the fake board."""
    return build_rig(load_profile(TWO_PHOTON), driver=board)


def vc_plan(n: int = 1000) -> SweepPlan:
    """A VC sweep: a line of the galvo, imaging power behind the open shutter, -70 mV holding."""
    return SweepPlan(0, "s", "frap", 0, 50_000.0, n, {
        "scanner.x": np.linspace(-10.0, 10.0, n), "scanner.y": np.zeros(n), "laser.power": np.full(n, 0.1),
        "shutter.open": np.r_[np.ones(n - 2), 0.0, 0.0], "amplifier.command": np.full(n, -70.0)},
        ("amplifier.primary",), "amplifier", "VC")


def test_the_fake_board_is_a_daq_driver_and_every_role_uses_the_shared_class():
    board: DaqDriver = FakeBoard(VC_GAIN_1)
    rig = two_photon(board)  # type: ignore[arg-type]
    for device in rig.devices.values():
        assert type(device) is DEVICE_CLASSES[device.kind]
        assert device.bus is rig.clock


def test_make_safe_writes_each_role_s_safe_volts_through_its_scaling():
    board = FakeBoard(VC_GAIN_1)
    rig = two_photon(board)
    for device in rig.devices_in_safe_order():
        device.make_safe()
    assert board.levels == {"Dev1/ao3": 0.0,  # Pockels at power 0: the calibration's 0 V
                            "Dev1/port0/line0": False, "Dev1/port0/line1": False,  # shutter, stimulator
                            "Dev1/ao1": 0.0, "Dev1/ao2": 0.0,  # galvos at the field centre (offset 0 V)
                            "Dev1/ao0": -70.0 / 20.0}  # -70 mV at 20 mV/V
    assert all(d.safety().safe for d in rig.devices.values())


def test_park_scales_um_to_volts_and_refuses_beyond_the_galvo_limit_before_writing():
    board = FakeBoard(VC_GAIN_1)
    rig = two_photon(board)
    rig.devices["scanner"].park(40.0, -8.0)
    assert board.levels["Dev1/ao1"] == pytest.approx(0.5) and board.levels["Dev1/ao2"] == pytest.approx(-0.1)
    before = list(board.log)
    with pytest.raises(ValueError, match="beyond the"):
        rig.devices["scanner"].park(0.0, 401.0)  # 5.01 V
    assert rig.clock.held["scanner.x"] == 0.0  # x was written (0 um) and y refused
    assert board.log[len(before):] == ["ao Dev1/ao1"]


def test_light_and_trigger_states_reach_their_lines():
    board = FakeBoard(VC_GAIN_1)
    rig = two_photon(board)
    rig.devices["shutter"].set_open(True)
    rig.devices["laser"].set_power(0.1)
    assert board.levels["Dev1/port0/line0"] is True
    imaging = 0.25 + (0.1 - 0.0381) / (0.1464 - 0.0381) * 0.25  # between the 0.25 V and 0.5 V table points
    assert board.levels["Dev1/ao3"] == pytest.approx(imaging, rel=1e-6)
    assert not rig.devices["shutter"].safety().safe and not rig.devices["laser"].safety().safe
    with pytest.raises(ValueError, match="within"):
        rig.devices["laser"].set_power(1.5)


def test_amplifier_in_cc_is_made_safe_in_pA_and_refuses_a_vc_sweep():
    board = FakeBoard(CC_GAIN_1)
    rig = two_photon(board)
    amp = rig.devices["amplifier"]
    assert isinstance(amp, PatchAmplifier)
    with pytest.raises(AmplifierStateError, match="is in CC but the protocol expects VC"):
        amp.configure(vc_plan())
    amp.make_safe()
    assert board.levels["Dev1/ao0"] == 0.0  # 0 pA, not -70 mV scaled as pA
    report = amp.safety()
    assert report.safe and "safe mode is VC" in report.detail  # the DAQ cannot switch it: safe holding is enough


def test_a_sweep_is_scaled_clocked_and_watched_in_order():
    board = FakeBoard({**VC_GAIN_1, "Dev1/ai0": 0.1})
    rig = two_photon(board)
    plan = vc_plan()
    for device in rig.devices_in_safe_order():
        device.make_safe()  # every guarded line known low: the watchdog can disarm once the sweep's light is off
    for device in rig.devices.values():
        device.configure(plan)
    rig.clock.load(plan)
    tasks = board.sweeps[-1]
    np.testing.assert_allclose(tasks.loaded["Dev1/ao1"], np.linspace(-10.0, 10.0, 1000) * 0.0125)
    np.testing.assert_allclose(tasks.loaded["Dev1/ao0"], -3.5)
    assert tasks.loaded["Dev1/port0/line0"].dtype == bool
    rig.clock.start()
    chunk = rig.clock.read()
    np.testing.assert_allclose(chunk["amplifier.primary"], 200.0)  # 0.1 V at 0.5 mV/pA, gain 1
    while rig.clock.read() is not None:
        pass
    rig.clock.stop()
    assert board.log.index("watchdog.start") < board.log.index("sweep.start")  # armed before anything moves
    # the last sample closes the shutter: disarmed once every sample is out, before the tasks are released
    assert board.log[-3:] == ["watchdog.stop", "sweep.stop", "sweep.close"]
    assert rig.clock.held["shutter.open"] == 0.0


def test_an_expiry_mid_sweep_fails_the_read_and_make_safe_clears_it_before_writing():
    board = FakeBoard(VC_GAIN_1)
    rig = two_photon(board)
    rig.clock.load(vc_plan())
    rig.clock.start()
    assert board.timer is not None
    board.timer.expired = True  # the board forced the guarded lines low
    with pytest.raises(WatchdogExpired):
        rig.clock.read()
    rig.clock.stop()
    for device in rig.devices_in_safe_order():
        device.make_safe()
    first_write = next(i for i, entry in enumerate(board.log) if entry.startswith(("ao ", "do ")))
    assert "watchdog.clear" in board.log[:first_write]
    assert all(d.safety().safe for d in rig.devices.values())
    assert [(e.physical, e.high) for e in board.timer.lines] == [("Dev1/port0/line0", False),
                                                                ("Dev1/port0/line1", False)]
