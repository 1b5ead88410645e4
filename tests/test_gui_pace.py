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
    from rig.datatypes.records import Estimate
    from rig.gui.panels.estimates import EstimatesPanel

    panel = EstimatesPanel()
    for step, tau_name, tau, r in (("frap", "tau_frap_ms", 31.0, 56.0), ("na_ca", "tau_na_ms", 12.0, 80.0)):
        panel.add(Estimate(0, step, tau_name, tau, tau * 0.8, tau * 1.2, "ms"))
        panel.add(Estimate(0, step, "neck_resistance_MOhm", r, r * 0.7, r * 1.4, "MOhm"))
    panel.add(Estimate(0, "fcat", "fcat", 0.4, 0.3, 0.5, "1"))  # no R_neck: not a population point
    assert sorted(panel.population_points()) == [("FRAP", 31.0, 56.0), ("Na+ decay", 12.0, 80.0)]
    assert panel.redraw()
    drawn = [item for item in panel.population.getPlotItem().listDataItems()]
    assert sum(len(item.getData()[0]) for item in drawn) == 2
