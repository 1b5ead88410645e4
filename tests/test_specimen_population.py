"""Specimen populations drawn from a seed, the truth stored with each run, and profile validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import FRAP, PROFILE
from rig.api import run_protocol
from rig.storage.reader import RunFile
from simulated_devices.population import all_spines
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import SimulationSpec


def _sim(**fields: object) -> SimulationSpec:
    return SimulationSpec.model_validate({"seed": 3, "population": {"count": 20}} | fields)


def test_same_seed_same_population() -> None:
    """Drawing twice from one seed gives identical spines; another seed gives others."""
    a, b, c = all_spines(_sim()), all_spines(_sim()), all_spines(_sim(seed=4))
    assert [s.__dict__ for s in a] == [s.__dict__ for s in b]
    assert [s.neck_length_um for s in a] != [s.neck_length_um for s in c]


def test_population_magnitudes_follow_science_md() -> None:
    """Neck 0.08-1.6 um long, 0.04-0.46 um wide, head 0.01-0.6 um^3, p 0.09-0.5; heads do not overlap."""
    spines = all_spines(_sim(population={"count": 200, "y_range_um": [-300, 300]}))
    length = np.array([s.neck_length_um for s in spines])
    width = 2 * np.array([s.neck_radius_um for s in spines])
    volume = np.array([s.head_volume_um3 for s in spines])
    p = np.array([s.release_probability for s in spines])
    assert length.min() >= 0.08 and length.max() <= 1.6
    assert width.min() >= 0.04 and width.max() <= 0.46
    assert volume.min() >= 0.01 and volume.max() <= 0.6
    assert p.min() >= 0.09 and p.max() <= 0.5
    assert abs(np.log(np.median(volume)) - np.log(np.sqrt(0.01 * 0.6))) < 0.6  # log-uniform: 4 SE
    y = np.sort([s.y_um for s in spines])
    assert np.min(np.diff(y)) >= 1.5 - 1e-3


def test_specimen_truth_is_reproducible_from_the_seed() -> None:
    """Two specimens from one description describe themselves identically (JSON-able)."""
    sim = _sim(population={"count": 4})
    a, b = Specimen(sim).describe(), Specimen(sim).describe()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    names = [s["name"] for s in a["spines"]]  # type: ignore[index]
    assert names == ["p000", "p001", "p002", "p003"]


def test_an_overcrowded_population_is_refused() -> None:
    """More spines than fit 1.5 um apart is an error, not silently overlapping heads."""
    with pytest.raises(ValueError, match="no room"):
        all_spines(_sim(population={"count": 40, "y_range_um": [-10, 10]}))


def test_a_specimen_needs_spines() -> None:
    """No listed spines and no population is a validation error; old profiles (spines only) stay valid."""
    with pytest.raises(ValidationError, match="needs spines"):
        SimulationSpec.model_validate({"seed": 1})
    SimulationSpec.model_validate({"spines": [{"name": "a", "y_um": 0, "neck_length_um": 0.5,
                                               "neck_radius_um": 0.05, "head_volume_um3": 0.1}]})


def test_every_run_stores_the_truth_of_the_spine_and_the_specimen(tmp_path) -> None:
    """A FRAP run file carries per-sweep truth of what FRAP measures (tau, R_neck) and the spine's parameters;
    the specimen description holds every spine's unitary EPSPs (a FRAP sweep does not probe them)."""
    result = run_protocol(FRAP, PROFILE, ["recovery_ms=300"], sweeps=1, out_dir=tmp_path)
    with RunFile(result.path) as f:
        truth = {name: value for _, name, value in f.truth_rows()}
        specimen = f.specimen()
    for name in ("tau_frap_ms", "neck_resistance_MOhm", "release_probability", "ampa_g_nS", "nmda_g_nS"):
        assert name in truth
    assert "peak_head_epsp_mV" not in truth  # truth only for what the step measures
    assert truth["release_probability"] == 0.4
    slow = specimen["spines"][1]
    assert slow["peak_head_epsp_mV"] > slow["peak_dendrite_epsp_mV"] > slow["peak_soma_epsp_mV"] > 0
    assert [s["name"] for s in specimen["spines"]] == ["fast", "slow", "stubby"]
    assert specimen["spines"][1]["peak_head_epsp_mV"] > specimen["spines"][0]["peak_head_epsp_mV"]
