"""The Calibrate menu's dialog on the simulated rig: run a procedure, review it, write the copy (offscreen Qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import yaml  # noqa: E402
from PyQt5.QtWidgets import QInputDialog  # noqa: E402

from rig.config.profile import load_profile  # noqa: E402
from rig.engine.rig import build_rig  # noqa: E402
from rig.gui.calibration_dialog import CalibrationDialog  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "hardware_profiles" / "simulated.yaml"


def _rig(tmp_path: Path, hidden: dict):
    data = yaml.safe_load(SIM.read_text())
    data["simulation"]["hidden_calibration"] = hidden
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return build_rig(load_profile(path)), path


def test_the_dialog_measures_the_galvos_and_writes_a_copy(qtbot, tmp_path) -> None:
    """Run -> the table shows profile vs measured -> Write copy: the copy holds the measured values."""
    rig, path = _rig(tmp_path, {"seed": 4, "sample": "grid_slide"})
    dialog = CalibrationDialog(rig, procedure="galvo")
    qtbot.addWidget(dialog)
    assert dialog.out.text().endswith(".yaml") and dialog.out.text() != str(path)
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.write_button.isEnabled(), timeout=120_000)
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, 1).text() == "0.01"
    out = dialog.write_copy()
    assert out is not None and out.exists() and "wrote" in dialog.status.text()
    measured = load_profile(out).profile.scanner("scanner").volts_per_um
    true = rig.extras["hidden_calibration"].true_volts_per_um("scanner")[0]
    assert abs(measured / true - 1) < 0.02
    dialog.out.setText(str(path))  # the profile itself is refused
    assert dialog.write_copy() is None and "is the profile itself" in dialog.status.text()


def test_typed_led_readings_are_asked_for_in_the_window(qtbot, tmp_path, monkeypatch) -> None:
    """'typed': one prompt per reading on the GUI thread (answered here with the simulated meter's value)."""
    rig, _ = _rig(tmp_path, {"seed": 7})
    meter = rig.extras["power_meter"]
    prompts: list[str] = []

    def answer(parent, title, prompt, *args):  # the operator reads the meter and types its value
        prompts.append(prompt)
        return meter.read_mW(), True

    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(answer))
    dialog = CalibrationDialog(rig, procedure="leds")
    qtbot.addWidget(dialog)
    dialog.method.setCurrentText("typed")
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.write_button.isEnabled() or "failed" in dialog.status.text(), timeout=120_000)
    assert dialog.outcome is not None, dialog.status.text()
    assert len(prompts) == 4 and prompts[0].startswith("all light off (dark)")
    truth = rig.extras["hidden_calibration"]
    for edit in dialog.outcome.edits:
        _, source, _, led, _ = edit.path
        assert abs(float(edit.value) / truth.led_power_mW(source, led) - 1) < 0.02
    assert all(r.safe for r in rig.make_safe())


def test_a_failed_procedure_is_one_line_in_the_dialog(qtbot, tmp_path) -> None:
    """The cell under the objective instead of the grid: the dialog says why; nothing to write."""
    rig, _ = _rig(tmp_path, {})
    dialog = CalibrationDialog(rig, procedure="galvo")
    qtbot.addWidget(dialog)
    dialog.start()
    qtbot.waitUntil(lambda: "failed" in dialog.status.text(), timeout=120_000)
    assert not dialog.write_button.isEnabled() and "\n" not in dialog.status.text()


def test_the_window_has_a_calibrate_menu(qtbot, tmp_path) -> None:
    """Calibrate > Galvo... / Pockels... / Leds... / Telegraph... in the operator's window."""
    from rig.gui.app import build_window

    window = build_window(SIM, tmp_path / "runs", ROOT / "protocols")
    qtbot.addWidget(window)
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert "&Calibrate" in menus
    assert [a.text() for a in menus["&Calibrate"].actions()] == ["Galvo...", "Pockels...", "Leds...", "Telegraph..."]
    window.close()
