"""`until:` stopping rules end a step once its estimate is precise enough, through the real runner on the
simulated rig; the budget, the prediction and bad rules are reported."""

from __future__ import annotations

import math

import pytest
import yaml

from conftest import FRAP, ROOT
from rig.api import run_protocol
from rig.cli import main
from rig.config.problems import InvalidInput
from rig.storage.reader import RunFile

FCAT = ROOT / "protocols" / "fcat.yaml"
FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"


def test_frap_stops_once_tau_is_precise(tmp_path) -> None:
    """20 sweeps of budget, tau to 10 % half width: the step ends early, says why, and the interval meets it."""
    result = run_protocol(FRAP, overrides=["until={estimate: tau_frap_ms, relative_half_width: 0.1}"], sweeps=20,
                          out_dir=tmp_path)
    with RunFile(result.path) as run:
        n = run.n_sweeps
        assert 3 <= n < 20 and run.n_planned_sweeps == n  # progress ends at the sweeps really run
        tau = [e for e in run.estimates() if e.name == "tau_frap_ms"][-1]
        assert (tau.high - tau.low) / 2 / tau.value <= 0.1
        info = [m["message"] for m in run.notices() if m["level"] == "info"]
        assert any(f"stopping rule met after {n} of 20 sweeps" in m for m in info)
        predicted = [f["value"] for f in run.features() if f["name"] == "sweeps_to_target"]
        assert len(predicted) == n and predicted[-1] == 0 and all(math.isfinite(p) for p in predicted)


def test_unreachable_target_is_said_early_and_the_budget_holds(tmp_path) -> None:
    """A 1 % target on 4 sweeps: warned after min_sweeps that it needs more, and all 4 run."""
    result = run_protocol(FRAP, overrides=["until={estimate: tau_frap_ms, relative_half_width: 0.01, "
                                           "min_sweeps: 2}"], sweeps=4, out_dir=tmp_path)
    with RunFile(result.path) as run:
        assert run.n_sweeps == 4
        warnings = [m for m in run.notices() if m["level"] == "warning"]
        early = [m for m in warnings if "predicted to need about" in m["message"]]
        assert early and early[0]["sweep"] == 1  # after the 2nd sweep (min_sweeps)
        assert any("stopping rule not met: budget of 4 sweeps used" in m["message"] for m in warnings)


@pytest.mark.parametrize("rule, message", [
    ("{estimate: tau_frap_ms}", "give exactly one of relative_half_width and absolute_half_width"),
    ("{estimate: tau_frap_ms, relative_half_width: 0.1, absolute_half_width: 2}", "exactly one"),
    ("{estimate: tau_frap_ms, relative_half_width: -1}", "greater than 0"),
    ("{estimate: tau_frap_ms, relative_half_width: 0.1, min_sweeps: 5, max_sweeps: 2}", "below min_sweeps"),
])
def test_bad_rules_are_refused_before_anything_runs(tmp_path, capsys, rule, message) -> None:
    """One line naming the field, exit 2, no run file."""
    assert main(["run", str(FRAP), "--set", f"until={rule}", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "until" in err and message in err and not list(tmp_path.glob("*.h5"))


def test_until_on_a_step_that_chooses_its_own_sweeps_is_refused() -> None:
    """The reversal search decides its sweeps: an `until:` there is a clear error, not silently ignored."""
    with pytest.raises(InvalidInput) as err:
        run_protocol(FCAT, FCAT_PROFILE, overrides=["steps.0.until={estimate: reversal_mV, absolute_half_width: 1}"])
    assert [p.field for p in err.value.problems] == ["steps.0.until"]


def test_block_sweeps_on_a_fixed_kind_is_refused() -> None:
    """block_sweeps means something only where two conditions alternate."""
    with pytest.raises(InvalidInput) as err:
        run_protocol(FRAP, overrides=["until={estimate: tau_frap_ms, relative_half_width: 0.1, block_sweeps: 2}"])
    assert [p.field for p in err.value.problems] == ["until"] or "block_sweeps" in str(err.value.problems)


def _fcat_alone(tmp_path, until: str, per_condition: int) -> list:
    """fcat.yaml's fCaT step alone, held at a fixed reversal (16 mV: the simulated cell's), with an `until:` rule."""
    protocol = yaml.safe_load(FCAT.read_text())
    step = protocol["steps"][1] | {"reversal_holding": 16.0, "sweeps_per_condition": per_condition,
                                   "min_reversal_releases": 0, "until": yaml.safe_load(until)}
    path = tmp_path / "fcat_until.yaml"
    path.write_text(yaml.safe_dump(protocol | {"steps": [step]}))
    return [path]


def test_fcat_until_alternates_blocks_and_stops_on_the_combined_interval(tmp_path) -> None:
    """A loose absolute target: the step stops at the first sweep whose fcat interval meets it (after min_sweeps),
    in blocks of block_sweeps alternating CC first, a settle sweep at each switch, and says why."""
    [path] = _fcat_alone(tmp_path, "{estimate: fcat, absolute_half_width: 5, min_sweeps: 6, block_sweeps: 3}", 12)
    result = run_protocol(path, FCAT_PROFILE, out_dir=tmp_path)
    with RunFile(result.path) as run:
        roles = [p.meta.role for p in run.sweep_plans()]
        measuring = [r for r in roles if r != "settle"]
        n = len(measuring)
        assert 6 <= n < 24 and run.n_planned_sweeps == run.n_sweeps
        assert measuring == (["cc"] * 3 + ["reversal"] * 3) * (n // 6) + (["cc"] * 3 + ["reversal"] * 3)[:n % 6]
        switches = sum(1 for a, b in zip(["none"] + measuring, measuring) if a != b)
        assert roles.count("settle") == switches and roles[0] == "settle"
        last = [e for e in run.estimates() if e.name == "fcat"][-1]
        assert (last.high - last.low) / 2 <= 5 and last.sweep == run.n_sweeps - 1
        info = [m["message"] for m in run.notices() if m["level"] == "info"]
        assert any(f"stopping rule met after {n} of 24 sweeps: fcat" in m for m in info)
        predicted = [f["value"] for f in run.features() if f["name"] == "sweeps_to_target"]
        assert predicted and predicted[-1] == 0


def test_fcat_until_unreached_runs_its_budget_and_says_so(tmp_path) -> None:
    """A target no run reaches: every sweep of both conditions (capped by max_sweeps), then the budget notice."""
    [path] = _fcat_alone(tmp_path, "{estimate: fcat, relative_half_width: 0.001, max_sweeps: 8, block_sweeps: 2}", 6)
    result = run_protocol(path, FCAT_PROFILE, out_dir=tmp_path)
    with RunFile(result.path) as run:
        measuring = [p.meta.role for p in run.sweep_plans() if p.meta.role != "settle"]
        assert measuring == ["cc", "cc", "reversal", "reversal"] * 2
        warnings = [m["message"] for m in run.notices() if m["level"] == "warning"]
        assert any("stopping rule not met: budget of 8 sweeps used, fcat" in m for m in warnings) or \
            not any(e.name == "fcat" for e in run.estimates())
