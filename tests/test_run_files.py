"""No run overwrites another, and a folder that cannot take the run is refused before anything moves."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.api import check_output_room, execute, prepare_run
from rig.config.problems import InvalidInput
from rig.storage.lock import lock_path, read_lock
from rig.storage.reader import RunFile
from rig.storage.space import estimate_run_bytes, free_bytes, sweep_bytes
from rig.storage.writer import create_run_file


def _create(args: tuple[str, str]) -> str:
    out, stem = args
    path, f = create_run_file(Path(out), stem)
    f.close()
    return str(path)


def test_same_name_in_the_same_second_gives_distinct_files(tmp_path):
    """Eight processes create a run file of the same name at once: eight files, none reused."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        paths = pool.map(_create, [(str(tmp_path), "20260101-000000_frap")] * 8)
    assert len(set(paths)) == 8
    assert sorted(Path(p).name for p in paths)[0] == "20260101-000000_frap.h5"
    for p in paths:
        assert lock_path(Path(p)).exists()


def test_a_name_with_a_dead_writers_lock_is_left_for_recovery(tmp_path):
    path, f = create_run_file(tmp_path, "same")
    f.close()
    path.unlink()  # the lock stays, as after a crash that lost the file's name
    again, g = create_run_file(tmp_path, "same")
    g.close()
    assert again.name == "same_1.h5"
    assert read_lock(again).pid == os.getpid()


def test_two_runs_started_together_keep_both(tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(out), "--sweeps", "1", "--set",
            "recovery_ms=200", "--set", "interval_s=0", "--quiet"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    printed = {line.split("run file: ")[1] for o, _ in outs for line in o.splitlines() if line.startswith("run file:")}
    assert len(printed) == 2
    for path in printed:
        with RunFile(Path(path)) as f:
            assert f.status == "completed" and f.n_sweeps == 1
        assert not lock_path(Path(path)).exists()


@contextmanager
def _read_only(folder: Path):
    """Make a folder refuse new files: chmod for a normal user, the immutable attribute for root."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("running as root without the immutable attribute: cannot make a read-only folder")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_read_only_folder_is_refused_before_the_rig_is_built(tmp_path, journal):
    out = tmp_path / "ro"
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200"], sweeps=1)
    with _read_only(out):
        with pytest.raises(InvalidInput) as caught:
            execute(prepared, out)
        assert list(out.iterdir()) == []
    (problem,) = caught.value.problems
    assert problem.source == "--out" and "cannot create a run file in this folder" in problem.message
    assert not journal.exists() or journal.read_text() == ""  # no device was touched


def test_read_only_folder_cli_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "ro"
    journal = tmp_path / "journal.jsonl"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    with _read_only(out):
        done = subprocess.run([sys.executable, "-m", "rig", "run", str(FRAP), "--out", str(out), "--sweeps", "1",
                               "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"--out: {out}: cannot create a run file")
    assert "run file:" not in done.stdout
    assert not journal.exists()


def test_a_run_larger_than_the_free_space_is_refused(tmp_path):
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200"], sweeps=1)
    plans = list(prepared.compiled.plans)
    free = free_bytes(tmp_path)
    too_many = free // sweep_bytes(plans[0]) + 2
    check_output_room(tmp_path, plans, 1)  # one sweep fits
    with pytest.raises(InvalidInput) as caught:
        check_output_room(tmp_path, plans, int(too_many))
    (problem,) = caught.value.problems
    assert problem.source == "--out" and "the run needs about" in problem.message and "free" in problem.message


def test_the_estimate_covers_the_file_a_run_writes(tmp_path):
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200", "interval_s=0"], sweeps=3)
    result = execute(prepared, tmp_path)
    size = result.path.stat().st_size
    estimate = estimate_run_bytes(prepared.compiled.plans, 3)
    assert size <= estimate <= 3 * size + 8e6
