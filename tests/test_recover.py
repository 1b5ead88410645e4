"""A run killed with -9 (or stopped by a full disk) becomes a file plain h5py opens, marked interrupted, every sweep kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import FRAP, ROOT
from rig.storage.lock import lock_path, read_lock
from rig.storage.reader import RunFile
from rig.storage.recover import recover

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX kill -9"), pytest.mark.slow]

LONG = ["--sweeps", "40", "--set", "interval_s=0.2", "--set", "recovery_ms=600", "--quiet"]


def _start(tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("SPINERIG_SIM_JOURNAL", None)
    return subprocess.Popen([sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(tmp_path / "out"), *LONG],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_sweeps(tmp_path: Path, n: int, proc: subprocess.Popen, timeout_s: float = 180) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None
        for path in (tmp_path / "out").glob("*.h5"):
            try:
                with RunFile(path) as f:
                    if f.n_sweeps >= n:
                        return path
            except (OSError, KeyError):
                pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("run did not reach the expected sweeps in time")


def _killed_run(tmp_path: Path) -> tuple[Path, int]:
    proc = _start(tmp_path)
    path = _wait_for_sweeps(tmp_path, 2, proc)
    lock = read_lock(path)
    assert lock is not None and lock.pid == proc.pid and lock.writer_alive()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return path, proc.pid


def _stored(path: Path) -> dict[int, np.ndarray]:
    with RunFile(path) as f:
        return {int(s): np.asarray(f.sweep_data(int(s), "in:scanner.red")) for s in f.sweeps()["sweep"]}


def test_recover_turns_a_kill_9_file_into_a_plain_h5py_file(tmp_path):
    path, pid = _killed_run(tmp_path)
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")  # what HDFView and MATLAB see before recovery
    before = _stored(path)
    with RunFile(path) as f:
        assert f.status == "interrupted"
    done = subprocess.run([sys.executable, "-m", "rig", "recover", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{path}: closed, status interrupted, {len(before)} stored sweeps" in done.stdout
    assert not lock_path(path).exists()
    with h5py.File(path, "r") as f:  # plain, non-SWMR open
        assert f.attrs["status"] == "interrupted"
        assert f.attrs["n_stored_sweeps"] == len(before)
        assert f"pid {pid}" in f.attrs["interrupted_reason"]
        end = json.loads(f["run_end_json"][()].decode())
        assert end["status"] == "interrupted" and end["message"] == f.attrs["interrupted_reason"]
    after = _stored(path)
    assert after.keys() == before.keys()
    for sweep, data in before.items():
        np.testing.assert_array_equal(after[sweep], data)
    again = recover(path)  # a closed file is left as it is
    assert not again.changed and again.status == "interrupted"


def test_info_recovers_a_file_whose_writer_died(tmp_path):
    path, _ = _killed_run(tmp_path)
    n = len(_stored(path))
    info = subprocess.run([sys.executable, "-m", "rig", "info", "--json", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert summary["status"] == "interrupted" and summary["n_sweeps"] == n
    assert "recovered" in summary["recovery"]
    with h5py.File(path, "r"):
        pass


def test_recover_refuses_a_file_that_is_still_written(tmp_path):
    proc = _start(tmp_path)
    try:
        path = _wait_for_sweeps(tmp_path, 1, proc)
        done = subprocess.run([sys.executable, "-m", "rig", "recover", str(path)], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
        assert done.returncode == 1
        assert f"still being written by pid {proc.pid}" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 143
    with h5py.File(path, "r") as f:  # a signalled run closes its file properly
        assert json.loads(f["run_end_json"][()].decode())["status"] in ("aborted", "stopped")
    assert not lock_path(path).exists()


def test_recover_names_a_non_run_file(tmp_path):
    bogus = tmp_path / "x.h5"
    bogus.write_text("not hdf5")
    done = subprocess.run([sys.executable, "-m", "rig", "recover", str(bogus)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 1
    assert f"{bogus}: cannot read as a run file" in done.stderr and "Traceback" not in done.stderr
