"""Real processes, real signals: every stop signal at start-up, mid-sweep, between sweeps and at shutdown.

Each test waits for an event (a line of the simulated hardware's journal, or of the process's
own output) before it signals, then reads the journal: the rig must end safe, the exit code must
be the documented one (128 + signal number) and no traceback may appear.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from conftest import FRAP, ROOT, assert_rig_safe
from rig.storage.reader import RunFile

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child process"),
              pytest.mark.slow]

LONG = ["--sweeps", "40", "--set", "interval_s=1.5", "--set", "recovery_ms=800", "--quiet"]
DEADLINE_S = 180.0


def _start(tmp_path: Path, *extra: str, sweeps_args: list[str] = LONG) -> tuple[subprocess.Popen, Path, Path, Path]:
    journal = tmp_path / "journal.jsonl"
    out_log, err_log = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    with open(out_log, "w") as out, open(err_log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rig", *extra, "run", str(FRAP), "--out", str(tmp_path / "out"),
                                 *sweeps_args], cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
    return proc, journal, out_log, err_log


def _events(journal: Path) -> list[dict]:
    if not journal.exists():
        return []
    lines = journal.read_text().splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line being written
    return out


def _wait(proc: subprocess.Popen, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"process ended (rc {proc.returncode}) before {what}"
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"timed out waiting for {what}")


def _starts(journal: Path) -> int:
    return sum(1 for e in _events(journal) if e["event"] == "start")


def _finish(proc: subprocess.Popen, err_log: Path) -> str:
    proc.wait(timeout=DEADLINE_S)
    err = err_log.read_text()
    assert "Traceback" not in err, err
    return err


def _run_file(tmp_path: Path) -> Path:
    (path,) = (tmp_path / "out").glob("*.h5")
    return path


STOP_NOW = [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT]


@pytest.mark.parametrize("signum", STOP_NOW, ids=lambda s: signal.Signals(s).name)
def test_stop_now_signal_mid_sweep_makes_the_rig_safe(tmp_path, signum):
    proc, journal, _, err_log = _start(tmp_path)
    _wait(proc, lambda: _starts(journal) >= 2, "the second sweep to start")
    proc.send_signal(signum)
    _finish(proc, err_log)
    assert proc.returncode == 128 + signum
    assert_rig_safe(journal)
    with RunFile(_run_file(tmp_path)) as f:
        assert f.status in ("aborted", "stopped")  # 'stopped' only if the sweep had just ended
        assert f.n_sweeps < 40
        assert all(s["safe"] for s in f.summary()["safety"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: signal.Signals(s).name)
def test_signal_between_sweeps_stops_before_the_next_one(tmp_path, signum):
    proc, journal, _, err_log = _start(tmp_path)

    def in_interval() -> bool:  # the first sweep stopped (its outputs written safe) and the 1.5 s interval runs
        events = [e["event"] for e in _events(journal)]
        return "start" in events and events[events.index("start"):].count("stop") >= 1

    _wait(proc, in_interval, "the interval after sweep 1")
    proc.send_signal(signum)
    _finish(proc, err_log)
    assert proc.returncode == 128 + signum
    assert_rig_safe(journal)
    with RunFile(_run_file(tmp_path)) as f:
        assert f.n_sweeps <= 2 and f.status in ("stopped", "aborted")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT],
                         ids=lambda s: signal.Signals(s).name)
def test_start_up_signal_exits_cleanly_before_anything_moves(tmp_path, signum):
    proc, journal, _, err_log = _start(tmp_path, "-v")
    _wait(proc, lambda: "signal handlers installed" in err_log.read_text(), "the handlers to be installed")
    proc.send_signal(signum)  # now the process imports the protocols and reads the profile
    err = _finish(proc, err_log)
    assert proc.returncode == 128 + signum, err
    assert _starts(journal) == 0  # no sweep ever started
    assert "interrupted before the run started" in err
    assert not list((tmp_path / "out").glob("*.h5")) if (tmp_path / "out").exists() else True


def test_a_burst_of_sigints_mid_sweep_never_raises_inside_acquisition(tmp_path):
    proc, journal, _, err_log = _start(tmp_path)
    _wait(proc, lambda: _starts(journal) >= 2, "the second sweep to start")
    for _ in range(30):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.001)
    _finish(proc, err_log)
    assert proc.returncode == 130
    assert_rig_safe(journal)
    with RunFile(_run_file(tmp_path)) as f:
        assert f.status in ("aborted", "stopped")


def test_signals_during_shutdown_never_kill_the_process(tmp_path):
    short = ["--sweeps", "1", "--set", "interval_s=0", "--set", "recovery_ms=200", "--quiet"]
    proc, journal, out_log, err_log = _start(tmp_path, sweeps_args=short)
    _wait(proc, lambda: "status: " in out_log.read_text(), "the run to end")
    while proc.poll() is None:  # keep hitting it through result printing and interpreter shutdown
        for signum in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
            try:
                proc.send_signal(signum)
            except ProcessLookupError:
                break
        time.sleep(0.002)
    _finish(proc, err_log)
    assert proc.returncode in (0, 130, 143)  # 0 when every signal came after the results were printed
    assert proc.returncode >= 0  # never killed by a signal
    assert "status: completed" in out_log.read_text()
    assert_rig_safe(journal)
