"""fCaT on the simulated rig: plans at the reversal found by the run, estimates without NaN, clear failures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from conftest import PROFILE, ROOT
from rig.api import run_protocol
from rig.config.problems import InvalidInput
from rig.datatypes.sweep_meta import Bath
from rig.storage.reader import RunFile

FCAT = ROOT / "protocols" / "fcat.yaml"
FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"


@pytest.fixture(scope="module")
def steady_profile(tmp_path_factory) -> Path:
    """The simulated fCaT profile without neck plasticity (see the reversal tests)."""
    data = yaml.safe_load(FCAT_PROFILE.read_text())
    for spine in data["simulation"]["spines"]:
        if spine["name"] == "slow":
            spine["release_probability"] = 0.9  # six sweeps per condition must carry responses
    data["simulation"]["plasticity"] = {"enabled": False}
    path = tmp_path_factory.mktemp("profile") / "simulated_steady.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def fcat_run(tmp_path_factory, steady_profile):
    out = tmp_path_factory.mktemp("runs")
    # one reversal CaT wanted: on this p 0.9 spine the first 6 sweeps have it, so no extension round runs
    result = run_protocol(FCAT, steady_profile, ["steps.1.sweeps_per_condition=6", "steps.1.min_reversal_releases=1"],
                          out_dir=out)
    with RunFile(result.path) as f:
        return result, f.summary(), f.sweep_plans(), f.features(), f.estimates()


@pytest.fixture(scope="module")
def extended_run(tmp_path_factory, steady_profile):
    """More reversal CaTs wanted than any sweep count gives: every extension round up to the maximum runs."""
    out = tmp_path_factory.mktemp("extended")
    result = run_protocol(FCAT, steady_profile, ["steps.1.sweeps_per_condition=4", "steps.1.min_reversal_releases=1000",
                                                 "steps.1.max_sweeps_per_condition=7"], out_dir=out)
    with RunFile(result.path) as f:
        return result, f.summary(), f.sweep_plans(), f.n_sweeps, f.n_planned_sweeps


def test_fcat_extends_in_rounds_while_too_few_reversal_cats_are_detected(extended_run):
    """4 sweeps of each condition, then rounds of 2 + 2 and a last of 1 + 1 (max 7), each said in a notice; the
    progress total is what ran."""
    result, summary, plans, n_sweeps, planned = extended_run
    assert result.outcome.status == "completed", result.outcome.message
    fcat_plans = [p for p in plans if p.kind == "fcat"]
    roles = [p.meta.role for p in fcat_plans]
    assert roles.count("cc") == roles.count("reversal") == 7
    # blocks_cc_first in every round, a settle sweep at every clamp change
    measuring = [r for r in roles if r != "settle"]
    assert measuring == ["cc"] * 4 + ["reversal"] * 4 + ["cc"] * 2 + ["reversal"] * 2 + ["cc", "reversal"]
    changes = sum(1 for a, b in zip(measuring, measuring[1:]) if a != b)
    assert roles.count("settle") == changes + 1
    extensions = [n["message"] for n in summary["notices"] if "min_reversal_releases" in n["message"]]
    assert len(extensions) == 2 and "extension 2, 1 more sweeps" in extensions[1] and "the last" in extensions[1]
    assert "extension 1, 2 more sweeps" in extensions[0]
    assert planned == n_sweeps == len(plans)


def test_fcat_ends_without_an_extension_once_enough_reversal_cats_are_detected(fcat_run):
    _, summary, _, _, _ = fcat_run
    assert not any("min_reversal_releases" in n["message"] for n in summary["notices"])


def test_fcat_sweeps_run_at_the_reversal_found_by_the_search(fcat_run):
    result, summary, plans, _, _ = fcat_run
    assert result.outcome.status == "completed", result.outcome.message
    reversal = summary["estimates"]["reversal_mV"]["value"]
    fcat_plans = [p for p in plans if p.kind == "fcat" and p.meta.role != "settle"]
    vc = [p for p in fcat_plans if p.amplifier_mode == "VC"]
    cc = [p for p in fcat_plans if p.amplifier_mode == "CC"]
    assert len(vc) == len(cc) == 6
    for p in vc:
        assert p.outputs["amplifier.command"].min() == pytest.approx(reversal, abs=1e-3)
        assert p.meta.condition == "SNX-482" and p.meta.bath == Bath(block_r_type_ca=True)
    assert all(p.outputs["amplifier.command"].max() == 0.0 for p in cc)
    assert all({"scanner.green", "scanner.red"} <= set(p.inputs) for p in fcat_plans)


def test_fcat_estimates_are_finite_or_replaced_by_a_notice(fcat_run):
    _, summary, _, features, _ = fcat_run
    for name, e in summary["estimates"].items():
        sides = {"": ("low", "high"), "lower": ("low",), "upper": ("high",)}[e.get("bound", "")]
        assert all(math.isfinite(e[k]) for k in ("value",) + sides), name
        assert all(e[k] <= e["value"] for k in sides if k == "low") and all(
            e["value"] <= e[k] for k in sides if k == "high"), name
    assert summary["estimates"]["neck_resistance_lower_bound_MOhm"]["bound"] == "lower"
    assert "tau_decay_ms" not in summary["estimates"] and "neck_resistance_MOhm" not in summary["estimates"]
    names = set(summary["estimates"])
    assert "release_probability" in names
    if "fcat" not in names:  # the only allowed reason: the run says why
        assert any("fCaT not estimated" in n["message"] or "template" in n["message"] for n in summary["notices"])
    amplitudes = [f for f in features if f["name"].startswith("amplitude_")]
    assert len(amplitudes) == 12  # every sweep, failures included, has an amplitude
    print({k: (round(v["value"], 3), round(v["low"], 3), round(v["high"], 3)) for k, v in summary["estimates"].items()},
          "truth", summary["truth"])


def test_a_reversal_outside_the_checked_range_stops_the_step_with_a_message(tmp_path, steady_profile):
    result = run_protocol(FCAT, steady_profile, ["steps.1.holding_range_mV=[-20, 0]"], out_dir=tmp_path)
    assert result.outcome.status == "error"
    assert "outside this step's holding_range_mV [-20, 0]" in result.outcome.message


def test_fcat_without_an_earlier_reversal_step_fails_clearly(tmp_path, steady_profile):
    data = yaml.safe_load(FCAT.read_text())
    data["steps"] = data["steps"][1:]
    path = tmp_path / "fcat_only.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_protocol(path, steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "error"
    assert "no earlier step found 'reversal_mV'" in result.outcome.message


@pytest.mark.parametrize("override, field", [
    ("steps.1.holding_range_mV=[-20, 60]", "holding_range_mV"),
    ("steps.1.stimulus.amplitude_V=-20", "stimulus.amplitude_V"),
    ("steps.1.stimulus.pulse_ms=9", "stimulus.pulse_ms"),
    ("steps.1.imaging.imaging_power_fraction=0.5", "imaging.imaging_power_fraction"),
    ("steps.1.condition=NBQX+aspirin", "condition"),
])
def test_fcat_settings_outside_the_profile_are_refused(override, field):
    with pytest.raises(InvalidInput) as exc:
        from rig.api import prepare_run

        prepare_run(FCAT, PROFILE, [override])
    assert any(p.field == f"steps.1.{field}" for p in exc.value.problems), exc.value.problems


@pytest.mark.parametrize("overrides, message", [
    (["steps.1.min_reversal_releases=6", "steps.1.max_sweeps_per_condition=null"], "needs max_sweeps_per_condition"),
    (["steps.1.max_sweeps_per_condition=10"], "at least sweeps_per_condition"),
    (["steps.1.until={estimate: fcat, relative_half_width: 0.5}"], "two stopping rules"),
])
def test_fcat_extension_settings_that_contradict_are_refused(overrides, message):
    with pytest.raises(InvalidInput) as exc:
        run_protocol(FCAT, FCAT_PROFILE, overrides, out_dir=Path("/nonexistent-never-written"))
    assert any(message in str(p) for p in exc.value.problems), exc.value.problems


def test_release_probability_is_bounded_from_below_from_the_first_reversal_sweep(fcat_run):
    """Before the reversal's CaTs have a shape of their own (so before any fCaT), each reversal sweep publishes
    release_probability_lower_bound (detections only miss releases) and no two-sided release_probability; once
    the shape is there both are published, the bound never above the point."""
    _, _, plans, _, estimates = fcat_run
    reversal = [k for k, plan in enumerate(plans) if plan.kind == "fcat" and plan.meta.role == "reversal"]
    by_sweep: dict[int, dict[str, object]] = {}
    for e in estimates:
        by_sweep.setdefault(e.sweep, {})[e.name] = e
    first = by_sweep[reversal[0]]
    assert "release_probability_lower_bound" in first and "release_probability" not in first and "fcat" not in first
    bound = first["release_probability_lower_bound"]
    assert bound.bound == "lower" and 0.0 <= bound.low <= 1.0 and math.isnan(bound.high)
    last = by_sweep[reversal[-1]]
    assert {"release_probability", "release_probability_lower_bound", "fcat"} <= set(last)
    assert last["release_probability_lower_bound"].low <= last["release_probability"].value
