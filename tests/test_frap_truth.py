"""FRAP on the simulated rig recovers the specimen's true tau and R_neck, fast spines to 2 GOhm ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from conftest import FRAP, PROFILE
from rig.api import run_protocol
from rig.storage.reader import RunFile

SLOW_LINE = ["steps.0.line.start_um=[-1.5, 8.0]", "steps.0.line.end_um=[2.5, 8.0]",
             "steps.0.bleach.point_um=[1.788, 8.0]"]
SLOW = SLOW_LINE + ["recovery_ms=2500"]


def _run(tmp_path, profile, overrides, sweeps):
    result = run_protocol(FRAP, profile, overrides, sweeps=sweeps, out_dir=tmp_path)
    assert result.outcome.status == "completed"
    with RunFile(result.path) as f:
        summary = f.summary()
        features = f.features()
        rows = f.truth_rows()
        summary["notice_messages"] = [n["message"] for n in f.notices()]
    return summary, features, rows


def _check(summary, rows, tau_rel):
    """Combined tau within tau_rel and R_neck within 10 % of the truth, both intervals holding it."""
    tau, truth = summary["estimates"]["tau_frap_ms"], summary["truth"]
    per_sweep = [v for _, name, v in rows if name == "tau_frap_ms"]
    assert np.ptp(per_sweep) < 1e-6 * per_sweep[0]  # the spine did not change: one truth for every sweep
    assert tau["value"] == pytest.approx(truth["tau_frap_ms"], rel=tau_rel)
    assert tau["low"] <= truth["tau_frap_ms"] <= tau["high"]
    assert tau["trend"] == ""
    r = summary["estimates"]["neck_resistance_MOhm"]
    assert r["value"] == pytest.approx(truth["neck_resistance_MOhm"], rel=0.10)
    assert r["low"] <= truth["neck_resistance_MOhm"] <= r["high"]
    return tau, r


@pytest.mark.parametrize("name, overrides, sweeps, true_tau_ms", [
    ("fast", ["recovery_ms=400", "interval_s=1"], 20, 31.39),
    ("slow", SLOW, 6, 501.4),
])
def test_frap_recovers_true_tau_and_neck_resistance(tmp_path, name, overrides, sweeps, true_tau_ms):
    summary, _, rows = _run(tmp_path, PROFILE, overrides, sweeps)
    truth = summary["truth"]
    assert truth["tau_frap_ms"] == pytest.approx(true_tau_ms, rel=1e-3)  # the line targets the intended spine
    tau, r = _check(summary, rows, 0.05)
    assert not [m for m in summary["notice_messages"] if "recovery" in m]  # recovery >= 3 tau: within design
    print(f"{name}: tau {tau['value']:.1f} [{tau['low']:.1f}, {tau['high']:.1f}] ms, truth {truth['tau_frap_ms']:.1f}; "
          f"R_neck {r['value']:.0f} [{r['low']:.0f}, {r['high']:.0f}] MOhm, truth {truth['neck_resistance_MOhm']:.0f}")


def test_a_2_gohm_spine_sweeps_1_s_apart(tmp_path):
    """R_neck 2 GOhm (tau 1.1 s) with sweeps 1 s apart: the head is still ~8 % short of full when the next
    sweep's light comes on, which the analysis carries over from the previous sweep's fit. The 3 s recovery
    is 2.7 tau, just short of the validated 3 tau, and the analysis says so once."""
    profile = yaml.safe_load(PROFILE.read_text())
    rho = profile["simulation"]["cytoplasm_resistivity_ohm_cm"]
    for spine in profile["simulation"]["spines"]:
        if spine["name"] == "slow":  # R = rho L / (pi a^2) = 2 GOhm
            spine["neck_radius_um"] = math.sqrt(rho * 1e4 * spine["neck_length_um"] / (math.pi * 2.0e9))
    path = tmp_path / "two_gohm.yaml"
    path.write_text(yaml.safe_dump(profile))
    summary, features, rows = _run(tmp_path, path, SLOW_LINE + ["recovery_ms=3000", "interval_s=1"], 5)
    assert summary["truth"]["neck_resistance_MOhm"] == pytest.approx(2000.0, rel=1e-6)
    tau, r = _check(summary, rows, 0.05)
    starts = [x["value"] for x in features if x["name"] == "start_fraction"]
    assert starts[0] == 1.0 and all(0.85 < s < 0.97 for s in starts[1:])  # carried over, not assumed full
    short = [m for m in summary["notice_messages"] if "set recovery_ms to at least" in m]
    assert len(short) == 1
    print(f"2 GOhm: tau {tau['value']:.1f} [{tau['low']:.1f}, {tau['high']:.1f}] ms, truth "
          f"{summary['truth']['tau_frap_ms']:.1f}; R_neck {r['value']:.0f} [{r['low']:.0f}, {r['high']:.0f}] MOhm")


def test_a_recovery_shorter_than_tau_gives_lower_bounds_with_their_truth(tmp_path):
    """'slow' (tau ~500 ms) in a 250 ms recovery: tau is only bounded from below, so the run publishes
    tau_frap_lower_bound_ms and neck_resistance_lower_bound_MOhm (one-sided), never a two-sided tau, and each
    bound has a truth of its name in every sweep, on the truth's side."""
    summary, _, rows = _run(tmp_path, PROFILE, SLOW_LINE + ["recovery_ms=250", "interval_s=2"], 3)
    estimates, truth = summary["estimates"], summary["truth"]
    assert "tau_frap_ms" not in estimates and "neck_resistance_MOhm" not in estimates
    for name in ("tau_frap_lower_bound_ms", "neck_resistance_lower_bound_MOhm"):
        bound = estimates[name]
        assert bound["bound"] == "lower" and math.isnan(bound["high"])
        assert 0 < bound["low"] <= truth[name]
        assert len([v for _, n, v in rows if n == name and math.isfinite(v)]) == 3
    assert truth["tau_frap_lower_bound_ms"] == pytest.approx(501.4, rel=1e-3)
    assert [m for m in summary["notice_messages"] if "not resolved" in m]
