"""Reversal search: lands within 3 mV of the true reversal in few sweeps, says how long it held the cell
depolarized; clear failures otherwise. The search logic is also checked on synthetic current-voltage curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from rig.api import run_protocol
from rig.config.simulation import SimulationSpec
from rig.engine.program import StepFailed
from rig.protocols.reversal import Level, ReversalStep, bracket, next_holding, reversal_from_sweeps, zero_crossing
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
    # The default rig's currents near the reversal are a few pA with release fluctuations of the same size
    # (1 mM Mg, 0.2 nS NMDA): 3 sweeps per holding, up to 6 holdings
    result = run_protocol(_protocol(tmp_path, sweeps_per_level=3), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    found = result.estimates["reversal_mV"]
    truth = true_reversal_mV(steady_profile)
    print(f"reversal {found.value:.2f} mV [{found.low:.2f}, {found.high:.2f}], truth {truth:.2f} mV, "
          f"{result.outcome.sweeps_completed} sweeps")
    assert abs(found.value - truth) < 3.0
    assert found.low < found.value < found.high
    assert result.outcome.sweeps_completed <= 24  # at most 6 holdings of a settle and 3 measuring sweeps
    done = [n for n in result.notices if "reversal search done" in n.message]
    assert len(done) == 1 and "held above -20 mV for" in done[0].message
    assert "held above -20 mV for" in found.basis


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
    assert result.outcome.sweeps_completed == 3  # one settle sweep and two measuring sweeps


def test_search_range_outside_the_holding_limits_is_refused_before_the_run(tmp_path):
    from rig.config.problems import InvalidInput
    from rig.api import prepare_run

    with pytest.raises(InvalidInput, match="start_mV"):
        prepare_run(_protocol(tmp_path, start_mV=-150.0), PROFILE)


def _search(current_at, step: ReversalStep, ceiling: float = 40.0, se: float = 1.0) -> list[Level]:
    """Run the search's decisions on a noise-free current-voltage curve until it stops."""
    levels: list[Level] = []
    while (holding := next_holding(levels, step, ceiling, "amplifier")) is not None:
        levels.append(Level(holding, current_at(holding), se, step.sweeps_per_level))
    return levels


@pytest.mark.parametrize("reversal", [-12.0, 0.0, 3.25, 17.0])
def test_search_converges_in_few_holdings_on_a_linear_and_a_rectifying_curve(reversal):
    step = ReversalStep(kind="reversal")
    for curve in (lambda v: 2.0 * (v - reversal),  # linear
                  lambda v: 2.0 * (v - reversal) * (1.5 if v > reversal else 1.0)):  # steeper when outward
        levels = _search(curve, step)
        low, high = bracket(levels)  # type: ignore[misc]
        assert len(levels) <= 5, [lv.holding_mV for lv in levels]
        assert abs(zero_crossing(low, high) - reversal) < 1.0


def test_search_that_never_reverses_fails_at_the_ceiling_or_after_max_levels():
    step = ReversalStep(kind="reversal", step_mV=10.0, max_levels=4)
    with pytest.raises(StepFailed, match="never reversed"):
        _search(lambda v: -50.0, step, ceiling=100.0)
    with pytest.raises(StepFailed, match="holding limit"):
        _search(lambda v: -50.0, ReversalStep(kind="reversal"), ceiling=0.0)


def test_reversal_interval_from_single_sweeps_covers_the_true_zero():
    """Noisy currents at 4 holdings x 2 sweeps: the Fieller interval holds the true zero ~95 % of the time."""
    rng = np.random.default_rng(3)
    holdings = np.repeat([-0.3, 2.0, 2.7, 5.2], 2)
    covered = bounded = 0
    for _ in range(400):
        currents = 0.3 * (holdings - 3.2) + rng.normal(0.0, 0.4, holdings.size)
        est = reversal_from_sweeps(holdings, currents)
        if np.isfinite(est.low_mV) and np.isfinite(est.high_mV):  # else the slope is not significant: no estimate
            bounded += 1
            covered += bool(est.low_mV <= 3.2 <= est.high_mV)
    assert bounded >= 360 and 0.92 <= covered / bounded <= 0.98
    assert zero_crossing(Level(0.0, -10.0, 1.0, 2), Level(10.0, 10.0, 1.0, 2)) == pytest.approx(5.0)
