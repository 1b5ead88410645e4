"""The simulated rig's hardware watchdog, with real processes: fed, starved, stopped, killed, closed.

Every time compared with the watchdog timeout is one the simulated hardware journal recorded
(the watchdog process writes how long it went without a feed); the test's own clock is used
only for generous deadlines while polling. The watchdog must never act before its timeout; how
long after it acts depends on how the machine schedules its process, so that latency is measured
(benchmarks/bench_watchdog.py), not asserted here: on a loaded 2-core machine it reached 7.6 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.config.profile import load_profile
from rig.hal.watchdog import DEFAULT_TIMEOUT_MS, WatchdogExpired, guarded_outputs, watchdog_timeout_ms
from simulated_devices.journal import final_state, process_gone, read_events, wait_for_event
from simulated_devices.watchdog import SimulatedWatchdog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")

LIGHT = ("laser.power", "shutter.open", "leds.uv385", "leds.blue460", "leds.green520")


def _wait_gone(pid: int, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not process_gone(pid):
        assert time.monotonic() < end, f"watchdog process {pid} outlived its parent"
        time.sleep(0.02)


def _light_state(events: list[dict]) -> dict[str, float]:
    return final_state(events, LIGHT)


def _assert_expired_in_time(event: dict, timeout_ms: float) -> None:
    assert event["since_feed_ms"] >= timeout_ms, event  # never early
    assert event["t"] - event["last_feed_t"] == pytest.approx(event["since_feed_ms"] / 1000.0, abs=1e-3)
    assert set(event["applied"].values()) == {0.0}


def _start_run(tmp_path: Path, journal: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    return subprocess.Popen([sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(tmp_path / "out"), "--quiet",
                             *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _light_on(event: dict) -> bool:
    return event["event"] == "light" and event["on"] and event["held"]["shutter.open"] == 1.0


# ----- pure ---------------------------------------------------------------------------------
def test_the_simulated_profile_guards_every_light_and_trigger_output_with_its_timeout():
    profile = load_profile(PROFILE).profile
    assert guarded_outputs(profile) == {c: 0.0 for c in (*LIGHT, "stimulator.trigger", "camera.trigger")}
    assert DEFAULT_TIMEOUT_MS == 500.0  # a real rig's default; the simulated profiles allow a loaded CI machine
    assert watchdog_timeout_ms(profile) == 2000.0


# ----- the watchdog process on its own ------------------------------------------------------
def test_a_fed_watchdog_stays_quiet_and_a_starved_one_expires_within_its_timeout(tmp_path):
    journal = tmp_path / "journal.jsonl"
    wd = SimulatedWatchdog({"shutter.open": 0.0, "laser.power": 0.0}, 1000.0, journal)
    try:
        wd.arm()
        wd.report({"shutter.open": 1.0, "laser.power": 0.1})
        end = time.monotonic() + 3.0  # three timeouts of steady feeding, every 10 ms
        while time.monotonic() < end:
            wd.feed()
            time.sleep(0.01)
        assert wd.expiries == 0 and not journal.exists()
        event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired", deadline_s=30)
        assert event["cause"] == "timeout" and event["pid"] == wd.pid
        _assert_expired_in_time(event, 1000.0)
        assert event["held_before"] == {"shutter.open": 1.0, "laser.power": pytest.approx(0.1)}
        with pytest.raises(WatchdogExpired):
            wd.feed()
        wd.arm()  # re-armed: the expiry is cleared
        wd.feed()
        assert wd.expiries == 1
    finally:
        wd.close()
    _wait_gone(wd.pid, deadline_s=5)


def test_time_in_simulated_hardware_is_not_program_time(tmp_path):
    journal = tmp_path / "journal.jsonl"
    wd = SimulatedWatchdog({"shutter.open": 0.0}, 200.0, journal)
    try:
        wd.arm()
        wd.simulating(True)  # a long chunk of specimen physics: the board would not be waiting for the program
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            time.sleep(0.02)
        assert wd.expiries == 0
        wd.simulating(False)  # the program has control again, and now stops feeding
        event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired", deadline_s=30)
        _assert_expired_in_time(event, 200.0)
    finally:
        wd.close()


def test_a_rig_whose_watchdog_process_died_refuses_to_arm(tmp_path):
    wd = SimulatedWatchdog({"shutter.open": 0.0}, 500.0, None)
    try:
        wd.arm()
        wd.disarm()
        os.kill(wd.pid, signal.SIGKILL)
        end = time.monotonic() + 30
        while wd.alive and time.monotonic() < end:
            time.sleep(0.01)
        with pytest.raises(RuntimeError, match="watchdog process has exited"):
            wd.arm()
    finally:
        wd.close()


def test_closing_while_armed_applies_the_expiration_states_at_once(tmp_path):
    journal = tmp_path / "journal.jsonl"
    wd = SimulatedWatchdog({"shutter.open": 0.0}, 10_000.0, journal)
    wd.arm()
    wd.report({"shutter.open": 1.0})
    wd.close()
    (event,) = [e for e in read_events(journal) if e["event"] == "watchdog_expired"]
    assert event["cause"] == "closed while armed" and event["applied"] == {"shutter.open": 0.0}
    assert process_gone(wd.pid)


PARENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from simulated_devices.watchdog import SimulatedWatchdog
    wd = SimulatedWatchdog({"shutter.open": 0.0}, 200.0, Path(sys.argv[1]))
    wd.arm()
    wd.report({"shutter.open": 1.0})
    if sys.argv[2] == "exit":
        wd.disarm()
        print(wd.pid, flush=True)
        sys.exit(0)  # no close(): the interpreter's exit must take the watchdog process along
    print(wd.pid, flush=True)
    while True:
        wd.feed()
        time.sleep(0.01)
""")


def test_a_killed_parent_still_gets_its_light_switched_off_and_the_watchdog_exits(tmp_path):
    journal = tmp_path / "journal.jsonl"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(journal), "feed"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=30)
    event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired", deadline_s=30)
    assert event["cause"] == "timeout (parent gone)" and event["held_before"] == {"shutter.open": 1.0}
    _assert_expired_in_time(event, 200.0)
    _wait_gone(pid)


def test_a_normal_exit_takes_the_watchdog_process_along_without_firing(tmp_path):
    journal = tmp_path / "journal.jsonl"
    done = subprocess.run([sys.executable, "-c", PARENT, str(journal), "exit"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    _wait_gone(int(done.stdout), deadline_s=5)
    assert not journal.exists()


def test_feeding_costs_microseconds_per_chunk(tmp_path):
    safe = {c: 0.0 for c in (*LIGHT, "stimulator.trigger", "camera.trigger")}
    held = {c: 0.0 for c in safe}
    wd = SimulatedWatchdog(safe, 10_000.0, None)
    try:
        wd.arm()
        n = 20_000
        start = time.process_time()  # this process's CPU, not the wall: the bound holds on a loaded machine
        for _ in range(n):  # what the simulated DAQ does per chunk
            wd.feed()
            wd.simulating(True)
            wd.simulating(False)
            wd.report(held)
        per_chunk_us = (time.process_time() - start) / n * 1e6
    finally:
        wd.disarm()
        wd.close()
    print(f"feed, simulated-hardware marks and report of 7 outputs: {per_chunk_us:.2f} us per chunk (CPU)")
    assert per_chunk_us < 50.0  # typically 5-10 us; the bound only catches a process round-trip per chunk


# ----- the rig program: rig run, then kill -9 / SIGSTOP / nothing --------------------------
def test_kill_9_mid_sweep_the_watchdog_switches_the_light_off_within_its_timeout(tmp_path):
    journal = tmp_path / "journal.jsonl"
    proc = _start_run(tmp_path, journal, "--sweeps", "1", "--set", "recovery_ms=8000")
    try:
        armed = wait_for_event(journal, lambda e: e["event"] == "watchdog_armed", proc)
        on = wait_for_event(journal, _light_on, proc)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired")
    assert event["pid"] == armed["pid"] and event["t"] > on["t"]
    assert event["cause"] == "timeout (parent gone)"
    assert event["held_before"]["shutter.open"] == 1.0  # the light was on when the program died
    _assert_expired_in_time(event, armed["timeout_ms"])
    assert _light_state(read_events(journal)) == {c: 0.0 for c in LIGHT}
    _wait_gone(armed["pid"])


def test_a_hung_program_sigstop_is_caught_by_the_watchdog(tmp_path):
    journal = tmp_path / "journal.jsonl"
    proc = _start_run(tmp_path, journal, "--sweeps", "1", "--set", "recovery_ms=8000")
    try:
        armed = wait_for_event(journal, lambda e: e["event"] == "watchdog_armed", proc)
        wait_for_event(journal, _light_on, proc)
        proc.send_signal(signal.SIGSTOP)
        event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired")
    finally:
        proc.kill()  # SIGKILL ends a stopped process too
        proc.communicate(timeout=60)
    assert event["cause"] == "timeout"  # the program was still there, just not feeding
    assert event["held_before"]["shutter.open"] == 1.0
    _assert_expired_in_time(event, armed["timeout_ms"])
    assert _light_state(read_events(journal)) == {c: 0.0 for c in LIGHT}
    _wait_gone(armed["pid"])


def test_a_normal_run_never_fires_the_watchdog_and_leaves_no_process(tmp_path):
    journal = tmp_path / "journal.jsonl"
    proc = _start_run(tmp_path, journal, "--sweeps", "2", "--set", "recovery_ms=300", "--set", "interval_s=0.2")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    events = read_events(journal)
    (armed,) = [e for e in events if e["event"] == "watchdog_armed"]
    assert [e for e in events if e["event"] == "watchdog_expired"] == []
    assert [e["on"] for e in events if e["event"] == "light"] == [True, False, True, False]
    assert _light_state(events) == {c: 0.0 for c in LIGHT}
    _wait_gone(armed["pid"], deadline_s=5)


def test_a_stall_in_the_acquisition_loop_expires_the_watchdog_and_the_rig_is_made_safe(journal):
    from rig.engine.rig import build_rig
    from rig.protocols.protocol_file import compile_protocol, load_protocol

    loaded = load_profile(PROFILE)
    rig = build_rig(loaded)
    plan = compile_protocol(load_protocol(FRAP, ["sweeps=1"]), loaded).plans[0]
    daq = rig.clock
    stalled = []

    def stall_once(d) -> None:  # the program's own time (after the chunk): e.g. a blocking call in the loop
        if d.position >= 10 * 1000 and not stalled:
            stalled.append(d.position)
            deadline = time.monotonic() + 60
            while daq.watchdog.expiries == 0 and time.monotonic() < deadline:
                time.sleep(0.01)

    daq.observers.append(stall_once)
    for device in rig.devices.values():
        device.configure(plan)
    daq.load(plan)
    daq.start()
    with pytest.raises(WatchdogExpired):
        while daq.read() is not None:
            pass
    assert daq.held["shutter.open"] == 0.0 and daq.held["laser.power"] == 0.0  # forced by the board
    reports = rig.make_safe()
    assert all(r.safe for r in reports)
    events = read_events(journal)
    (event,) = [e for e in events if e["event"] == "watchdog_expired"]
    assert event["cause"] == "timeout" and event["held_before"]["shutter.open"] == 1.0
    _assert_expired_in_time(event, watchdog_timeout_ms(rig.profile.profile))
    assert _light_state(events) == {c: 0.0 for c in LIGHT}
    assert not daq.watchdog.armed  # make_safe cleared the expiry and disarmed
    daq.watchdog.close()


def test_a_rig_dropped_by_its_program_takes_its_watchdog_process_along_reaped():
    import gc

    from rig.engine.rig import build_rig

    rig = build_rig(load_profile(PROFILE))
    pid = rig.clock.watchdog.pid
    rig.clock.watchdog.arm()
    rig.clock.watchdog.disarm()
    del rig
    gc.collect()
    end = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():  # our own child: once reaped it has no /proc entry at all (no zombie)
        assert time.monotonic() < end, f"watchdog process {pid} still there after its rig was collected"
        time.sleep(0.02)


def test_the_profile_timeout_reaches_the_simulated_watchdog(tmp_path, journal):
    from rig.engine.rig import build_rig

    path = tmp_path / "simulated.yaml"
    text = PROFILE.read_text()
    assert "watchdog_timeout_ms: 2000" in text
    path.write_text(text.replace("watchdog_timeout_ms: 2000", "watchdog_timeout_ms: 250", 1))
    rig = build_rig(load_profile(path))
    assert rig.clock.watchdog.timeout_ms == 250.0
    rig.clock.watchdog.close()


def test_a_watchdog_expiry_through_the_runner_ends_the_run_as_an_error_with_the_rig_safe(journal, tmp_path):
    """The Runner reports an expiry as a run error (status, Notice, safe devices), not as a crash."""
    from rig.api import execute, prepare_run
    from rig.datatypes.records import Notice

    prepared = prepare_run(FRAP, PROFILE, ["sweeps=2"])
    from rig.engine.rig import build_rig

    rig = build_rig(prepared.profile)
    stalled = []

    def stall_once(d) -> None:  # the program's own time after a chunk, as a blocking call would take
        if d.position >= 10 * 1000 and not stalled:
            stalled.append(d.position)
            deadline = time.monotonic() + 60
            while d.watchdog.expiries == 0 and time.monotonic() < deadline:
                time.sleep(0.01)

    rig.clock.observers.append(stall_once)
    result = execute(prepared, tmp_path / "runs", rig_=rig)
    assert stalled
    assert result.outcome.status == "error" and "watchdog" in result.outcome.message
    assert result.outcome.all_safe
    assert any(isinstance(n, Notice) and n.source == "watchdog" for n in result.notices)
    events = read_events(journal)
    assert [e["event"] for e in events].count("watchdog_expired") == 1
    assert _light_state(events) == {c: 0.0 for c in LIGHT}
    rig.clock.watchdog.close()
