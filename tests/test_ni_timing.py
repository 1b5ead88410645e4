"""One sample clock per sweep (timing specs), addresses, the channel map and the NI profile checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rig.backends.ni.profile_check import check_ni_profile
from rig.config.profile import HardwareProfile, load_profile
from rig.devices.channel_map import ChannelMap
from rig.devices.signals.addresses import counter_output_terminal, parse_address, terminal
from rig.devices.signals.timing import plan_sweep_timing, timebase_divisor

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "hardware_profiles"


def test_addresses():
    assert parse_address("Dev1/ai3").io_type == "ai" and parse_address("Dev1/ai3").index == 3
    line = parse_address("/Dev2/port0/line7")
    assert (line.device, line.io_type, line.port, line.index, line.name) == ("Dev2", "do", 0, 7, "Dev2/port0/line7")
    assert parse_address("Dev1/ctr1").io_type == "ctr"
    with pytest.raises(ValueError, match="not an NI channel address"):
        parse_address("SimDev1/pfi3")
    assert terminal("Dev1", "ai/SampleClock") == "/Dev1/ai/SampleClock"
    assert counter_output_terminal("Dev1", "ctr1") == "/Dev1/Ctr1InternalOutput"


def test_rates_must_divide_the_timebase():
    assert timebase_divisor(50_000, 100e6) == 2000
    assert timebase_divisor(62_500, 100e6) == 1600
    with pytest.raises(ValueError, match="nearest exact rates"):
        timebase_divisor(30_000, 100e6)  # 3333.33 ticks


def test_ai_master_timing():
    t = plan_sweep_timing("Dev1", "ai", ["do", "ao", "ai"], 50_000, 1234)
    assert t.master == "ai" and t.start_order == ("ao", "do", "ai")
    assert t.tasks["ai"].clock_source == "" and t.tasks["ai"].start_trigger is None
    for role in ("ao", "do"):
        assert t.tasks[role].clock_source == "/Dev1/ai/SampleClock"
        assert t.tasks[role].start_trigger == "/Dev1/ai/StartTrigger"
        assert t.tasks[role].samples_per_channel == 1234 and not t.tasks[role].continuous
    outputs_only = plan_sweep_timing("Dev1", "ai", ["ao", "do"], 50_000, 10)
    assert outputs_only.master == "ao" and outputs_only.tasks["do"].clock_source == "/Dev1/ao/SampleClock"


def test_counter_timing_and_continuous_buffers():
    t = plan_sweep_timing("Dev1", "counter", ["ai", "ao"], 40_000, 800, continuous=True)
    assert t.master == "ctr" and t.start_order == ("ai", "ao", "ctr")
    assert t.counter is not None and (t.counter.high_ticks, t.counter.low_ticks) == (1250, 1250)
    assert t.counter.timebase == "/Dev1/100MHzTimebase"
    assert {t.tasks[r].clock_source for r in ("ai", "ao")} == {"/Dev1/Ctr0InternalOutput"}
    assert t.tasks["ai"].samples_per_channel == 40_000  # one second of input buffer
    assert t.tasks["ao"].samples_per_channel == 800 and t.tasks["ao"].regenerate
    odd = plan_sweep_timing("Dev1", "counter", ["ai"], 1e8 / 2001, 10)
    assert odd.counter.high_ticks + odd.counter.low_ticks == 2001
    with pytest.raises(ValueError, match="at least one"):
        plan_sweep_timing("Dev1", "ai", [], 1000, 10)


def test_channel_map_of_the_two_photon_profile():
    profile = load_profile(PROFILES / "two_photon_rig.yaml").profile
    cmap = ChannelMap(profile)
    assert cmap.channels["scanner.x"].io_type == "ao" and cmap.channels["shutter.open"].io_type == "do"
    assert (cmap.channels["laser.power"].min_V, cmap.channels["laser.power"].max_V) == (0.0, 2.0)
    np.testing.assert_allclose(cmap.to_hardware("scanner.y", np.array([8.0])), [0.1])
    np.testing.assert_array_equal(cmap.to_hardware("stimulator.trigger", np.array([0.0, 1.0])), [False, True])
    np.testing.assert_allclose(cmap.to_hardware("amplifier.command", -70.0), [-3.5])
    cmap.amplifiers["amplifier"].mode = "CC"
    np.testing.assert_allclose(cmap.to_hardware("amplifier.command", 200.0), [0.5])
    np.testing.assert_allclose(cmap.from_hardware("amplifier.primary", np.array([-0.6])), [-60.0])  # mV in CC
    with pytest.raises(ValueError, match="only 0 and 1"):
        cmap.to_hardware("shutter.open", np.array([0.5]))


def test_ccd_profile_keeps_the_micromanager_shutter_off_the_daq_but_not_the_camera_trigger():
    cmap = ChannelMap(load_profile(PROFILES / "ccd_rig.yaml").profile)
    assert "lamp_shutter.open" not in cmap.channels
    assert cmap.channels["camera.trigger"].physical.name == "Dev1/port0/line0"


def test_shipped_profiles_pass_the_ni_checks():
    for name in ("two_photon_rig.yaml", "ccd_rig.yaml"):
        loaded = load_profile(PROFILES / name)
        assert check_ni_profile(loaded.profile, name) == []


def test_ni_profile_problems_are_named():
    data = load_profile(PROFILES / "two_photon_rig.yaml").profile.model_dump()
    data["devices"]["shutter"]["channels"]["open"] = "Dev1/port1/line0"
    data["devices"]["stimulator"]["channels"]["trigger"] = "Dev1/ao1"  # already the x galvo
    data["devices"]["laser"]["calibration"] = None
    data["devices"]["scanner"]["pmts"]["red"]["channel"] = "Dev2/ai3"
    data["devices"]["amplifier"]["telegraph"]["gain"] = "Dev1/ao2"
    data["devices"]["camera"] = {"kind": "camera", "channels": {"trigger": "Dev1/port0/line5"}}
    problems = check_ni_profile(HardwareProfile.model_validate(data), "p.yaml")
    text = "\n".join(f"{p.field}: {p.message}" for p in problems)
    assert "only port0 lines are hardware-timed" in text
    assert "is also used by scanner.x" in text
    assert "devices.laser.calibration" in text
    assert "must be on the master DAQ daq.device = Dev1" in text
    assert "telegraph.gain" in text and "must be an analog input" in text
    assert "devices.camera.backend: a camera needs a frame backend" in text
    assert len(problems) == 6


def test_simulated_profile_is_unchanged_by_the_new_optional_fields():
    profile = load_profile(PROFILES / "simulated.yaml").profile
    assert profile.micromanager is None and profile.daq.timing.clock == "ai"
    assert profile.devices["laser"].calibration is None and profile.devices["amplifier"].telegraph is None
