"""Neck plasticity and photodamage as the seeds report them (Grunditz et al. 2008; SCIENCE.md section 1):
4 min at 0 mV raises tau_FRAP ~x10, gradually, and it holds; theta burst ~x5; none in Ca-free saline; a reversal
search hardly moves the neck; EPSPs alone do nothing; light dose runs responses down.

The population tests drive the specimen's plasticity with the true drive (the steady voltage-gated Ca current
density at each holding, or one simulated theta train) instead of simulating minutes of cell at fine steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from rig.api import run_protocol
from rig.storage.reader import RunFile
from simulated_devices.plasticity import NeckPlasticity
from simulated_devices.specimen import Specimen
from simulated_devices.sweeps import SweepSpec, run_sweep, simulated_rig

STEP_DEPOL = Path(__file__).resolve().parents[1] / "protocols" / "frap_step_depolarization.yaml"
# 2 FRAP sweeps each side; the 5-min consolidation cut to 20 s (the neck settles within a second of the step's end,
# docs/specimen.md), so the test pays for the 4 min at 0 mV, not for minutes of rest.
SHORT = ["steps.0.sweeps=2", "steps.4.sweeps=2", "steps.3.duration_s=20"]
POPULATION = {"count": 17, "seed": 7}  # 3 listed spines + 17 drawn: 20
THETA_TRAIN = [(b * 200 + a * 10 + 5, 2, 1500) for b in range(10) for a in range(5)]  # 10 bursts at 5 Hz of 5 at 100 Hz
# The reversal search of protocols/fcat.yaml by bisection (rig/protocols/reversal/): 6 levels, each its sweeps
# and the intervals after them (5.26 s); the reversal of the default cell is near +16 mV at the soma.
REVERSAL_LEVELS_MV = [-70, -30, 5, 22.5, 13.75, 18.125]
REVERSAL_SWEEP_S = 5.26


@pytest.fixture(scope="module")
def population() -> Specimen:
    """The default simulated cell with 20 spines (module-wide: tests reset its plasticity)."""
    return simulated_rig(PROFILE, population=POPULATION).extras["specimen"]


def _fresh(spec: Specimen) -> NeckPlasticity:
    """A plasticity state with nothing induced yet, for the specimen's spines."""
    return NeckPlasticity(spec.sim.plasticity, len(spec.spines))


def _fold_after_steady(spec: Specimen, schedule: list[tuple[str, float, float]]) -> np.ndarray:
    """Neck fold after holding the cell at each (mode, command, seconds) in turn, from an unchanged neck."""
    p = _fresh(spec)
    for mode, command, seconds in schedule:
        p.accumulate_steady(spec.vgcc_density_at(mode, command), seconds * 1000.0)
    return p.fold


def test_step_depolarization_builds_gradually_saturates_and_holds(population: Specimen) -> None:
    """20 spines: 10 s at 0 mV does nothing, 1 min ~x2, 4 min x7.8-12 (median ~x10), 8 min hardly more;
    an hour at rest afterwards leaves the change in place."""
    folds = {t: _fold_after_steady(population, [("VC", 0.0, t)]) for t in (10, 60, 240, 480)}
    held = _fold_after_steady(population, [("VC", 0.0, 240), ("CC", 0.0, 3600)])
    tau0 = population.tau_frap_ms
    for t, f in folds.items():
        print(f"{t:>3} s at 0 mV: fold median x{np.median(f):.2f} [{f.min():.2f}, {f.max():.2f}], tau_FRAP median "
              f"{np.median(tau0):.0f} -> {np.median(tau0 * f):.0f} ms")
    assert np.all(folds[10] < 1.05)
    assert 1.3 < np.median(folds[60]) < 3.0
    assert 7.8 <= np.median(folds[240]) <= 12.0 and np.all(folds[240] > 6.0)
    assert np.median(folds[480]) < 1.15 * np.median(folds[240])
    assert np.all(folds[10] < folds[60]) and np.all(folds[60] < folds[240])
    assert held == pytest.approx(folds[240], rel=1e-3)


def test_no_plasticity_in_calcium_free_saline(population: Specimen) -> None:
    """0 mM external Ca: no Ca current, so 4 min at 0 mV leave every neck as it was."""
    population.pharmacology.external_ca_mM = 0.0
    try:
        fold = _fold_after_steady(population, [("VC", 0.0, 240)])
    finally:
        population.pharmacology.external_ca_mM = 2.0
    assert np.all(fold == 1.0)


def test_reversal_search_changes_the_neck_little(population: Specimen) -> None:
    """A bisection search (6 levels of 5.26 s between -70 and +22.5 mV): at most x1.5 on any spine;
    the whole search held at +40 mV would be less still (less Ca current up there)."""
    fold = _fold_after_steady(population, [("VC", v, REVERSAL_SWEEP_S) for v in REVERSAL_LEVELS_MV])
    high = _fold_after_steady(population, [("VC", 40.0, REVERSAL_SWEEP_S * len(REVERSAL_LEVELS_MV))])
    print(f"reversal search: fold median x{np.median(fold):.3f}, max x{fold.max():.3f}; at +40 mV x{high.max():.3f}")
    assert np.all(fold <= 1.5) and np.all(high <= fold)


def test_theta_burst_raises_tau_about_fivefold_and_settles_at_once(population: Specimen) -> None:
    """One simulated train (10 bursts at 5 Hz of 5 bAPs at 100 Hz, CC) on 20 spines; the sensor has forgotten it
    before the next train 10 s later, so 3 trains give 3x its signal: fold median x4.5-6.5 (published x5.4)."""
    rig = simulated_rig(PROFILE, population=POPULATION)
    spec: Specimen = rig.extras["specimen"]
    run_sweep(rig.clock, SweepSpec(duration_ms=2100, sample_rate_hz=20_000, mode="CC", steps=THETA_TRAIN))
    one_train = spec.plasticity.signal_s.copy()
    rig.clock.wait(7.9, lambda: False)
    assert spec.plasticity.signal_s == pytest.approx(one_train, rel=1e-2)  # < 1 % more after the train ends
    assert np.all(spec.plasticity.activation(spec.plasticity.sensor_pA_per_um2) < 1e-6)  # the sensor is at rest
    p = _fresh(spec)
    p.signal_s = 3.0 * one_train
    tau0 = spec.tau_frap_ms / spec.neck_fold
    print(f"theta burst: fold median x{np.median(p.fold):.2f} [{p.fold.min():.2f}, {p.fold.max():.2f}], tau_FRAP "
          f"median {np.median(tau0):.0f} -> {np.median(tau0 * p.fold):.0f} ms")
    assert 4.5 <= np.median(p.fold) <= 6.5
    assert np.all((p.fold > 2.5) & (p.fold < 12.0))


def _profile_with(tmp_path: Path, **pharmacology: object) -> Path:
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["pharmacology"] = data["simulation"].get("pharmacology", {}) | pharmacology
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_four_minutes_at_0_mV_raises_tau_frap_about_tenfold(tmp_path: Path) -> None:
    """The step-depolarization protocol run end to end: estimates and truth both grow ~10x, and the 'after'
    sweeps (after the consolidation, shortened here) see one settled spine."""
    result = run_protocol(STEP_DEPOL, PROFILE, SHORT, out_dir=tmp_path)
    assert result.outcome.status == "completed"
    with RunFile(result.path) as f:
        summary = f.summary()
        plans = f.plans()
        truth: dict[int, dict[str, float]] = {}
        for sweep, key, value in f.truth_rows():
            truth.setdefault(sweep, {})[key] = value
    steps = summary["steps"]
    before, after = steps["frap_before"], steps["frap_after"]
    est0, est1 = before["estimates"]["tau_frap_ms"]["value"], after["estimates"]["tau_frap_ms"]["value"]
    true0, true1 = before["truth"]["tau_frap_ms"], after["truth"]["tau_frap_ms"]
    print(f"tau_FRAP before {est0:.0f} ms (truth {true0:.0f}), after {est1:.0f} ms (truth {true1:.0f}): "
          f"x{est1 / est0:.1f} (truth x{true1 / true0:.1f})")
    assert 7.0 <= true1 / true0 <= 14.0
    assert 6.0 <= est1 / est0 <= 16.0
    after_sweeps = [i for i, p in enumerate(plans) if p["step_name"] == "frap_after"]
    taus = [truth[i]["tau_frap_ms"] for i in after_sweeps if "tau_frap_ms" in truth.get(i, {})]
    assert len(taus) == 2 and max(taus) / min(taus) < 1.01


def test_no_change_in_calcium_free_saline_end_to_end(tmp_path: Path) -> None:
    """The step-depolarization protocol in 0 mM external Ca: the neck does not change, nor does the estimate."""
    result = run_protocol(STEP_DEPOL, _profile_with(tmp_path, external_ca_mM=0.0), SHORT, out_dir=tmp_path)
    with RunFile(result.path) as f:
        steps = f.summary()["steps"]
    before, after = steps["frap_before"], steps["frap_after"]
    assert after["truth"]["tau_frap_ms"] / before["truth"]["tau_frap_ms"] == pytest.approx(1.0, abs=1e-6)
    assert 0.6 <= after["estimates"]["tau_frap_ms"]["value"] / before["estimates"]["tau_frap_ms"]["value"] <= 1.6


def test_theta_burst_end_to_end_on_the_cell() -> None:
    """3 trains at 0.1 Hz of 10 bursts at 5 Hz of 5 bAPs at 100 Hz (CC) simulated in full, then 2 min of rest."""
    rig = simulated_rig(PROFILE)
    spec = rig.extras["specimen"]
    tau0 = spec.tau_frap_ms.copy()
    for _ in range(3):
        run_sweep(rig.clock, SweepSpec(duration_ms=2100, sample_rate_hz=20_000, mode="CC", steps=THETA_TRAIN))
        rig.clock.wait(7.9, lambda: False)
    settled = spec.tau_frap_ms.copy()
    rig.clock.wait(120.0, lambda: False)
    ratio = spec.tau_frap_ms / tau0
    print(f"theta burst: tau_FRAP x{ratio.round(1)}")
    assert np.all((ratio > 3.0) & (ratio < 8.0))
    assert spec.tau_frap_ms == pytest.approx(settled, rel=1e-6)


def test_synaptic_stimulation_alone_does_not_change_the_neck() -> None:
    """30 paired-pulse sweeps at rest (CC): Ca enters through NMDA receptors, the neck stays."""
    rig = simulated_rig(PROFILE)
    spec = rig.extras["specimen"]
    for _ in range(30):
        run_sweep(rig.clock, SweepSpec(duration_ms=200, sample_rate_hz=10_000, mode="CC", stimuli_ms=[20, 30]))
        rig.clock.wait(3.0, lambda: False)
    assert np.all(spec.neck_fold < 1.05)


def test_light_dose_runs_responses_down() -> None:
    """Parking the beam on a head at full power damages that spine: its EPSP (truth) shrinks."""
    rig = simulated_rig(PROFILE)
    spec = rig.extras["specimen"]
    healthy = spec.epsp_truth(0)["peak_head_epsp_mV"]
    head = spec.spines[0].head_center_um
    run_sweep(rig.clock, SweepSpec(duration_ms=100, sample_rate_hz=20_000, mode="VC", holding=-70.0,
                                   line_um=(head, head), power_fraction=1.0))
    damaged = spec.epsp_truth(0)["peak_head_epsp_mV"]
    print(f"dose {spec.light_dose_ms[0]:.0f} ms: damage factor {spec.damage()[0]:.2f}, "
          f"head EPSP {healthy:.2f} -> {damaged:.2f} mV")
    assert spec.damage()[0] < 0.5 and spec.damage()[1] > 0.95
    assert damaged < 0.7 * healthy
