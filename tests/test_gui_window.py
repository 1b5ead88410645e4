"""The operator's window driven like an operator would, on the simulated rig (offscreen Qt)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt5.QtCore import QPoint, Qt  # noqa: E402

from conftest import PROFILE, ROOT, assert_rig_safe  # noqa: E402
from rig.gui.app import build_window  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402
from rig.storage.reader import RunFile  # noqa: E402

FAST_SPINE_HEAD_UM = (1.288, 0.0)  # spine 'fast' of the simulated profile


@pytest.fixture
def window(qtbot, qapp, tmp_path, journal):
    apply_theme(qapp)
    w = build_window(PROFILE, tmp_path / "runs", ROOT / "protocols")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _type(qtbot, window, field: str, text: str) -> None:
    """Replace a protocol field's text by typing into its editor, as an operator does."""
    form = window.protocol.forms[0]
    editor = form.editors[f"steps.0.{field}"].widget
    editor.selectAll()
    qtbot.keyClicks(editor, text)


def _click_on_image(qtbot, window, point_um: tuple[float, float]) -> None:
    """A real mouse click on the frame view at a sample-plane point."""
    view = window.image.view
    vb = view.getPlotItem().vb
    scene_pos = vb.mapViewToScene(__import__("PyQt5.QtCore", fromlist=["QPointF"]).QPointF(*point_um))
    widget_pos = view.mapFromScene(scene_pos)
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(widget_pos.x(), widget_pos.y()))


def _set_short_run(qtbot, window, sweeps: int, recovery_ms: int) -> None:
    _type(qtbot, window, "sweeps", str(sweeps))
    _type(qtbot, window, "recovery_ms", str(recovery_ms))
    _type(qtbot, window, "interval_s", "0.1")
    qtbot.waitUntil(lambda: window.protocol.validate() is not None and window.protocol.run_button.isEnabled())


def test_frap_three_sweeps_on_the_drawn_line(qtbot, window, journal):
    window.protocol.select("frap")
    window.image.show_geometry((-1.0, 0.0), (3.0, 0.0), (0.0, 0.0))
    qtbot.mouseClick(window.image.snap_button, Qt.LeftButton)  # find the spine on a frame scan first
    qtbot.waitUntil(lambda: not window.session.busy and window.image.frames == 1, timeout=60000)
    window.image.place((-1.0, 0.0), (3.0, 0.0), (0.0, 0.0))
    _click_on_image(qtbot, window, FAST_SPINE_HEAD_UM)  # the bleach point: a real click on the head
    qtbot.waitUntil(lambda: window.protocol.field_text("line.start_um") == "[-1, 0]")
    bleach = [float(v) for v in window.protocol.field_text("bleach.point_um").strip("[]").split(",")]
    assert np.hypot(bleach[0] - FAST_SPINE_HEAD_UM[0], bleach[1] - FAST_SPINE_HEAD_UM[1]) < 0.15
    _set_short_run(qtbot, window, sweeps=3, recovery_ms=300)
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.busy == "protocol", timeout=60000)
    qtbot.waitUntil(lambda: window.traces.buffers.sweep_index >= 0 and window.traces.redraws > 3, timeout=60000)
    assert window.session.busy, "traces must update during the sweep, not only after the run"
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    result = window.last_result
    assert result is not None and result.outcome.status == "completed"
    assert window.protocol.bar.value() == window.protocol.bar.maximum() == 3
    qtbot.waitUntil(lambda: window.estimates.table.rowCount() >= 2)
    tau = window.estimates.latest("tau_frap_ms")
    assert tau is not None and tau.low < tau.value < tau.high
    assert 15 < tau.value < 60  # spine 'fast' has tau ~31 ms
    names = {window.estimates.table.item(r, 0).text() for r in range(window.estimates.table.rowCount())}
    assert {"tau_frap_ms", "neck_resistance_MOhm"} <= names
    # The kymograph's contrast histogram is re-binned at most 4x/s, and always after a sweep ends: once the
    # last sweep is drawn it bins that sweep's whole image.
    traces = window.traces

    def histogram_matches_image() -> bool:
        _, counts = traces.kymo.getHistogram()
        _, shown = traces.kymo_levels.plot.getData()
        return counts is not None and shown is not None and np.array_equal(counts, shown)
    qtbot.waitUntil(histogram_matches_image, timeout=60000)
    assert 1 <= traces.histogram_refreshes <= traces.redraws
    with RunFile(result.path) as run:
        assert run.n_sweeps == 3
        assert "steps.0.line.start_um=[-1, 0]" in run.text("protocol_yaml")
    # Data: the run listed by time, protocol and outcome; its PMT channel as a kymograph, ephys in pA
    data = window.data
    data.select(result.path.name)
    qtbot.waitUntil(lambda: data.files.count() and "completed 3/3 sweeps" in data.files.item(0).text(),
                    timeout=60000)
    assert data.files.item(0).text().split("  ")[1] == "frap"
    data.channel.setCurrentText("in:scanner.red")
    data.show_sweep()
    qtbot.waitUntil(lambda: "kymograph," in data.status.text(), timeout=60000)
    layout = window.protocol.prepared.compiled.plans[0].line_scan
    assert data.image.image.shape == (layout.n_slots, layout.pixels_per_line)  # lines x pixels, not 35k samples
    data.channel.setCurrentText("in:amplifier.primary")
    data.show_sweep()
    qtbot.waitUntil(lambda: data.status.text().endswith("(pA)"), timeout=60000)
    assert data.plot.getAxis("left").labelText == "primary (pA)"
    assert_rig_safe(journal)


def test_abort_now_leaves_the_rig_safe(qtbot, window, journal):
    window.protocol.select("frap")
    _set_short_run(qtbot, window, sweeps=3, recovery_ms=2000)
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.traces.buffers.sweep_index == 0 and window.traces.redraws > 2, timeout=60000)
    assert window.protocol.abort_button.isEnabled()
    qtbot.mouseClick(window.protocol.abort_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert window.last_result.outcome.status == "aborted"
    assert window.last_result.outcome.all_safe
    assert window.protocol.run_button.isEnabled()
    assert_rig_safe(journal)


def test_pause_holds_the_next_sweep_until_resumed(qtbot, window, journal):
    window.protocol.select("frap")
    _set_short_run(qtbot, window, sweeps=2, recovery_ms=2000)  # a 2.3 s sweep: the click lands in it under load
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.traces.buffers.sweep_index == 0, timeout=60000)
    qtbot.mouseClick(window.protocol.pause_button, Qt.LeftButton)  # during the first sweep
    assert window.protocol.pause_button.text() == "Resume"
    # the first sweep ends and the window says the run is held: the second must not have started
    qtbot.waitUntil(lambda: window.protocol.state_text().startswith("PAUSED"), timeout=60000)
    assert window.traces.buffers.sweep_index == 0 and window.session.busy
    qtbot.mouseClick(window.protocol.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert window.last_result.outcome.status == "completed"
    assert window.last_result.outcome.sweeps_completed == 2
    assert_rig_safe(journal)


def test_closing_mid_run_aborts_waits_and_leaves_the_rig_safe(qtbot, window, journal):
    window.protocol.select("frap")
    _set_short_run(qtbot, window, sweeps=3, recovery_ms=2000)
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.session.current_run_file() is not None and window.traces.redraws > 2,
                    timeout=60000)
    path = window.session.current_run_file()
    window.close()
    assert not window.session.busy
    assert window.session.wait(0.0)
    assert_rig_safe(journal)
    with RunFile(path) as run:
        assert run.status == "aborted"


def test_bad_parameter_shows_an_inline_message_and_blocks_run(qtbot, window):
    window.protocol.select("frap")
    _type(qtbot, window, "bleach.duration_ms", "-1")
    qtbot.waitUntil(lambda: "steps.0.bleach.duration_ms" in window.protocol.problem_texts(), timeout=60000)
    assert "greater than 0" in window.protocol.problem_texts()["steps.0.bleach.duration_ms"]
    assert not window.protocol.run_button.isEnabled()
    _type(qtbot, window, "bleach.duration_ms", "5")  # valid number, but beyond the laser's limit
    qtbot.waitUntil(lambda: "max_bleach_duration_ms" in window.protocol.problem_texts().get(
        "steps.0.bleach.duration_ms", ""), timeout=60000)
    _type(qtbot, window, "bleach.duration_ms", "0.5")
    qtbot.waitUntil(lambda: not window.protocol.problem_texts() and window.protocol.run_button.isEnabled(),
                    timeout=60000)


def test_membrane_test_shows_rs_rin_cm_near_the_cell(qtbot, window, journal):
    qtbot.mouseClick(window.devices.test_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.devices.parameters is not None, timeout=60000)  # returns at the first fit
    qtbot.waitUntil(lambda: window.devices.rs.text().endswith("MΩ"), timeout=60000)
    p = window.devices.parameters
    soma = window.session.profile.profile.simulation.soma
    assert p.series_resistance_MOhm == pytest.approx(soma.series_resistance_MOhm, rel=0.15)
    # the whole cell (soma + dendrites) is seen through the pipette: Rin below the soma's alone, Cm above
    assert 20 < p.input_resistance_MOhm <= 1.15 * soma.input_resistance_MOhm
    assert 0.85 * soma.capacitance_pF < p.capacitance_pF < 5 * soma.capacitance_pF
    # the seal test's trend: each pulse's total resistance (Rs + Rin) and holding current, over time
    seal = window.devices.seal
    qtbot.waitUntil(lambda: len(seal.points) >= 3 and seal.points[-1].cell is not None, timeout=60000)
    last = seal.points[-1]
    assert last.levels.resistance_MOhm(-5.0) == pytest.approx(last.cell.series_resistance_MOhm
                                                              + last.cell.input_resistance_MOhm, rel=0.1)
    assert seal.summary.text().startswith("Rs ") and "holding" in seal.summary.text()
    assert [p.t_s for p in seal.points] == sorted(p.t_s for p in seal.points)
    seal.stage.setCurrentText("seal")  # the next pulses are read as a seal: GOhm, no Rs/Rin/Cm
    qtbot.waitUntil(lambda: seal.points[-1].stage == "seal", timeout=60000)
    assert seal.points[-1].cell is None and seal.summary.text().startswith("seal ")
    qtbot.mouseClick(window.devices.test_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    assert_rig_safe(journal)


def test_holding_outside_the_limits_is_refused_inline(qtbot, window):
    window.devices.holding.selectAll()
    qtbot.keyClicks(window.devices.holding, "-150")
    assert "outside the profile limit" in window.devices.holding_error.text()
    assert not window.devices.apply_button.isEnabled()


def test_frame_scan_images_the_dendrite_and_spine(qtbot, window):
    qtbot.mouseClick(window.image.snap_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy and window.image.frames == 1, timeout=60000)
    qtbot.waitUntil(lambda: window.image.frame_image() is not None and
                    np.isfinite(window.image.frame_image()).all(), timeout=60000)
    img = window.image.frame_image()
    settings = window.image.settings()
    x = settings.centre_um[0] - settings.size_um / 2 + (np.arange(settings.pixels) + 0.5) * settings.size_um / settings.pixels
    profile_along_x = img.mean(axis=0)
    assert abs(x[np.argmax(profile_along_x)]) < 0.5  # the dendrite runs along y at x = 0
    assert profile_along_x[np.argmin(abs(x - 0))] > 10 * profile_along_x[np.argmin(abs(x - 8))]


def test_data_panel_reads_the_run_file_while_it_is_written(qtbot, window):
    window.protocol.select("frap")
    _set_short_run(qtbot, window, sweeps=3, recovery_ms=1500)
    qtbot.mouseClick(window.protocol.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.traces.buffers.sweep_index == 0, timeout=60000)
    qtbot.mouseClick(window.protocol.pause_button, Qt.LeftButton)  # held after a sweep: the file stays open
    qtbot.waitUntil(lambda: window.protocol.state_text().startswith("PAUSED"), timeout=60000)
    path = window.session.current_run_file()
    window.data.select(path.name)
    qtbot.waitUntil(lambda: window.data.summary is not None, timeout=60000)
    assert window.data.summary["status"] == "running"
    assert window.data.summary["n_sweeps"] >= 1
    qtbot.mouseClick(window.protocol.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60000)
    qtbot.waitUntil(lambda: window.data.summary["status"] == "completed", timeout=60000)


def test_every_protocol_of_the_library_opens_as_forms(qtbot, window):
    """Each protocol file (every step kind, VSD and Na/Ca included) becomes one form per step in the window."""
    import yaml

    library = window.protocol.library
    names = [library.itemText(i) for i in range(library.count())]
    assert {"fcat", "vsd_spine", "na_ca_imaging", "quantal", "composite_spine"} <= set(names)
    for i, name in enumerate(names):
        library.setCurrentIndex(i)  # the forms are built synchronously
        steps = yaml.safe_load((ROOT / "protocols" / f"{name}.yaml").read_text())["steps"]
        step_forms = [f for f in window.protocol.forms if f.prefix.startswith("steps.")]
        assert len(step_forms) == len(steps), name
        assert window.protocol.forms[-1].prefix == "budgets"  # and the protocol's budgets, last
