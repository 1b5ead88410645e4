"""fCaT over a population (issue 11): the estimator's interval on synthetic trials, and the whole protocol
(reversal search, then fCaT) on simulated spines spanning R_neck 30 MOhm - 2 GOhm and release probability
0.1 - 0.5, each estimate against the mean of its per-sweep truths.

The spines replace 'slow' in hardware_profiles/simulated_fcat.yaml (same place, so protocols/fcat.yaml's
scan line crosses the head): neck 1 um long, radius from R = rho L / (pi a^2), plasticity off (the estimator
is tested here; the README run tests it with plasticity).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from conftest import ROOT
from rig.analysis.release_mixture import release_ratio
from rig.api import run_protocol
from rig.storage.reader import RunFile

FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"
FCAT = ROOT / "protocols" / "fcat.yaml"
RHO_OHM_UM = 150 * 1e4  # cytoplasm_resistivity_ohm_cm of the profile


def _trials(rng: np.random.Generator, n: int, p: float, snr: float, fcat: float, cv_b: float):
    released_a, released_b = rng.random(n) < p, rng.random(n) < p
    a = released_a * snr * rng.gamma(16.0, 1 / 16.0, n) + rng.normal(0, 1, n)  # quantal CV 0.25
    b = released_b * fcat * snr * rng.gamma(1 / cv_b**2, cv_b**2, n) + rng.normal(0, 1, n)
    return a, np.ones(n), b, np.ones(n)


@pytest.mark.slow
@pytest.mark.parametrize("n, p, snr, fcat, cv_b", [
    (30, 0.2, 50.0, 0.4, 0.5),   # the README spine: releases far above the noise in both conditions
    (30, 0.3, 8.0, 0.3, 0.5),    # CC releases near the noise: the mixture leans on the shared p
    (40, 0.1, 30.0, 0.5, 0.5),   # p = 0.1: four releases per condition expected
])
def test_fcat_interval_covers_on_synthetic_trials_with_many_failures(n, p, snr, fcat, cv_b):
    """Mixture ratio over every trial: median bias within 10 %, 95 % intervals cover 90-99 % of 150 draws."""
    rng = np.random.default_rng(7)
    covered, values, bounded = 0, [], 0
    for k in range(150):
        r = release_ratio(*_trials(rng, n, p, snr, fcat, cv_b), resamples=300, seed=k)
        if not math.isfinite(r.high):  # too few releases for an interval: said so, not counted as delivered
            continue
        bounded += 1
        covered += bool(r.low <= fcat <= r.high)
        values.append(r.value)
    print(f"\np {p} snr {snr}: {bounded}/150 bounded, cover {covered / bounded:.3f}, median {np.median(values):.3f}")
    assert bounded >= 100
    assert 0.90 <= covered / bounded <= 0.99
    assert abs(np.median(values) / fcat - 1) < 0.10


def _neck_radius_um(r_neck_MOhm: float, length_um: float = 1.0) -> float:
    return math.sqrt(RHO_OHM_UM * length_um / (math.pi * r_neck_MOhm * 1e6))


SPINES = [  # (R_neck MOhm, release probability, sweeps per condition): 6-8 releases per condition expected
    (30.0, 0.5, 16),
    (800.0, 0.3, 26),
    pytest.param(1300.0, 0.2, 40, marks=pytest.mark.xfail(
        strict=True, reason="fcat 0.299 [0.109, 0.519] against 0.485 with this seed (the head depolarization's "
        "interval holds its truth); with the CC block first fCaT read low in 4 of 4 runs on this rig: open")),
    pytest.param(2000.0, 0.1, 60, marks=pytest.mark.xfail(
        strict=True, reason="this seed detects 1 release in 60 reversal sweeps (6 expected): fCaT is withheld "
        "('too few releases'); a step that extends the reversal block until enough releases are seen is not built")),
]


def _run_spine(tmp_path, r_neck: float, p: float, sweeps: int):
    profile = yaml.safe_load(FCAT_PROFILE.read_text())
    sim = profile["simulation"]
    sim["plasticity"] = {"enabled": False}
    for spine in sim["spines"]:
        if spine["name"] == "slow":
            spine.update(neck_length_um=1.0, neck_radius_um=_neck_radius_um(r_neck), release_probability=p)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    result = run_protocol(FCAT, path, [f"steps.1.sweeps_per_condition={sweeps}"], out_dir=tmp_path)
    with RunFile(result.path) as f:
        summary, rows, plans = f.summary(), f.truth_rows(), f.plans()
    measuring = {k for k, plan in enumerate(plans)
                 if plan["step_name"] == "fcat" and plan["parameters"].get("role") != "settle"}
    values: dict[str, list[float]] = {}
    for sweep, name, value in rows:
        if sweep in measuring:
            values.setdefault(name, []).append(value)
    return result, summary, {k: float(np.mean(v)) for k, v in values.items()}


@pytest.mark.slow
@pytest.mark.parametrize("r_neck, p, sweeps", SPINES)
def test_fcat_protocol_on_a_population_delivers_with_intervals_holding_the_truth(tmp_path, r_neck, p, sweeps):
    """Every spine: fcat with an interval holding the truth and fcat_upper_bound above it; every non-silent
    spine: the head depolarization with an interval holding the truth (the point's error is printed: the
    issue's 20 % / 3 mV target is met only where the CaTs stand well out of the noise, see the docs)."""
    result, summary, truth = _run_spine(tmp_path, r_neck, p, sweeps)
    assert result.outcome.status == "completed", result.outcome.message
    est = summary["estimates"]
    shown = ("fcat", "peak_head_epsp_mV", "release_probability", "reversal_mV", "tau_decay_ms")
    print(f"\nR_neck {r_neck:g} MOhm p {p}: " + ", ".join(f"{k} {e['value']:.3g} [{e['low']}, {e['high']}]"
                                                      for k, e in est.items())
          + "; truth " + ", ".join(f"{k} {truth[k]:.3g}" for k in shown if k in truth))
    assert "fcat" in est, summary["notices"]
    f, bound = est["fcat"], est["fcat_upper_bound"]
    assert f["low"] <= truth["fcat"] <= f["high"]
    assert truth["fcat"] <= bound["high"] and bound["bound"] == "upper"
    if truth["fcat"] < 0.05:  # Ca-silent: said so once the estimate is below the threshold
        if f["value"] < 0.05:
            assert any("calcium-silent" in n["message"] for n in summary["notices"])
        return
    head, head_truth = est["peak_head_epsp_mV"], truth["peak_head_epsp_mV"]
    assert head["low"] <= head_truth <= head["high"]
