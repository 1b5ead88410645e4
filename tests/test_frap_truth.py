"""FRAP on the simulated rig recovers the specimen's true tau (within 10%) and R_neck (interval holds truth)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FRAP, PROFILE
from rig.analysis.recovery_fit import fit_recovery
from rig.api import run_protocol
from rig.storage.reader import RunFile

SLOW = ["steps.0.line.start_um=[-1.5, 8.0]", "steps.0.line.end_um=[2.5, 8.0]",
        "steps.0.bleach.point_um=[1.788, 8.0]", "recovery_ms=2500"]


@pytest.mark.parametrize("name, overrides, sweeps, true_tau_ms", [
    ("fast", ["recovery_ms=400", "interval_s=1"], 20, 31.39),
    ("slow", SLOW, 8, 501.4),
])
def test_frap_recovers_true_tau_and_neck_resistance(tmp_path, name, overrides, sweeps, true_tau_ms):
    result = run_protocol(FRAP, PROFILE, overrides, sweeps=sweeps, out_dir=tmp_path)
    assert result.outcome.status == "completed"
    with RunFile(result.path) as f:
        summary = f.summary()
    tau, truth = summary["estimates"]["tau_frap_ms"], summary["truth"]
    assert truth["tau_frap_ms"] == pytest.approx(true_tau_ms, rel=1e-3)  # the line targets the intended spine
    assert tau["value"] == pytest.approx(truth["tau_frap_ms"], rel=0.10)
    assert tau["low"] < tau["value"] < tau["high"]
    r = summary["estimates"]["neck_resistance_MOhm"]
    assert r["low"] <= truth["neck_resistance_MOhm"] <= r["high"]
    print(f"{name}: tau {tau['value']:.1f} [{tau['low']:.1f}, {tau['high']:.1f}] ms, truth {truth['tau_frap_ms']:.1f}; "
          f"R_neck {r['value']:.0f} [{r['low']:.0f}, {r['high']:.0f}] MOhm, truth {truth['neck_resistance_MOhm']:.0f}")


def test_recovery_fit_interval_covers_truth_at_nominal_rate():
    """The per-sweep 95% profile-likelihood interval of tau covers the truth ~95% of the time."""
    rng = np.random.default_rng(7)
    t = np.arange(400) * 2.0 + 1.0
    hits = 0
    trials = 300
    for _ in range(trials):
        counts = rng.poisson(60 - 38 * np.exp(-t / 40.0))
        fit = fit_recovery(t, counts)
        hits += fit.tau_low_ms <= 40.0 <= fit.tau_high_ms
    assert 0.91 <= hits / trials <= 0.985


def test_recovery_fit_reports_no_bleach():
    rng = np.random.default_rng(3)
    t = np.arange(200) * 2.0
    fit = fit_recovery(t, rng.poisson(np.full(t.shape, 50.0)))
    assert not fit.converged
