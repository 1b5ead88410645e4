"""The window's acquisition process: a window killed mid-sweep still leaves the rig safe (real processes, journal).

The window runs in one process and its rig in a child (rig.gui.rig_host); killing the window (SIGKILL: no
close handler, no Python clean-up) must end the run at once, made safe by the child, which then exits.
Each step waits for an event: the child's pid on the window's output, sweeps in the journal, the child's exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROFILE, ROOT, assert_rig_safe
from rig.storage.reader import RunFile
from simulated_devices.journal import process_gone, read_events, wait_for_event

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child process"),
              pytest.mark.slow]

DEADLINE_S = 180.0
WINDOW = """
import sys
from pathlib import Path
from PyQt5.QtWidgets import QApplication
from rig.gui.app import build_window
app = QApplication(sys.argv[:1])
window = build_window(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
window.show()
window.protocol.select("frap")
for field, value in (("sweeps", "40"), ("interval_s", "1.5"), ("recovery_ms", "800")):
    window.protocol.set_field(field, value)
prepared = window.protocol.validate()
assert prepared is not None, window.protocol.problem_texts()
assert window.start_protocol(prepared)
print("acquisition pid", window.session.process.pid, flush=True)
app.exec_()
"""


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _starts(journal: Path) -> int:
    return sum(1 for e in read_events(journal) if e["event"] == "start")


def test_killing_the_window_mid_sweep_aborts_the_run_and_leaves_the_rig_safe(tmp_path):
    journal, out_log = tmp_path / "journal.jsonl", tmp_path / "stdout.txt"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    with open(out_log, "w") as out:
        window = subprocess.Popen([sys.executable, "-c", WINDOW, str(PROFILE), str(tmp_path / "runs"),
                                   str(ROOT / "protocols")], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, text=True)
    try:
        _wait(lambda: "acquisition pid" in out_log.read_text() or window.poll() is not None, "the window to start")
        assert window.poll() is None, out_log.read_text()
        child = int(out_log.read_text().split("acquisition pid")[1].split()[0])
        assert child != window.pid
        wait_for_event(journal, lambda e: e["event"] == "start" and _starts(journal) >= 2, window, DEADLINE_S)
        window.send_signal(signal.SIGKILL)
        window.wait(DEADLINE_S)
        starts_at_kill = _starts(journal)
        _wait(lambda: process_gone(child), "the acquisition process to end by itself")
    finally:
        if window.poll() is None:
            window.kill()
    assert _starts(journal) <= starts_at_kill + 1, "the run went on after its window was gone"
    assert_rig_safe(journal)
    (path,) = (tmp_path / "runs").glob("*.h5")
    with RunFile(path) as run:
        assert run.status in ("aborted", "stopped")  # 'stopped' only if the sweep had just ended
        assert run.n_sweeps < 40
        assert all(s["safe"] for s in run.summary()["safety"])


def _profile_with(tmp_path: Path, hidden: dict) -> Path:
    import yaml

    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["hidden_calibration"] = hidden
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_calibration_runs_in_the_acquisition_process_and_asks_the_window(qtbot, qapp, tmp_path, monkeypatch):
    """Calibrate menu on the window's session: the galvo grid scan and typed LED readings cross the pipe."""
    from PyQt5.QtWidgets import QInputDialog

    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig
    from rig.gui.calibration_dialog import CalibrationDialog
    from rig.gui.session import RigSession

    path = _profile_with(tmp_path, {"seed": 4, "sample": "grid_slide"})
    session = RigSession(load_profile(path), tmp_path / "runs")
    try:
        assert session.process.pid != os.getpid()
        dialog = CalibrationDialog(session, procedure="galvo")
        qtbot.addWidget(dialog)
        assert dialog.start()
        qtbot.waitUntil(lambda: dialog.write_button.isEnabled() or "failed" in dialog.status.text(), timeout=180_000)
        assert dialog.outcome is not None, dialog.status.text()
        out = dialog.write_copy()
        assert out is not None
        measured = load_profile(out).profile.scanner("scanner").volts_per_um
        true = build_rig(load_profile(path)).extras["hidden_calibration"].true_volts_per_um("scanner")[0]
        assert abs(measured / true - 1) < 0.02

        prompts: list[str] = []

        def answer(parent, title, prompt, *args):  # the operator types a reading for each prompt
            prompts.append(prompt)
            return 1.0 + len(prompts), True

        monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(answer))
        leds = CalibrationDialog(session, procedure="leds")
        qtbot.addWidget(leds)
        leds.method.setCurrentText("typed")
        assert leds.start()
        qtbot.waitUntil(lambda: leds.run_button.isEnabled(), timeout=180_000)
        assert len(prompts) == 4 and prompts[0].startswith("all light off (dark)")
        assert all(r.safe for r in session.make_safe())
    finally:
        assert session.shutdown()
    assert session.process.exitcode == 0
