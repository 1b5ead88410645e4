"""The DAQmx hardware watchdog: which lines it drives (pure), and the WatchdogTask calls through nidaqmx's real code.

The driver boundary is faked as in test_ni_driver.py (tests/nidaqmx_boundary.py): nidaqmx's interpreter is an autospec and
FakeDaqmx answers it, so nidaqmx.system.WatchdogTask runs its own code down to the driver call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nidaqmx.constants import Level, WatchdogAOExpirState, WDTTaskAction
from nidaqmx_boundary import FakeDaqmx, daqmx, interpreter  # noqa: F401 - fixtures

from rig.backends.ni.backend import build_rig
from rig.backends.ni.clock import NiDaqClock
from rig.backends.ni.watchdog import check_watchdog, light_warnings, plan_watchdog
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.channel_map import ChannelMap
from rig.hal.watchdog import DEFAULT_TIMEOUT_MS, WatchdogExpired, guarded_outputs
from rig.protocols.protocol_file import compile_protocol, load_protocol

ROOT = Path(__file__).resolve().parents[1]
TWO_PHOTON = ROOT / "hardware_profiles" / "two_photon_rig.yaml"
CCD = ROOT / "hardware_profiles" / "ccd_rig.yaml"


def frap_plan() -> SweepPlan:
    """The shipped FRAP protocol compiled for the two-photon profile."""
    return compile_protocol(load_protocol(ROOT / "protocols" / "frap.yaml", ["sweeps=1"]),
                            load_profile(TWO_PHOTON)).plans[0]

RESET, CLEAR = WDTTaskAction.RESET_TIMER.value, WDTTaskAction.CLEAR_EXPIRATION.value


def _profile(path: Path):
    return load_profile(path).profile


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1))
    return path


# ----- pure: which lines, which states, what is left unguarded --------------------------
def test_two_photon_plan_guards_the_shutter_and_stimulator_lines_not_the_analog_outputs():
    profile = _profile(TWO_PHOTON)
    plan = plan_watchdog(profile, ChannelMap(profile))
    assert plan.device == "Dev1" and plan.timeout_ms == DEFAULT_TIMEOUT_MS and plan.timeout_s == 0.5
    assert [(e.channel, e.physical, e.high) for e in plan.lines] == [
        ("shutter.open", "Dev1/port0/line0", False), ("stimulator.trigger", "Dev1/port0/line1", False)]
    assert plan.analog == ()
    unguarded = {u.channel: u for u in plan.unguarded}
    assert set(unguarded) == {"amplifier.command", "scanner.x", "scanner.y", "laser.power"}
    assert "without AO expiration states" in unguarded["laser.power"].reason
    assert light_warnings(plan, profile) == []  # the Pockels sits behind a guarded TTL shutter


def test_ccd_plan_guards_leds_camera_trigger_and_stimulator_but_cannot_reach_the_micromanager_shutter():
    profile = _profile(CCD)
    plan = plan_watchdog(profile, ChannelMap(profile))
    assert {e.channel for e in plan.lines} == {"camera.trigger", "leds.uv385", "leds.green520", "stimulator.trigger"}
    assert all(not e.high and e.safe_value == 0.0 for e in plan.lines)
    shutter = next(u for u in plan.unguarded if u.channel == "lamp_shutter.open")
    assert "not wired to the DAQ" in shutter.reason
    assert set(guarded_outputs(profile)) >= {e.channel for e in plan.lines}


def test_boards_with_ao_expiration_states_also_get_the_safe_analog_levels():
    profile = _profile(TWO_PHOTON)
    plan = plan_watchdog(profile, ChannelMap(profile), ao_expiration_states=True)
    volts = {e.channel: e.volts for e in plan.analog}
    assert volts == {"amplifier.command": pytest.approx(-3.5), "scanner.x": 0.0, "scanner.y": 0.0,
                     "laser.power": 0.0}  # -70 mV at 20 mV/V; galvos at the field centre; Pockels at 0 power
    assert plan.unguarded == ()


def test_a_laser_without_a_guarded_shutter_is_named(tmp_path):
    text = TWO_PHOTON.read_text()
    start = text.index("  shutter:\n")
    path = tmp_path / "no_shutter.yaml"
    path.write_text(text[:start] + text[text.index("  stimulator:\n"):])
    profile = _profile(path)
    (warning,) = light_warnings(plan_watchdog(profile, ChannelMap(profile)), profile)
    assert warning.startswith("laser:") and "shutter" in warning


def test_is_safe_needs_every_guarded_line_known_at_its_safe_value():
    profile = _profile(TWO_PHOTON)
    plan = plan_watchdog(profile, ChannelMap(profile))
    assert plan.is_safe({"shutter.open": 0.0, "stimulator.trigger": 0.0, "laser.power": 0.3})  # AO: not guarded
    assert not plan.is_safe({"shutter.open": 1.0, "stimulator.trigger": 0.0})
    assert not plan.is_safe({"shutter.open": float("nan"), "stimulator.trigger": 0.0})
    assert not plan.is_safe({"stimulator.trigger": 0.0})


def test_a_timeout_shorter_than_a_few_chunk_reads_is_refused(tmp_path, daqmx):
    path = _edited(tmp_path, TWO_PHOTON, "read_chunk_ms: 20 ", "read_chunk_ms: 200 ")
    (problem,) = check_watchdog(_profile(path), str(path))
    assert problem.field == "daq.watchdog_timeout_ms" and "read_chunk_ms = 200 ms" in problem.message
    with pytest.raises(InvalidInput, match="watchdog_timeout_ms"):
        build_rig(load_profile(path))
    assert daqmx.calls("create_watchdog_timer_task_ex") == []


# ----- the driver: WatchdogTask calls ---------------------------------------------------
def test_watchdog_is_armed_before_any_sweep_task_fed_per_chunk_and_disarmed_when_safe(daqmx):
    rig = build_rig(load_profile(TWO_PHOTON))
    assert daqmx.calls("create_watchdog_timer_task_ex") == []  # building touches nothing
    rig.make_safe()  # every guarded line known to be low (until then the watchdog cannot know they are safe)
    plan = frap_plan()
    for device in rig.devices.values():
        device.configure(plan)
    rig.clock.load(plan)
    assert daqmx.calls("create_watchdog_timer_task_ex") == [("Dev1", "spinerig-watchdog", 0.5)]
    h = daqmx.handle("spinerig-watchdog")
    names = [t["name"] for t in daqmx.tasks.values()]
    assert names.index("spinerig-watchdog") < names.index("spinerig-ai")  # armed before the sweep's tasks exist
    (_, lines, states), = daqmx.calls("cfg_watchdog_do_expir_states", h)
    assert lines == "Dev1/port0/line0:1"
    np.testing.assert_array_equal(states, [Level.LOW.value, Level.LOW.value])
    assert [c[0] for c in daqmx.calls("start_task")] == [h]  # armed; no sweep task started yet
    rig.clock.start()
    resets_at_start = daqmx.calls("control_watchdog_task", h).count((h, RESET))
    n_reads = 0
    while rig.clock.read() is not None:
        n_reads += 1
    assert n_reads == -(-plan.n_samples // 1000)  # 20 ms chunks, the last one short
    assert daqmx.calls("control_watchdog_task", h).count((h, RESET)) - resets_at_start == n_reads + 1
    assert (h,) in daqmx.calls("stop_task", h)  # every sample out, shutter closed: nothing left to guard
    assert not rig.clock.watchdog.armed
    rig.clock.stop()
    rig.clock.close()
    assert (h,) in daqmx.calls("clear_task", h)


def test_an_expiry_mid_sweep_stops_it_and_make_safe_clears_the_expiry_before_writing(daqmx):
    rig = build_rig(load_profile(TWO_PHOTON))
    plan = frap_plan()
    rig.clock.load(plan)
    rig.clock.start()
    rig.clock.read()
    daqmx.expire()  # as if the program had hung for longer than the timeout
    with pytest.raises(WatchdogExpired, match="expired"):
        rig.clock.read()
    reports = rig.make_safe()
    h = daqmx.handle("spinerig-watchdog")
    assert (h, CLEAR) in daqmx.calls("control_watchdog_task", h)
    assert (h,) in daqmx.calls("stop_task", h)
    assert all(r.safe for r in reports)
    assert rig.clock.watchdog.expiries == 1


def test_an_expiry_left_while_armed_is_cleared_when_the_next_sweep_arms(daqmx):
    profile = _profile(TWO_PHOTON)
    clock = NiDaqClock(profile, ChannelMap(profile))
    n = 500
    live = SweepPlan(0, "live", "frame", 0, 50_000.0, n, {"shutter.open": np.ones(n)}, ("scanner.red",))
    clock.load(live, continuous=True)
    clock.start()
    clock.read()
    clock.stop()  # cut at an unknown sample: the shutter may be open, so the watchdog stays armed
    assert clock.watchdog.armed
    h = daqmx.handle("spinerig-watchdog")
    daqmx.expire()
    clock.load(frap_plan())
    calls = daqmx.calls("control_watchdog_task", h)
    assert calls[-2:] == [(h, CLEAR), (h, RESET)]  # re-armed: expiry cleared, timer restarted
    assert daqmx.tasks[h]["expired"] is False
    clock.stop()


def test_outputs_only_sweep_waits_in_slices_and_keeps_feeding(daqmx, interpreter):
    profile = _profile(TWO_PHOTON)
    clock = NiDaqClock(profile, ChannelMap(profile))
    n = 5000
    shutter = np.ones(n)
    shutter[-1] = 0
    interpreter.is_task_done.side_effect = [False, False, False, True]
    clock.load(SweepPlan(0, "ttl", "ttl", 0, 50_000.0, n, {"shutter.open": shutter, "stimulator.trigger": np.zeros(n)},
                         ()))
    clock.start()
    h = daqmx.handle("spinerig-watchdog")
    before = daqmx.calls("control_watchdog_task", h).count((h, RESET))
    assert clock.read() is None
    assert daqmx.calls("control_watchdog_task", h).count((h, RESET)) - before == 4  # once on entry, once per slice
    assert not clock.watchdog.armed  # the shutter ended closed
    clock.stop()


def test_ao_expiration_states_are_configured_in_volts(daqmx):
    profile = _profile(TWO_PHOTON)
    channels = ChannelMap(profile)
    plan = plan_watchdog(profile, channels, ao_expiration_states=True)
    clock = NiDaqClock(profile, channels, watchdog_plan=plan)
    clock.load(frap_plan())
    h = daqmx.handle("spinerig-watchdog")
    (_, names, volts, kinds), = daqmx.calls("cfg_watchdog_ao_expir_states", h)
    assert names == "Dev1/ao0:3"  # amplifier command, galvo x and y, Pockels
    np.testing.assert_allclose(volts, [-3.5, 0.0, 0.0, 0.0])
    assert set(kinds) == {WatchdogAOExpirState.VOLTAGE.value}
    clock.stop()


def test_a_sweep_refused_while_loading_leaves_the_watchdog_disarmed(daqmx):
    rig = build_rig(load_profile(TWO_PHOTON))
    rig.make_safe()
    n = 1000
    bad = SweepPlan(0, "x", "x", 0, 50_000.0, n, {"scanner.x": np.full(n, 1000.0), "shutter.open": np.ones(n)},
                    ("scanner.red",))
    with pytest.raises(ValueError, match="beyond the"):
        rig.clock.load(bad)  # 12.5 V on the galvo: refused before any task runs
    h = daqmx.handle("spinerig-watchdog")
    assert (h,) in daqmx.calls("start_task", h) and (h,) in daqmx.calls("stop_task", h)
    assert not rig.clock.watchdog.armed


def test_the_profile_timeout_reaches_the_watchdog_task_and_a_too_short_one_is_refused(tmp_path, daqmx):
    path = _edited(tmp_path, TWO_PHOTON, "  device: Dev1 ", "  watchdog_timeout_ms: 250\n  device: Dev1 ")
    rig = build_rig(load_profile(path))
    rig.clock.load(frap_plan())
    assert daqmx.calls("create_watchdog_timer_task_ex") == [("Dev1", "spinerig-watchdog", 0.25)]
    rig.clock.stop()
    short = _edited(tmp_path, TWO_PHOTON, "  device: Dev1 ", "  watchdog_timeout_ms: 80\n  device: Dev1 ")
    (problem,) = check_watchdog(_profile(short), str(short))
    assert "shorter than 5 chunk reads" in problem.message


def test_rig_validate_refuses_a_watchdog_timeout_shorter_than_five_chunk_reads(tmp_path, capsys):
    """The timeout check runs in `rig validate`, one line naming the field, before any rig is built."""
    from rig.cli import main

    text = TWO_PHOTON.read_text()
    assert "read_chunk_ms: 20" in text
    path = tmp_path / "rig.yaml"
    path.write_text(text.replace("read_chunk_ms: 20", "read_chunk_ms: 40", 1).replace(
        "  device: Dev1 ", "  watchdog_timeout_ms: 150\n  device: Dev1 ", 1))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path.name}: daq.watchdog_timeout_ms: 150 ms is shorter than 5 chunk reads" in err
