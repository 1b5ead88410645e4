"""The window's budget bars, `until:` prediction, Save as and nested fields, on the simulated rig (offscreen Qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PyQt5.QtCore import Qt  # noqa: E402

from conftest import PROFILE, ROOT, assert_rig_safe  # noqa: E402
from rig.config.profile import load_profile  # noqa: E402
from rig.gui.app import build_window  # noqa: E402
from rig.gui.panels.protocol import ProtocolPanel  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402
from rig.protocols.protocol_file import load_protocol  # noqa: E402

NA_CA_PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"


@pytest.fixture
def window(qtbot, qapp, tmp_path, journal):
    apply_theme(qapp)
    w = build_window(PROFILE, tmp_path / "runs", ROOT / "protocols", pace="fast")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _type_budget(qtbot, window, name: str, text: str) -> None:
    """Type a budget into the protocol's budgets tab, as an operator does, and wait for the check."""
    widget = next(f for f in window.protocol.forms if f.prefix == "budgets").editors[f"budgets.{name}"].widget
    with qtbot.waitSignal(window.protocol.validated, timeout=60000):
        widget.selectAll()
        qtbot.keyClicks(widget, text)


def test_until_prediction_budget_bars_and_over_budget_marks(qtbot, window, journal, tmp_path):
    window.protocol.select("frap")
    for field, value in (("sweeps", "2"), ("recovery_ms", "300"), ("interval_s", "0.1"),
                         ("until.estimate", "tau_frap_ms"), ("until.relative_half_width", "0.01"),
                         ("until.min_sweeps", "1")):
        assert window.protocol.set_field(field, value) == 1
    _type_budget(qtbot, window, "two_photon_fraction2_s", "1")
    assert window.protocol.prepared is not None, window.protocol.problem_texts()
    assert window.estimates.budgets.spec.two_photon_fraction2_s == 1.0
    with qtbot.waitSignal(window.session.job_finished, timeout=120000):
        assert window.start_protocol(window.protocol.prepared)
    qtbot.waitUntil(lambda: not window.session.busy)
    assert window.last_result.outcome.status == "completed"
    # a 1 % half width is out of reach in 2 sweeps: the window says how many more and what light they cost
    note = window.protocol.target_note
    assert note.isVisibleTo(window) and "more sweep(s) (2P " in note.text() and "beyond its budget of 2" in note.text()
    assert "target in ~" in window.status.dose.text()
    bars = window.estimates.budgets.bars
    assert list(bars) == [(0, "2P light")]
    used = window.estimates.budgets.spines[0].dose.two_photon_fraction2_s
    assert used > 0 and bars[(0, "2P light")].format() == f"2P light {used:.3g} of 1 P²·s (0 %)"
    # a tighter budget (the protocol's, edited) than the spine has already had: the bar, the status bar and the
    # population plot say the spine is over budget
    _type_budget(qtbot, window, "two_photon_fraction2_s", f"{used / 2:g}")
    qtbot.waitUntil(lambda: "(200 %)" in window.estimates.budgets.bars[(0, "2P light")].format())
    assert window.estimates.budgets.used_up_targets() == [pytest.approx((1.288, 0.0))]
    qtbot.waitUntil(lambda: "over budget" in window.estimates.population.getAxis("bottom")._tickLevels[0][0][1])
    assert "(200 %)" in window.status.dose.text()
    # Save as: the edited protocol, checked, as a protocol file that loads with the same values
    saved = window.protocol.save_as(tmp_path / "frap_budget.yaml")
    assert saved.startswith("saved ")
    loaded = load_protocol(tmp_path / "frap_budget.yaml").protocol
    assert loaded.steps[0].sweeps == 2 and loaded.steps[0].until.estimate == "tau_frap_ms"
    assert loaded.budgets.two_photon_fraction2_s == pytest.approx(used / 2, rel=1e-3)
    assert_rig_safe(journal)


def test_save_as_refuses_a_bad_value_and_writes_nothing(qtbot, qapp, tmp_path):
    panel = ProtocolPanel(load_profile(PROFILE), ROOT / "protocols")
    qtbot.addWidget(panel)
    panel.select("frap")
    panel.set_field("bleach.duration_ms", "-5")
    target = tmp_path / "bad.yaml"
    assert panel.save_as(target).startswith("not saved: ")
    assert not target.exists()
    assert "steps.0.bleach.duration_ms" in panel.problem_texts()


def test_a_list_of_models_is_edited_as_fields(qtbot, qapp):
    panel = ProtocolPanel(load_profile(NA_CA_PROFILE), ROOT / "protocols")
    qtbot.addWidget(panel)
    panel.select("na_ca_imaging")
    editors = panel.forms[0].editors
    assert {"steps.0.leds.0.led", "steps.0.leds.0.ion", "steps.0.leds.1.indicator"} <= set(editors)
    assert "steps.0.leds" not in editors  # never a raw Python list of dicts in one text box
    other = editors["steps.0.leds.1.ion"].text()
    assert editors["steps.0.leds.0.ion"].text() != other
    with qtbot.waitSignal(panel.validated, timeout=60000):  # both LEDs one ion: the step refuses
        editors["steps.0.leds.0.ion"].set_text(other)
    assert panel.prepared is None
    assert "leds must pair one sodium and one calcium indicator" in panel.general.text()
    first_ion = "sodium" if other == "calcium" else "calcium"
    with qtbot.waitSignal(panel.validated, timeout=60000):
        editors["steps.0.leds.0.ion"].set_text(first_ion)
    assert panel.prepared is not None
    with qtbot.waitSignal(panel.validated, timeout=60000):  # a nested field's own problem shows beside it
        qtbot.keyClick(editors["steps.0.leds.0.indicator"].widget, "a", modifier=Qt.ControlModifier)
        qtbot.keyClick(editors["steps.0.leds.0.indicator"].widget, Qt.Key_Delete)
    assert panel.prepared is None and "steps.0.leds.0.indicator" in panel.problem_texts(), panel.general.text()


def test_estimates_by_step_before_and_after_conditioning(qtbot, window, journal):
    window.protocol.select("frap_step_depolarization")
    for field, value in (("duration_s", "1"), ("segment_s", "1"), ("recovery_ms", "400"), ("interval_s", "0.2")):
        assert window.protocol.set_field(field, value) >= 2
    assert window.protocol.validate() is not None, window.protocol.problem_texts()
    with qtbot.waitSignal(window.session.job_finished, timeout=180000):
        assert window.start_protocol(window.protocol.prepared)
    qtbot.waitUntil(lambda: window.estimates.table.rowCount() == 6)
    table = window.estimates.table
    rows = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert rows[0].startswith("run 1 - step 1 'frap_before' (frap)") and rows[3].startswith("run 1 - step 5 'frap_after'")
    assert rows[1:3] == rows[4:6] == ["neck_resistance_MOhm", "tau_frap_ms"]
    truth = [table.item(r, 2).text() for r in (1, 2, 4, 5)]
    assert all(truth), "the simulated truth is beside every estimate"
    # the history of R_neck shows both steps, each with its truth line
    window.estimates.table.selectRow(1)
    curves = window.estimates.history.getPlotItem().listDataItems()
    assert len(curves) == 4  # before and after: points and truth each
    assert "frap_before" in window.estimates.history.getPlotItem().titleLabel.text
    assert "frap_after" in window.estimates.history.getPlotItem().titleLabel.text
    assert_rig_safe(journal)
