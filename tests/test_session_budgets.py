"""Per-spine light and depolarization budgets across the runs of one session folder, through the real runner
on the simulated rig: counted per spine, refused before any light, or stopped when reached."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from conftest import FRAP, PROFILE, assert_rig_safe
from rig.api import run_protocol
from rig.cli import main
from rig.config.profile import load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.protocol_file import compile_protocol, load_protocol
from rig.session.budget import RECORD_NAME
from rig.session.dose import spine_dose_p2ms, sweep_dose

BUDGET = "budgets={two_photon_fraction2_s: %g, on_exceed: %s}"


def _two_photon(folder) -> float:
    spines = json.loads((folder / RECORD_NAME).read_text())["spines"]
    assert len(spines) == 1 and spines[0]["x_um"] == pytest.approx(1.288)
    return spines[0]["dose"]["two_photon_fraction2_s"]


def test_dose_of_a_plan_is_power_squared_times_time_led_power_and_depolarized_time() -> None:
    """The FRAP plan's 2P dose is power^2 dt while the beam is on the spine; an LED at 2 mW on 10 ms is 0.02 mJ;
    VC above the threshold counts, with the interval after a sweep that ends there."""
    profile = load_profile(PROFILE).profile
    plan = compile_protocol(load_protocol(FRAP, ["sweeps=1"]), load_profile(PROFILE)).plans[0]
    power = plan.outputs["laser.power"].astype(float)
    everywhere = float((power**2).sum()) / 50_000.0
    dose = sweep_dose(plan, profile, -20.0, plan.target_um)
    # only the light on the spine counts (the bleach pulse parks there; the scan passes it once a line)
    assert 0.0 < dose.two_photon_fraction2_s < 0.8 * everywhere
    assert dose.two_photon_fraction2_s == pytest.approx(spine_dose_p2ms(plan, plan.target_um) / 1000.0)
    assert sweep_dose(plan, profile, -20.0).two_photon_fraction2_s == pytest.approx(everywhere)  # no target: all
    assert dose.depolarized_s == 0.0  # FRAP holds -70 mV
    led = profile.devices["leds"].leds["uv385"].model_copy(update={"power_mW": 2.0})
    leds = profile.devices["leds"].model_copy(update={"leds": {"uv385": led}})
    profile = profile.model_copy(update={"devices": {**profile.devices, "leds": leds}})
    on = np.zeros(1000, np.float32)
    on[:100] = 1
    held = np.zeros(1000, np.float32)
    plan2 = SweepPlan(0, "x", "hold", 0, 10_000.0, 1000, {"leds.uv385": on, "amplifier.command": held}, (),
                      amplifier="amplifier", amplifier_mode="VC", interval_after_s=2.0)
    d2 = sweep_dose(plan2, profile, -20.0)
    assert d2.led_mJ == pytest.approx(0.02) and d2.depolarized_s == pytest.approx(0.1 + 2.0)


def test_budget_accumulates_over_runs_and_refuses_the_run_that_would_exceed_it(tmp_path, journal, capsys) -> None:
    """Two 3-sweep runs fit a budget of 2.5 runs; the third is refused (exit 2) before any light; nothing written."""
    one = run_protocol(FRAP, sweeps=3, overrides=[BUDGET % (3600, "refuse")], out_dir=tmp_path / "probe")
    per_run = _two_photon(tmp_path / "probe")
    assert per_run > 0 and one.outcome.status == "completed"
    folder = tmp_path / "session"
    rule = BUDGET % (2.5 * per_run, "refuse")
    for _ in range(2):
        assert main(["run", str(FRAP), "--sweeps", "3", "--set", rule, "--out", str(folder), "--quiet"]) == 0
    assert _two_photon(folder) == pytest.approx(2 * per_run)
    assert main(["run", str(FRAP), "--sweeps", "3", "--set", rule, "--out", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "budgets" in err and "spine at (1.29, 0.00) um: this run could bring two_photon_fraction2_s" in err
    assert len(list(folder.glob("*.h5"))) == 2 and _two_photon(folder) == pytest.approx(2 * per_run)
    assert_rig_safe(journal)


def test_budget_stops_the_run_at_the_sweep_that_would_exceed_it(tmp_path, journal) -> None:
    """on_exceed: stop runs until the next sweep would exceed the budget: that sweep never starts, exit 1."""
    run_protocol(FRAP, sweeps=1, overrides=[BUDGET % (3600, "stop")], out_dir=tmp_path / "probe")
    per_sweep = _two_photon(tmp_path / "probe")
    folder = tmp_path / "session"
    code = main(["run", str(FRAP), "--sweeps", "5", "--set", BUDGET % (2.5 * per_sweep, "stop"), "--out",
                 str(folder), "--quiet"])
    assert code == 1
    assert _two_photon(folder) == pytest.approx(2 * per_sweep)
    from rig.storage.reader import RunFile

    with RunFile(next(folder.glob("*.h5"))) as run:
        assert run.n_sweeps == 2 and run.status == "error" and "budget reached" in run.attrs["message"]
    assert_rig_safe(journal)


def test_profile_budget_applies_and_protocol_budget_replaces_it(tmp_path) -> None:
    """A profile's budgets govern runs without their own; a protocol's own budgets replace the profile's."""
    data = yaml.safe_load(PROFILE.read_text())
    data["budgets"] = {"two_photon_fraction2_s": 1e-6}
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(data))
    assert main(["run", str(FRAP), "--profile", str(profile), "--sweeps", "1", "--out", str(tmp_path / "a"),
                 "--quiet"]) == 2
    assert main(["run", str(FRAP), "--profile", str(profile), "--sweeps", "1", "--out", str(tmp_path / "b"),
                 "--quiet", "--set", BUDGET % (3600, "refuse")]) == 0


FCAT = FRAP.parent / "fcat.yaml"
FCAT_PROFILE = PROFILE.parent / "simulated_fcat.yaml"


def _depolarized(folder) -> float:
    return sum(s["dose"]["depolarized_s"] for s in json.loads((folder / RECORD_NAME).read_text())["spines"])


def test_the_reversal_search_is_charged_its_time_held_depolarized(tmp_path, journal, capsys) -> None:
    """fcat.yaml's reversal search holds the cell above -20 mV: a run that could exceed 10 s is refused before any
    light (the search's most sweeps at its highest holding); with on_exceed: stop it runs until the next sweep
    would exceed the budget, and the session record keeps what the search held."""
    rule = "budgets={depolarized_s: 10, on_exceed: %s}"
    assert main(["run", str(FCAT), "--profile", str(FCAT_PROFILE), "--set", rule % "refuse", "--out",
                 str(tmp_path / "refused"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "this run could bring depolarized_s" in err and not list((tmp_path / "refused").glob("*.h5"))
    folder = tmp_path / "stopped"
    assert main(["run", str(FCAT), "--profile", str(FCAT_PROFILE), "--set", rule % "stop", "--out", str(folder),
                 "--quiet"]) == 1
    from rig.storage.reader import RunFile

    with RunFile(next(folder.glob("*.h5"))) as run:
        steps = {p.step_index for p in run.sweep_plans()}
        assert steps == {0} and "budget reached" in run.attrs["message"]
    assert 0 < _depolarized(folder) <= 10
    assert_rig_safe(journal)
