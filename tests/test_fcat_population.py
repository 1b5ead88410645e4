"""fCaT over a population (issue 11): the estimator's interval on synthetic trials (release probability
0.1 - 0.3, many failures), and the fCaT step on simulated spines spanning R_neck 30 MOhm - 2 GOhm, each
estimate against the mean of its per-sweep truths.

The spines are the four of hardware_profiles/simulated_fcat.yaml, each given a neck 1 um long (radius from
R = rho L / (pi a^2)) and imaged by its own fCaT step of one run (protocols/fcat.yaml's step, scan line moved
to the head), plasticity off (the estimator is tested here; the README run tests it with plasticity)."""

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
DRAWS = 100  # per case: a 95 % coverage is then known to +-2.2 % (binomial SD), enough for the 90-99 % band


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
    """Mixture ratio over every trial: median bias within 10 %, 95 % intervals cover 90-99 % of DRAWS draws."""
    rng = np.random.default_rng(7)
    covered, values, bounded = 0, [], 0
    for k in range(DRAWS):
        r = release_ratio(*_trials(rng, n, p, snr, fcat, cv_b), resamples=200, seed=k)
        if not math.isfinite(r.high):  # too few releases for an interval: said so, not counted as delivered
            continue
        bounded += 1
        covered += bool(r.low <= fcat <= r.high)
        values.append(r.value)
    print(f"\np {p} snr {snr}: {bounded}/{DRAWS} bounded, cover {covered / bounded:.3f}, median {np.median(values):.3f}")
    assert bounded >= 0.7 * DRAWS
    assert 0.90 <= covered / bounded <= 0.99
    assert abs(np.median(values) / fcat - 1) < 0.10


def _neck_radius_um(r_neck_MOhm: float, length_um: float = 1.0) -> float:
    return math.sqrt(RHO_OHM_UM * length_um / (math.pi * r_neck_MOhm * 1e6))


# The protocol population: the profile's four spines, each given a neck (1 um long, radius for R_neck) from
# 30 MOhm (Ca-silent) through the plateau threshold (800 MOhm) to 2 GOhm, all with head volume 0.1 um3 (head
# centre 1.788 um from the dendrite axis), imaged one after the other in one run (one fCaT step per spine at a
# known reversal holding, so that the run's fixed costs are paid once). Release probability 0.5 and 10 sweeps per
# condition give ~5 releases per condition: what the estimator's statistics depend on is the number of releases,
# and its behaviour with p 0.1-0.3 and many failures is the synthetic test above. Four spines suffice for what
# this test adds to the synthetic one: the physics chain (templates, calibration to Ca, AP exclusion, the
# inversion to head depolarization) at each regime of the neck (silent, threshold, plateau, far above it).
POPULATION = {  # name: (R_neck MOhm, y_um, side)
    "fast": (30.0, 0.0, 1),
    "medium": (800.0, 16.0, -1),
    "slow": (1300.0, 8.0, 1),
    "stubby": (2000.0, -6.0, -1),
}
POPULATION_P = 0.5
REVERSAL_HOLDING_MV = 16.0  # the somatic holding at which the evoked current reverses on this cell (truth 15.9-16.2)
POPULATION_SWEEPS = 10
HEAD_X_UM = 1.788  # dendrite radius 0.5 + neck 1.0 + head radius of 0.1 um3


@pytest.fixture(scope="module")
def population_run(tmp_path_factory):
    """One run: an fCaT step (CC block first, reversal held at its known value) on each spine of POPULATION."""
    tmp = tmp_path_factory.mktemp("fcat_population")
    profile = yaml.safe_load(FCAT_PROFILE.read_text())
    sim = profile["simulation"]
    sim["plasticity"] = {"enabled": False}
    for spine in sim["spines"]:
        r_neck = POPULATION[spine["name"]][0]
        spine.update(neck_length_um=1.0, neck_radius_um=_neck_radius_um(r_neck), head_volume_um3=0.1,
                     release_probability=POPULATION_P)
    (tmp / "profile.yaml").write_text(yaml.safe_dump(profile))
    protocol = yaml.safe_load(FCAT.read_text())
    # the population's fixed design: POPULATION_SWEEPS per condition, no extension rounds
    template = next(s for s in protocol["steps"] if s["kind"] == "fcat") | {"min_reversal_releases": 0}
    steps = []
    for name, (_, y, side) in POPULATION.items():
        x = side * HEAD_X_UM
        imaging = template["imaging"] | {"start_um": [x - side * 2.788, y], "end_um": [x + side * 0.812, y],
                                         "spine_um": [x, y]}
        if side < 0:
            imaging["start_um"], imaging["end_um"] = imaging["end_um"], imaging["start_um"]
        steps.append(template | {"name": name, "reversal_holding": REVERSAL_HOLDING_MV, "sweeps_per_condition": POPULATION_SWEEPS,
                                 "imaging": imaging})
    protocol["steps"] = steps
    (tmp / "fcat.yaml").write_text(yaml.safe_dump(protocol))
    result = run_protocol(tmp / "fcat.yaml", tmp / "profile.yaml", out_dir=tmp)
    with RunFile(result.path) as f:
        summary, rows, plans = f.summary(), f.truth_rows(), f.sweep_plans()
    truths: dict[str, dict[str, float]] = {}
    for name in POPULATION:
        measuring = {k for k, plan in enumerate(plans)
                     if plan.step_name == name and plan.meta.role != "settle"}
        values: dict[str, list[float]] = {}
        for sweep, key, value in rows:
            if sweep in measuring:
                values.setdefault(key, []).append(value)
        truths[name] = {k: float(np.mean(v)) for k, v in values.items()}
    return result, summary, truths


def _spine_rows(population_run, name: str) -> tuple[dict, dict[str, float]]:
    result, summary, truths = population_run
    assert result.outcome.status == "completed", result.outcome.message
    est, truth = summary["estimates_by_step"].get(name, {}), truths[name]
    print(f"\n{name} R_neck {POPULATION[name][0]:g} MOhm: " + ", ".join(
        f"{k} {e['value']:.3g} [{e['low']}, {e['high']}] / {truth.get(k, math.nan):.3g}" for k, e in est.items()))
    return est, truth


@pytest.mark.slow
@pytest.mark.parametrize("name", list(POPULATION))
def test_fcat_protocol_on_a_population_delivers_with_intervals_holding_the_truth(population_run, name):
    """fcat with an interval holding the truth and fcat_upper_bound above it; a silent spine said to be silent;
    a non-silent spine: the head depolarization with an interval holding the truth."""
    est, truth = _spine_rows(population_run, name)
    assert "fcat" in est, [n["message"] for n in population_run[1]["notices"]]
    f, bound = est["fcat"], est["fcat_upper_bound"]
    assert f["low"] <= truth["fcat"] <= f["high"]
    assert truth["fcat"] <= bound["high"] and bound["bound"] == "upper"
    assert f["low"] >= 0.0  # a ratio of CaT peaks: no negative lower end
    if f["value"] < 0.05:  # said to be (possibly) silent
        assert any("calcium-silent" in n["message"] for n in population_run[1]["notices"])
    # on every spine: the one-sided bound above the truth, and a two-sided interval holding it
    top = est["head_depolarization_upper_bound_mV"]
    assert top["bound"] == "upper" and truth["head_depolarization_upper_bound_mV"] <= top["high"]
    head = est["head_depolarization_mV"]
    assert head["low"] <= truth["head_depolarization_mV"] <= head["high"]


@pytest.mark.slow
def test_fcat_head_depolarization_points_lie_within_their_intervals_and_under_their_bounds(population_run):
    """On the non-silent spines the point sits in its interval and below the one-sided bound (both read from the
    same fit); whether the point is biased is the calibration's question (docs/calibration_fcat.md, 44 spines, 30
    sweeps per condition: within issue 11's 20 % or 3 mV), which ~5 releases per condition on 4 spines cannot
    answer: the release count behind each condition's mean scatters by ~45 % here, and the inversion of the mean
    fcat, +31 % biased over the 44 spines, passed a median-of-4 check on this fixture."""
    checked = 0
    for name in POPULATION:
        est, truth = _spine_rows(population_run, name)
        if truth.get("fcat", 0.0) >= 0.05 and "head_depolarization_mV" in est:
            head, top = est["head_depolarization_mV"], est["head_depolarization_upper_bound_mV"]
            assert head["low"] <= head["value"] <= head["high"]
            assert 0.0 <= head["low"] and head["value"] <= top["high"] + 1e-9
            checked += 1
    assert checked >= 2, "too few non-silent spines with a head depolarization"
