"""The NI driver layer through the real nidaqmx package, its interpreter replaced by an autospec.

tests/nidaqmx_boundary.py installs a `create_autospec(BaseInterpreter)` as nidaqmx's interpreter;
every Task method then runs nidaqmx's real code down to the interpreter call, so these tests assert
the exact DAQmx configuration and data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nidaqmx.constants import (
    AcquisitionType,
    Edge,
    FillMode,
    Level,
    LineGrouping,
    RegenerationMode,
    TerminalConfiguration,
    VoltageUnits,
)
from nidaqmx_boundary import (  # noqa: F401 - fixtures
    REGEN_MODE,
    FakeDaqmx,
    daqmx,
    install_missing_driver,
    interpreter,
)

from rig.backends.ni.backend import build_rig
from rig.backends.ni.clock import NiDaqClock
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.amplifier import AmplifierStateError, PatchAmplifier
from rig.devices.channel_map import ChannelMap
from rig.hal.interfaces import Device
from rig.protocols.protocol_file import compile_protocol, load_protocol

ROOT = Path(__file__).resolve().parents[1]
TWO_PHOTON = ROOT / "hardware_profiles" / "two_photon_rig.yaml"
CCD = ROOT / "hardware_profiles" / "ccd_rig.yaml"
FRAP = ROOT / "protocols" / "frap.yaml"

def frap_plan() -> SweepPlan:
    """The shipped FRAP protocol compiled for the two-photon profile (50 kHz: 80 px / 0.8 x 500 Hz)."""
    compiled = compile_protocol(load_protocol(FRAP, ["sweeps=1"]), load_profile(TWO_PHOTON))
    return compiled.plans[0]


def test_build_rig_through_the_registry_string(daqmx):
    import importlib

    module, _, func = "rig.backends.ni.backend:build_rig".partition(":")
    rig = getattr(importlib.import_module(module), func)(load_profile(TWO_PHOTON))
    assert set(rig.devices) == {"amplifier", "scanner", "laser", "shutter", "stimulator"}
    assert all(isinstance(d, Device) for d in rig.devices.values())
    assert rig.truth is None
    assert daqmx.calls("create_task") == []  # building touches no channel


def test_build_rig_without_driver_is_a_clear_problem(monkeypatch):
    install_missing_driver(monkeypatch)
    with pytest.raises(InvalidInput) as err:
        build_rig(load_profile(TWO_PHOTON))
    text = str(err.value)
    assert "NI-DAQmx" in text and "rig doctor" in text


def test_frap_sweep_tasks_clock_trigger_and_data(daqmx):
    rig = build_rig(load_profile(TWO_PHOTON))
    plan = frap_plan()
    assert plan.sample_rate_hz == 50_000.0
    for device in rig.devices.values():
        device.configure(plan)
    rig.clock.load(plan)
    h_ai, h_ao, h_do = daqmx.handle("spinerig-ai"), daqmx.handle("spinerig-ao"), daqmx.handle("spinerig-do")
    n = plan.n_samples
    rse, volts = TerminalConfiguration.RSE.value, VoltageUnits.VOLTS.value
    assert daqmx.calls("create_ai_voltage_chan", h_ai) == [
        (h_ai, "Dev1/ai2", "scanner.green", rse, -2.0, 2.0, volts, ""),
        (h_ai, "Dev1/ai3", "scanner.red", rse, -2.0, 2.0, volts, ""),
        (h_ai, "Dev1/ai0", "amplifier.primary", rse, -10.0, 10.0, volts, ""),
        (h_ai, "Dev1/ai1", "amplifier.secondary", rse, -10.0, 10.0, volts, "")]
    assert daqmx.calls("create_ao_voltage_chan", h_ao) == [
        (h_ao, "Dev1/ao1", "scanner.x", -5.0, 5.0, volts, ""),
        (h_ao, "Dev1/ao2", "scanner.y", -5.0, 5.0, volts, ""),
        (h_ao, "Dev1/ao3", "laser.power", 0.0, 2.0, volts, ""),
        (h_ao, "Dev1/ao0", "amplifier.command", -10.0, 10.0, volts, "")]
    assert daqmx.calls("create_do_chan", h_do) == [
        (h_do, "Dev1/port0/line0", "shutter.open", LineGrouping.CHAN_PER_LINE.value)]
    rising, finite = Edge.RISING.value, AcquisitionType.FINITE.value
    assert daqmx.calls("cfg_samp_clk_timing", h_ai) == [(h_ai, 50_000.0, "", rising, finite, n)]
    for h in (h_ao, h_do):
        assert daqmx.calls("cfg_samp_clk_timing", h) == [(h, 50_000.0, "/Dev1/ai/SampleClock", rising, finite, n)]
        assert daqmx.calls("cfg_dig_edge_start_trig", h) == [(h, "/Dev1/ai/StartTrigger", rising)]
    assert daqmx.calls("cfg_dig_edge_start_trig", h_ai) == []

    (_, n_ao, auto, _, layout, ao), = daqmx.calls("write_analog_f64", h_ao)
    assert (n_ao, auto, layout) == (n, False, FillMode.GROUP_BY_CHANNEL.value)
    x_um = plan.outputs["scanner.x"].astype(np.float64)
    np.testing.assert_allclose(ao[0], x_um * 0.0125)
    power = ao[2]
    assert np.count_nonzero(power == 2.0) == 25  # the 0.5 ms bleach at 50 kHz: exactly 25 samples at full power
    bleach = np.flatnonzero(power == 2.0)
    assert np.all(np.diff(bleach) == 1)
    assert bleach[0] == int(round(plan.events_ms["bleach_start"] * 50))
    imaging = 0.25 + (0.1 - 0.0381) / (0.1464 - 0.0381) * 0.25  # between the 0.25 V and 0.5 V table points
    assert np.isclose(power[plan.line_scan.first_sample], imaging, rtol=1e-5)
    assert power[plan.line_scan.first_sample + 80] == 0.0  # flyback blanked
    np.testing.assert_allclose(ao[3], -70.0 / 20.0)  # -70 mV at 20 mV/V
    (_, n_do, auto, _, _, do), = daqmx.calls("write_digital_lines", h_do)
    assert (n_do, auto) == (n, False)
    assert do.dtype == bool and do[:-2].all() and not do[-2:].any()

    rig.clock.start()
    h_wd = daqmx.handle("spinerig-watchdog")
    started = [c[0] for c in daqmx.calls("start_task")]
    assert started == [h_wd, h_ao, h_do, h_ai]  # watchdog armed at load; followers next, the AI (master clock) last
    chunk = rig.clock.read()
    assert daqmx.calls("read_analog_f64", h_ai)[0][1] == 1000  # 20 ms chunks at 50 kHz
    np.testing.assert_allclose(chunk["amplifier.primary"], 0.1 * 1000 / 0.5)  # 0.1 V at 0.5 mV/pA -> 200 pA
    np.testing.assert_allclose(chunk["amplifier.secondary"], -0.7 * 1000 / 10)  # -70 mV
    np.testing.assert_allclose(chunk["scanner.red"], 0.5)  # inverted preamp
    while rig.clock.read() is not None:
        pass
    rig.clock.stop()
    assert [c[0] for c in daqmx.calls("stop_task")] == [h_ai, h_do, h_ao]
    assert {c[0] for c in daqmx.calls("clear_task")} >= {h_ai, h_ao, h_do}
    assert rig.clock.held["laser.power"] == 0.0 and rig.clock.held["shutter.open"] == 0.0


def test_counter_clock_drives_every_task_and_starts_last(daqmx):
    profile = load_profile(CCD).profile
    clock = NiDaqClock(profile, ChannelMap(profile))
    n = 2000
    frames = np.zeros(n)
    frames[::100] = 1
    led = np.zeros(n)
    led[10:60] = 1
    stim = np.zeros(n)
    stim[500:510] = 1.0
    plan = SweepPlan(0, "nac", "nac", 0, 50_000.0, n, {"camera.trigger": frames, "leds.uv385": led,
                     "stimulator.trigger": stim, "amplifier.command": np.full(n, -70.0)},
                     ("amplifier.primary",), "amplifier", "VC")
    clock.load(plan)
    h_ctr = daqmx.handle("spinerig-ctr")
    assert daqmx.calls("create_co_pulse_chan_ticks", h_ctr) == [
        (h_ctr, "Dev1/ctr0", "/Dev1/100MHzTimebase", "sweep_clock", Level.LOW.value, 2, 1000, 1000)]
    assert daqmx.calls("cfg_implicit_timing", h_ctr) == [(h_ctr, AcquisitionType.FINITE.value, n)]
    for role in ("ai", "ao", "do"):
        h = daqmx.handle(f"spinerig-{role}")
        (_, rate, source, *_), = daqmx.calls("cfg_samp_clk_timing", h)
        assert (rate, source) == (50_000.0, "/Dev1/Ctr0InternalOutput")
        assert daqmx.calls("cfg_dig_edge_start_trig", h) == []
    h_do = daqmx.handle("spinerig-do")
    assert [c[1] for c in daqmx.calls("create_do_chan", h_do)] == ["Dev1/port0/line0", "Dev1/port0/line1",
                                                                   "Dev1/port0/line3"]
    (*_, do), = daqmx.calls("write_digital_lines", h_do)
    np.testing.assert_array_equal(do, np.stack([frames, led, stim]).astype(bool))
    clock.start()
    assert [c[0] for c in daqmx.calls("start_task")][-1] == h_ctr
    clock.stop()


def test_continuous_mode_regenerates_outputs_and_reads_on(daqmx):
    profile = load_profile(TWO_PHOTON).profile
    clock = NiDaqClock(profile, ChannelMap(profile))
    n = 500
    plan = SweepPlan(0, "live", "frame", 0, 50_000.0, n, {"scanner.x": np.linspace(-5, 5, n)},
                     ("scanner.red",))
    clock.load(plan, continuous=True)
    h_ao, h_ai = daqmx.handle("spinerig-ao"), daqmx.handle("spinerig-ai")
    cont = AcquisitionType.CONTINUOUS.value
    assert daqmx.calls("cfg_samp_clk_timing", h_ao)[0][4:] == (cont, n)
    assert daqmx.calls("cfg_samp_clk_timing", h_ai)[0][4:] == (cont, 50_000)  # one second of input buffer
    assert (h_ao, REGEN_MODE, RegenerationMode.ALLOW_REGENERATION.value) in daqmx.calls("set_write_attribute_int32")
    clock.start()
    total = sum(len(clock.read()["scanner.red"]) for _ in range(3))
    assert total == 3 * 1000 > n  # continuous: chunks keep coming past the buffer length
    clock.stop()
    assert np.isnan(clock.held["scanner.x"])  # cut at an unknown sample: must be made safe explicitly


def test_static_writes_of_every_device_type(daqmx):
    rig = build_rig(load_profile(TWO_PHOTON))
    for device in rig.devices_in_safe_order():
        device.make_safe()
    written = {}
    for task_name in ("spinerig-static-ao", "spinerig-static-do"):
        for h, t in daqmx.tasks.items():
            if t["name"] == task_name:
                physical = t["chans"][0][1]
                method = "write_analog_f64" if task_name.endswith("ao") else "write_digital_lines"
                (_, n, auto_start, _, _, data), = daqmx.calls(method, h)
                assert (n, auto_start) == (1, True)  # one sample, written on demand
                written[physical] = data.item()
    assert written == {"Dev1/ao3": 0.0, "Dev1/port0/line0": False, "Dev1/port0/line1": False,
                       "Dev1/ao1": 0.0, "Dev1/ao2": 0.0, "Dev1/ao0": -3.5}
    assert all(d.safety().safe for d in rig.devices.values())
    rig.devices["scanner"].park(10.0, -4.0)
    h = daqmx.handle("spinerig-static-ao")
    assert daqmx.calls("write_analog_f64", h)[0][5].item() == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="beyond"):
        rig.devices["scanner"].park(1000.0, 0.0)  # 12.5 V: refused, never clipped


def test_amplifier_in_cc_is_made_safe_in_pA_and_refuses_a_vc_sweep(interpreter):
    daqmx = FakeDaqmx(interpreter, {"Dev1/ai6": 2.05, "Dev1/ai7": 2.0})  # telegraph: CC, gain 1
    rig = build_rig(load_profile(TWO_PHOTON))
    amp = rig.devices["amplifier"]
    assert isinstance(amp, PatchAmplifier)
    with pytest.raises(AmplifierStateError, match="is in CC but the protocol expects VC"):
        amp.configure(frap_plan())
    amp.make_safe()
    h = daqmx.handle("spinerig-static-ao")
    assert daqmx.calls("write_analog_f64", h)[0][5].item() == 0.0  # 0 pA, not -70 mV scaled as pA
    report = amp.safety()
    assert report.safe and "CC holding 0 pA" in report.detail and "safe mode is VC" in report.detail


def test_gain_telegraph_mismatch_stops_the_sweep(interpreter):
    FakeDaqmx(interpreter, {"Dev1/ai6": 6.0, "Dev1/ai7": 3.5})  # VC, gain 10
    rig = build_rig(load_profile(TWO_PHOTON))
    with pytest.raises(AmplifierStateError, match="gain is 10 but the profile expects 1"):
        rig.devices["amplifier"].configure(frap_plan())


def test_runner_refuses_sweep_and_leaves_rig_safe_on_wrong_mode(interpreter, tmp_path):
    from rig.datatypes.records import RunStarted
    from rig.engine.runner import Runner
    from rig.engine.stream import Stream

    daqmx = FakeDaqmx(interpreter, {"Dev1/ai6": 2.0, "Dev1/ai7": 2.0})  # CC
    rig = build_rig(load_profile(TWO_PHOTON))
    plan = frap_plan()
    stream = Stream()
    header = RunStarted("frap", "", "", "", "", {}, (plan,), None, 0.0)
    with pytest.raises(AmplifierStateError):
        Runner(rig, stream).run(header)
    stream.close()
    assert "spinerig-ai" not in {t["name"] for t in daqmx.tasks.values()}  # nothing was clocked
    assert all(d.safety().safe for d in rig.devices.values())


def test_leds_clocked_by_the_camera_exposure_step_once_per_frame(daqmx, tmp_path):
    """LED lines on the camera's exposure-out: their own task, sampled on the PFI line, one sample per frame."""
    text = CCD.read_text().replace("    clock: master ", "    clock: camera_exposure\n"
                                   "    exposure_out_terminal: /Dev1/PFI0\n   ", 1)
    path = tmp_path / "ccd_exposure_leds.yaml"
    path.write_text(text)
    profile = load_profile(path).profile
    clock = NiDaqClock(profile, ChannelMap(profile))
    n, period, exposure = 2000, 100, 60
    trigger = np.zeros(n)
    uv, green = np.zeros(n), np.zeros(n)
    for k in range(n // period):
        trigger[k * period:k * period + 10] = 1
        (uv if k % 2 == 0 else green)[k * period:k * period + exposure] = 1
    from rig.datatypes.layouts import CameraAcquisition

    camera = CameraAcquisition("camera", "camera.trigger", n // period, 1.0, 1, (0, 0, 80, 80))
    plan = SweepPlan(0, "nac", "na_ca", 0, 50_000.0, n, {"camera.trigger": trigger, "leds.uv385": uv,
                     "leds.green520": green, "amplifier.command": np.full(n, -70.0)},
                     ("amplifier.primary",), "amplifier", "VC", camera=camera)
    clock.load(plan)
    h_led = daqmx.handle("spinerig-led")
    assert [c[1] for c in daqmx.calls("create_do_chan", h_led)] == ["Dev1/port0/line1", "Dev1/port0/line2"]
    (_, rate, source, edge, mode, samples), = daqmx.calls("cfg_samp_clk_timing", h_led)
    assert (source, edge, mode, samples) == ("/Dev1/PFI0", Edge.RISING.value, AcquisitionType.FINITE.value, 20)
    (*_, pattern), = daqmx.calls("write_digital_lines", h_led)
    expected = np.stack([np.arange(20) % 2 == 0, np.arange(20) % 2 == 1])
    np.testing.assert_array_equal(pattern, expected)
    h_do = daqmx.handle("spinerig-do")  # the master-clocked lines no longer carry the LEDs
    assert "Dev1/port0/line1" not in [c[1] for c in daqmx.calls("create_do_chan", h_do)]
    clock.start()
    starts = [c[0] for c in daqmx.calls("start_task")]
    assert starts[:2] == [daqmx.handle("spinerig-watchdog"), h_led]  # watchdog, then LEDs before the master clock
    clock.stop()
    assert h_led in {c[0] for c in daqmx.calls("clear_task")}


def test_exposure_clock_needs_its_terminal(tmp_path, capsys):
    from rig.cli import main

    text = CCD.read_text().replace("    clock: master ", "    clock: camera_exposure\n   ", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    assert "needs exposure_out_terminal" in capsys.readouterr().err
