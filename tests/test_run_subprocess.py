"""Real processes: Ctrl-C (SIGINT) once and twice, kill -9 mid-run, and reading a file while it is written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FRAP, ROOT, assert_rig_safe
from rig.storage.reader import RunFile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child process")

LONG = ["--sweeps", "40", "--set", "interval_s=0.2", "--set", "recovery_ms=800", "--quiet"]


def _start(tmp_path: Path, journal: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("SPINERIG_SIM_JOURNAL", None)
    if journal is not None:
        env["SPINERIG_SIM_JOURNAL"] = str(journal)
    return subprocess.Popen([sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(tmp_path / "out"), *LONG],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_sweeps(tmp_path: Path, n: int, proc: subprocess.Popen, timeout_s: float = 90) -> Path:
    """Poll the run file from this (other) process until n sweeps are stored."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        files = list((tmp_path / "out").glob("*.h5"))
        if files:
            try:
                with RunFile(files[0]) as f:
                    if f.n_sweeps >= n:
                        return files[0]
            except (OSError, KeyError):
                pass  # file being created; try again
        time.sleep(0.05)
    raise AssertionError("run did not reach the expected sweeps in time")


def _wait_for_estimates(path: Path, name: str, proc: subprocess.Popen, timeout_s: float = 90) -> int:
    """Poll the run file until at least one estimate called name is stored; how many there are."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with RunFile(path) as f:
                n = sum(1 for e in f.estimates() if e.name == name)
            if n:
                return n
        except (OSError, KeyError):
            pass  # a table being extended; try again
        time.sleep(0.05)
    raise AssertionError(f"no {name} estimate was stored in time")


def test_one_sigint_stops_after_current_sweep_and_leaves_rig_safe(tmp_path):
    journal = tmp_path / "journal.jsonl"
    proc = _start(tmp_path, journal)
    path = _wait_for_sweeps(tmp_path, 2, proc)
    with RunFile(path) as f:
        at_signal = f.n_sweeps
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with RunFile(path) as f:
        assert f.status == "stopped"
        assert at_signal <= f.n_sweeps <= at_signal + 2  # the sweep under way was finished, no more
        assert f.n_sweeps < 40
        for sweep in f.sweeps()["sweep"]:
            assert f.sweep_data(int(sweep), "in:scanner.red").shape[0] > 0
    assert_rig_safe(journal)


def test_two_sigints_stop_now_and_leave_rig_safe(tmp_path):
    journal = tmp_path / "journal.jsonl"
    proc = _start(tmp_path, journal)
    path = _wait_for_sweeps(tmp_path, 1, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with RunFile(path) as f:
        assert f.status in ("aborted", "stopped")  # 'stopped' only if the sweep ended between the two signals
        assert f.n_sweeps < 40
    assert_rig_safe(journal)


def test_kill_9_leaves_every_completed_sweep_readable(tmp_path):
    proc = _start(tmp_path)
    path = _wait_for_sweeps(tmp_path, 3, proc)
    # the model analyses off the acquisition thread (its first sweep also imports the fit's scipy), so on a loaded
    # machine estimates can trail the stored sweeps: wait for one to be stored, then kill
    seen = _wait_for_estimates(path, "tau_frap_ms", proc)
    time.sleep(0.15)  # land mid-sweep
    proc.kill()
    proc.wait(timeout=30)
    with RunFile(path) as f:
        assert f.status == "interrupted"  # the writer died without closing the file (its lock names a dead pid)
        n = f.n_sweeps
        assert n >= 3
        plans = f.plans()
        for row in f.sweeps():
            sweep = int(row["sweep"])
            red = f.sweep_data(sweep, "in:scanner.red")
            assert red.shape[0] == plans[sweep]["n_samples"] == row["n_samples"]
            assert red.sum() > 0
            assert f.sweep_data(sweep, "out:laser.power").max() == pytest.approx(1.0)
        estimates = [e for e in f.estimates() if e.name == "tau_frap_ms"]
        assert len(estimates) >= seen  # the online estimates written before the kill survive too
    info = subprocess.run([sys.executable, "-m", "rig", "info", "--json", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["n_sweeps"] == n


def test_reader_sees_sweeps_while_the_run_is_written(tmp_path):
    proc = _start(tmp_path)
    path = _wait_for_sweeps(tmp_path, 1, proc)
    with RunFile(path) as f:
        first = f.n_sweeps
        deadline = time.monotonic() + 60
        while f.n_sweeps <= first and time.monotonic() < deadline:
            time.sleep(0.1)
            f.refresh()
        assert f.n_sweeps > first  # the same open handle sees new sweeps arrive
        assert f.status == "running"
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)


FILE_SIZE_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the OS then refuses the write with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))
from rig.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_full_disk_stops_the_run_safely_and_keeps_completed_sweeps(tmp_path):
    """A real write fault from the OS (file size limit): exit 1, rig safe, every completed sweep intact."""
    journal = tmp_path / "journal.jsonl"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    proc = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMITED, "run", str(FRAP), "--out", str(tmp_path / "out"),
                           "--sweeps", "20", "--set", "recovery_ms=300", "--set", "interval_s=0.1", "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "disk is full or the file reached its size limit" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_rig_safe(journal)
    (path,) = (tmp_path / "out").glob("*.h5")
    with RunFile(path) as f:
        assert 1 <= f.n_sweeps < 20
        assert f.status == "interrupted"  # never 'running': the writer is gone and its lock says why
        n = f.n_sweeps
        plans = f.plans()
        for row in f.sweeps():
            data = f.sweep_data(int(row["sweep"]), "in:scanner.red")
            assert data.shape[0] == plans[int(row["sweep"])]["n_samples"]
            assert data.sum() > 0
    done = subprocess.run([sys.executable, "-m", "rig", "recover", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    import h5py

    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "interrupted" and f.attrs["n_stored_sweeps"] == n
        assert "storage failed" in f.attrs["interrupted_reason"]
        assert "disk is full" in f.attrs["interrupted_reason"]
