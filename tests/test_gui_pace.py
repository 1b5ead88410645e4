"""Window-free parts of the operator's window: the rehearsal pace switch and the placement rules."""

from __future__ import annotations

import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.cli import main
from rig.config.pace import with_pace
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.gui.placement import Placement, apply_placement
from rig.storage.reader import RunFile

REAL_PROFILE = ROOT / "hardware_profiles" / "two_photon_rig.yaml"


def test_pace_is_set_on_a_simulated_profile_and_noted_in_its_text():
    loaded = load_profile(PROFILE)
    other = "realtime" if loaded.profile.simulation.pace == "fast" else "fast"
    paced = with_pace(loaded, other)
    assert paced.profile.simulation.pace == other and f"--pace {other}" in paced.text
    assert paced.profile.devices == loaded.profile.devices
    assert with_pace(paced, other) is paced


def test_pace_is_refused_for_a_real_rig_and_an_unknown_pace(capsys):
    with pytest.raises(InvalidInput, match="only a simulated profile has a pace"):
        with_pace(load_profile(REAL_PROFILE), "fast")
    with pytest.raises(InvalidInput, match="allowed: fast, realtime"):
        with_pace(load_profile(PROFILE), "slow")
    assert main(["gui", "--profile", str(REAL_PROFILE), "--pace", "fast"]) == 2  # before any window opens
    assert "two_photon_rig.yaml: only a simulated profile has a pace" in capsys.readouterr().err


@pytest.mark.slow  # one short FRAP run end to end (~10 s on a loaded machine): the option must reach the rig
def test_rig_run_pace_reaches_the_run_file(tmp_path, capsys):
    code = main(["run", str(FRAP), "--sweeps", "1", "--set", "recovery_ms=100", "--pace", "realtime", "--quiet",
                 "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    (path,) = tmp_path.glob("*.h5")
    with RunFile(path) as run:
        assert "simulation.pace set to realtime" in run.text("profile_yaml")


def test_placement_fills_every_kind_and_names_what_is_unused():
    fields = {"line.start_um": 0, "line.end_um": 0, "imaging.start_um": 0, "imaging.end_um": 0,
              "imaging.spine_um": 0}
    taken: dict[str, str] = {}

    def set_field(name: str, text: str) -> int:
        if name in fields:
            taken[name] = text
            return 1
        return 0
    placement = Placement(line=((-1.0, 8.0), (2.5, 8.0)), spine=(1.7, 8.0), rois={"rois.neck_um": "[1, 8]"})
    report = apply_placement(placement, set_field)
    assert taken == {"line.start_um": "[-1, 8]", "imaging.start_um": "[-1, 8]", "line.end_um": "[2.5, 8]",
                     "imaging.end_um": "[2.5, 8]", "imaging.spine_um": "[1.7, 8]"}
    assert report.unused == ("ROIs",)
    assert "not used by x: ROIs" in report.text("x")
    assert Placement().is_empty() and apply_placement(Placement(), set_field).text("x") == ""
    assert Placement(spine=(1.0, 0.0)).field_values()["spine point"]["rois.head_um"] == "[1, 0]"
    assert "rois.head_um" not in Placement(spine=(1, 0), rois={"rois.head_um": "[2, 0]"}).field_values()["spine point"]


def test_population_shows_every_kind_that_measures_r_neck(qapp):
    from rig.datatypes.records import Estimate, SweepStarted
    from rig.datatypes.sweep_plan import SweepPlan
    from rig.gui.panels.estimates import EstimatesPanel

    panel = EstimatesPanel()
    steps = (("frap", "frap", (1.3, 0.0), "tau_frap_ms", 31.0, "neck_resistance_MOhm", 56.0),
             ("na_ca", "na_ca", (5.0, 0.0), "tau_na_ms", 12.0, "neck_resistance_MOhm", 80.0),
             ("fcat", "fcat", (1.3, 0.1), "tau_decay_quantum_ms", 20.0, "neck_resistance_lower_bound_MOhm", 40.0))
    for k, (step, kind, target, tau_name, tau, r_name, r) in enumerate(steps):
        plan = SweepPlan(kind=kind, step_index=k, step_name=step, sweep_in_step=0, sample_rate_hz=1000.0, n_samples=10,
                         outputs={}, inputs=(),
                         target_um=target)
        panel.handle(SweepStarted(k, plan, 0.0, {tau_name: tau * 1.05}))
        panel.add(Estimate(k, step, tau_name, tau, tau * 0.8, tau * 1.2, "ms"))
        bound = "lower" if "bound" in r_name else ""
        panel.add(Estimate(k, step, r_name, r, r * 0.7, float("nan") if bound else r * 1.4, "MOhm", bound=bound))
    panel.add(Estimate(2, "fcat", "fcat", 0.4, 0.3, 0.5, "1"))  # neither R_neck nor tau: not a population point
    points = panel.population_points()
    assert sorted((p.spine.kind, p.quantity, p.estimate.value) for p in points) == [
        ("fcat", "R_neck", 40.0), ("fcat", "tau", 20.0), ("frap", "R_neck", 56.0), ("frap", "tau", 31.0),
        ("na_ca", "R_neck", 80.0), ("na_ca", "tau", 12.0)]
    assert panel.redraw()
    import pyqtgraph as pg

    def drawn(plot):
        return [i for i in plot.items if isinstance(i, pg.ScatterPlotItem)]
    assert len(drawn(panel.population)) == len(drawn(panel.population_tau)) == 3  # every step, whatever its kind
    ticks = panel.population.getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks] == ["(1.3, 0.0)", "(5.0, 0.0)"]  # fcat's target is within 1 um of frap's: one spine
    # the table: one group row per step, then its estimates with truth beside them
    texts = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert texts[0].startswith("run 0 - step 1 'frap' (frap)") and texts[1:3] == ["neck_resistance_MOhm", "tau_frap_ms"]
    row = texts.index("tau_frap_ms")
    assert panel.table.item(row, 2).text() == "32.55"  # truth 31 * 1.05, inside the interval: drawn green
    assert panel.table.item(texts.index("neck_resistance_lower_bound_MOhm"), 1).text() == "40 (>= 28)"
