"""Reversal search on the simulated rig: lands within 3 mV of the true reversal; clear failures otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from rig.api import run_protocol
from rig.config.simulation import SimulationSpec
from rig.storage.reader import RunFile
from simulated_devices.specimen import Specimen


@pytest.fixture(scope="module")
def steady_profile(tmp_path_factory) -> Path:
    """The simulated profile without neck plasticity (its VC steady states fail after necks change: see report)."""
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["plasticity"] = {"enabled": False}
    path = tmp_path_factory.mktemp("profile") / "simulated_steady.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _protocol(tmp_path: Path, **fields) -> Path:
    step = {"kind": "reversal", "name": "reversal"} | fields
    path = tmp_path / "reversal.yaml"
    path.write_text(yaml.safe_dump({"name": "reversal", "steps": [step]}))
    return path


def true_reversal_mV(profile: Path) -> float:
    """Somatic holding at which one release at every stimulated synapse evokes zero net charge (noise-free)."""
    sim = SimulationSpec(**yaml.safe_load(profile.read_text())["simulation"])
    model = Specimen(sim).model
    dt, n = 0.05, int(25 / 0.05)
    events = [(1, j, 1.0) for j in range(model.n_spines)]

    def charge(v: float) -> float:
        model.settle("VC", v)
        quiet = model.advance(dt, n, "VC", np.full(n, v), []).clamp_current_pA
        model.settle("VC", v)
        evoked = model.advance(dt, n, "VC", np.full(n, v), events).clamp_current_pA
        return float(np.sum(evoked - quiet))

    from scipy.optimize import brentq

    return float(brentq(charge, -20.0, 20.0, xtol=0.01))


def test_reversal_lands_within_3_mV_of_truth(tmp_path, steady_profile):
    result = run_protocol(_protocol(tmp_path), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    found = result.estimates["reversal_mV"]
    truth = true_reversal_mV(steady_profile)
    print(f"reversal {found.value:.2f} mV [{found.low:.2f}, {found.high:.2f}], truth {truth:.2f} mV, "
          f"{result.outcome.sweeps_completed} sweeps")
    assert abs(found.value - truth) < 3.0
    assert found.high - found.low <= 1.0 + 1e-9


def test_never_reversing_fails_with_a_clear_message_in_the_run_and_file(tmp_path, steady_profile):
    result = run_protocol(_protocol(tmp_path, max_mV=-60.0), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "error"
    assert "never reversed up to -60 mV" in result.outcome.message
    with RunFile(result.path) as f:
        summary = f.summary()
    assert "never reversed" in summary["message"]
    assert any("never reversed" in n["message"] for n in summary["notices"])
    assert "reversal_mV" not in summary["estimates"]


def test_no_response_fails_before_searching(tmp_path, steady_profile):
    result = run_protocol(_protocol(tmp_path, stimulus={"amplitude_V": -0.01}), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "error"
    assert "no inward synaptic current at -70 mV" in result.outcome.message
    assert result.outcome.sweeps_completed == 4  # one settle sweep and three measuring sweeps


def test_search_range_outside_the_holding_limits_is_refused_before_the_run(tmp_path):
    from rig.config.problems import InvalidInput
    from rig.api import prepare_run

    with pytest.raises(InvalidInput, match="start_mV"):
        prepare_run(_protocol(tmp_path, start_mV=-150.0), PROFILE)
