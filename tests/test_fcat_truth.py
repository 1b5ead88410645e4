"""fCaT estimates against the specimen's truth (issue 4): head depolarization on a population, one run.

The simulated rig for fCaT experiments is `hardware_profiles/simulated_fcat.yaml` (4 mM Mg, NMDA plateaus
in high-resistance heads; docs/specimen.md "fCaT physics"). The head-depolarization estimate is fCaT
(measured) inverted through `rig.model.head_depolarization`; both halves are checked against truth:
the inversion on a seeded population of 40 spines with neck resistances spread over 50 MOhm - 1.5 GOhm
(its own seed, not the one the inversion's time course was chosen on), and the measurement by running
the fCaT step on the rig.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from spine_population import population

from conftest import ROOT
from rig.api import run_protocol
from rig.model.head_depolarization import FcatModel, head_depolarization
from rig.model.neck_resistance import Interval
from rig.storage.reader import RunFile
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import SimulationSpec

FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"
FCAT = ROOT / "protocols" / "fcat.yaml"
SILENT = 0.05


def fcat_regime_simulation() -> dict[str, object]:
    """The simulation section of the fCaT profile (bath, synapse, stimulation) as a dict."""
    return yaml.safe_load(FCAT_PROFILE.read_text())["simulation"]


def within(estimate: float, truth: float) -> bool:
    """The issue's tolerance: 20 % of the truth or 3 mV, whichever is larger."""
    return abs(estimate - truth) <= max(3.0, 0.2 * abs(truth))


@pytest.fixture(scope="module")
def population_truth():
    """True fCaT, tau_decay, reversal and peak head EPSP of 40 spines in the fCaT regime (seed 11), SNX-482."""
    sim = fcat_regime_simulation()
    bath = sim["pharmacology"] | {"block_r_type_ca": True}  # SNX-482, as protocols/fcat.yaml runs it
    spec = SimulationSpec(**{k: sim[k] for k in ("synapse", "stimulation", "soma", "calcium")}
                          | {"pharmacology": bath, "seed": 11, "spines": population(n=40, seed=11),
                             "plasticity": {"enabled": False}})
    specimen = Specimen(spec)
    rows = []
    for i in range(len(specimen.spines)):
        truth = specimen.calcium_truth(i, co_release=False)  # both tests read the spine's own synapse only
        epsp = specimen.epsp_probe.measure(i, float(specimen.damage()[i]))
        rows.append(truth | epsp | {"neck_resistance_MOhm": float(specimen.neck_resistance_MOhm[i])})
    return specimen, rows


def test_head_depolarization_from_true_fcat_matches_the_true_peak_head_epsp(population_truth):
    specimen, rows = population_truth
    mg = specimen.pharmacology.mg_mM
    lines, misses, checked = [], [], 0
    for row in sorted(rows, key=lambda r: r["neck_resistance_MOhm"]):
        # The inversion is checked quantum by quantum: the peak head EPSP of one mean quantum against the
        # fCaT of that quantum (near the plateau threshold trial averages mix plateaus and failures).
        f, truth = row["fcat_mean_quantum"], row["peak_head_epsp_mV"]
        model = FcatModel(rest_mV=specimen.model.v_rest_mV, reversal_mV=row["reversal_mV"], mg_mM=mg,
                          ca_decay_ms=row["tau_decay_ms"])
        est = head_depolarization(Interval(f, f, f, "1"), model).estimate.value
        lines.append(f"R {row['neck_resistance_MOhm']:6.0f} MOhm  fCaT {f:.3f}  head EPSP est {est:5.1f} "
                     f"true {truth:5.1f} mV")
        if f < SILENT:
            continue
        checked += 1
        if not within(est, truth):
            misses.append(lines[-1])
    print("\n" + "\n".join(lines))
    assert checked >= 5, "too few spines above the Ca-silent threshold to test the inversion"
    assert not misses, misses


def test_population_has_ca_silent_spines_and_fcat_rises_with_tau_decay(population_truth):
    _, rows = population_truth
    # Each spine alone: every spine of this population is stimulated, and their co-release depolarizes the
    # dendrite (the measured fCaT's truth, `fcat`, includes that; here the published range of one spine is pinned).
    fcat = np.array([r["fcat_isolated"] for r in rows])
    tau = np.array([r["tau_decay_ms"] for r in rows])
    r_neck = np.array([r["neck_resistance_MOhm"] for r in rows])
    r2 = float(np.corrcoef(tau, fcat)[0, 1] ** 2)
    silent = int(np.sum(fcat < SILENT))
    print(f"\nfCaT {fcat.min():.3f}-{fcat.max():.3f} over R_neck {r_neck.min():.0f}-{r_neck.max():.0f} MOhm, "
          f"{silent}/{fcat.size} Ca-silent, R^2 (fCaT ~ tau_decay) {r2:.2f} (published 0.02-0.51, R^2 0.42)")
    assert r_neck.min() < 60 and r_neck.max() > 1200
    assert silent >= 3 and fcat.min() < 0.05
    assert 0.3 <= fcat.max() <= 0.7
    assert np.corrcoef(tau, fcat)[0, 1] > 0 and r2 > 0.25


@pytest.fixture(scope="module")
def slow_spine_run(tmp_path_factory):
    """The fCaT step alone at a fixed reversal holding on spine 'slow' (p 0.9 for precision, quantal CV 0)."""
    tmp = tmp_path_factory.mktemp("fcat_truth")
    profile = yaml.safe_load(FCAT_PROFILE.read_text())
    profile["simulation"]["plasticity"] = {"enabled": False}
    # Every quantum the mean one: near the plateau threshold, trials of a variable quantum mix plateaus and
    # failures, and the peak head EPSP of the mean quantum is then not what averaged trials report.
    profile["simulation"]["synapse"]["quantal_cv"] = 0.0
    for spine in profile["simulation"]["spines"]:
        if spine["name"] == "slow":
            spine["release_probability"] = 0.9
    profile_path = tmp / "fcat_steady.yaml"
    profile_path.write_text(yaml.safe_dump(profile))
    protocol = yaml.safe_load(FCAT.read_text())
    step = protocol["steps"][1] | {"reversal_holding": 3.25, "sweeps_per_condition": 12, "min_reversal_releases": 0}
    protocol["steps"] = [step]
    protocol_path = tmp / "fcat_only.yaml"
    protocol_path.write_text(yaml.safe_dump(protocol))
    result = run_protocol(protocol_path, profile_path, out_dir=tmp)
    with RunFile(result.path) as f:
        summary = f.summary()
        rows = f.truth_rows()
    # Photodamage lowers the synaptic weight over the run (the light budget): the estimates average over the
    # sweeps, so the truth they are held to is the mean of the per-sweep truths.
    names = {k for _, k, _ in rows}
    truth = {k: float(np.mean([v for _, name, v in rows if name == k])) for k in names}
    return result, summary, truth


def test_fcat_run_recovers_the_true_fcat_and_head_depolarization(slow_spine_run):
    result, summary, truth = slow_spine_run
    assert result.outcome.status == "completed", result.outcome.message
    est = summary["estimates"]
    print("\n" + "\n".join(f"{k}: {e['value']:.4g} [{e['low']:.4g}, {e['high']:.4g}]" for k, e in est.items()))
    print(f"truth: fcat {truth['fcat']:.3f}, head depolarization {truth['head_depolarization_mV']:.1f} mV, "
          f"tau_decay {truth['tau_decay_ms']:.1f} ms, p {truth['release_probability']:.2f}")
    fcat = est["fcat"]
    assert fcat["low"] <= truth["fcat"] <= fcat["high"]
    head = est["head_depolarization_mV"]
    assert within(head["value"], truth["head_depolarization_mV"])
    sides = {"": ("low", "high"), "lower": ("low",), "upper": ("high",)}
    assert all(math.isfinite(e[k]) for e in est.values() for k in ("value",) + sides[e.get("bound", "")])
