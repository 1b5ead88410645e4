"""Real processes, real signals on an fCaT step with extension rounds (min_reversal_releases).

The program waits for the online analysis only at a round boundary (the Runner drains the analysis there before
it asks for the next plan). Each test waits for a journal event (the base's last sweep stopped, or a sweep of the
first round started), signals, and reads the journal and the run file: the rig ends safe, the exit code is the
documented one (128 + signal number), no traceback, and the run file opens with what ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_signals import _events, _finish, _run_file, _starts, _wait

from conftest import ROOT, assert_rig_safe
from rig.storage.reader import RunFile

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child process"),
              pytest.mark.slow]

FCAT = ROOT / "protocols" / "fcat.yaml"
FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"
BASE_SWEEPS = 6  # a settle and 2 CC sweeps, a settle and 2 reversal sweeps


def _protocol(tmp_path: Path) -> Path:
    """fcat.yaml's fCaT step alone at a fixed reversal, 2 sweeps of each condition, then rounds up to 8: more
    reversal CaTs wanted than it can detect, so every round boundary is a decision."""
    data = yaml.safe_load(FCAT.read_text())
    step = data["steps"][1] | {"reversal_holding": 16.0, "sweeps_per_condition": 2, "min_reversal_releases": 1000,
                               "max_sweeps_per_condition": 8, "interval_s": 0.5}
    path = tmp_path / "fcat_rounds.yaml"
    path.write_text(yaml.safe_dump(data | {"steps": [step]}))
    return path


def _start(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    journal, err_log = tmp_path / "journal.jsonl", tmp_path / "stderr.txt"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    with open(tmp_path / "stdout.txt", "w") as out, open(err_log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(_protocol(tmp_path)), "--profile",
                                 str(FCAT_PROFILE), "--out", str(tmp_path / "out"), "--quiet"],
                                cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
    return proc, journal, err_log


def _base_done(journal: Path) -> bool:
    """The base's last sweep has stopped: the next plan is the first round's decision."""
    events = [e["event"] for e in _events(journal)]
    starts = [k for k, e in enumerate(events) if e == "start"]
    return len(starts) >= BASE_SWEEPS and "stop" in events[starts[BASE_SWEEPS - 1]:]


MOMENTS = {"at_the_round_decision": _base_done,
           "inside_a_round": lambda journal: _starts(journal) >= BASE_SWEEPS + 2}


CASES = [("at_the_round_decision", [signal.SIGINT]), ("at_the_round_decision", [signal.SIGINT, signal.SIGINT]),
         ("at_the_round_decision", [signal.SIGTERM]), ("at_the_round_decision", [signal.SIGHUP]),
         ("inside_a_round", [signal.SIGTERM])]


@pytest.mark.parametrize("moment, signals", CASES,
                         ids=[f"{m}-{'_'.join(signal.Signals(x).name for x in s)}" for m, s in CASES])
def test_a_signal_around_an_extension_round_leaves_the_rig_safe_and_the_file_readable(tmp_path, moment, signals):
    proc, journal, err_log = _start(tmp_path)
    _wait(proc, lambda: MOMENTS[moment](journal), moment.replace("_", " "))
    for signum in signals:
        proc.send_signal(signum)
    _finish(proc, err_log)
    assert proc.returncode == 128 + signals[-1]
    assert_rig_safe(journal)
    with RunFile(_run_file(tmp_path)) as f:
        assert f.status in ("aborted", "stopped")
        assert BASE_SWEEPS - 1 <= f.n_sweeps < 2 * 8 + 5  # what ran, never the whole budget of 8 + 8 and settles
        assert all(s["safe"] for s in f.summary()["safety"])
