"""Reversal search: finds the reversal by bisection on the signs of single sweeps, with an interval that holds the
true reversal (the run's own truth), says how long it held the cell depolarized; clear failures otherwise. The
search logic is also checked on synthetic current-voltage curves with release failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from rig.api import run_protocol
from rig.engine.program import StepFailed
from rig.protocols.reversal.analysis import (
    SIGN_Z,
    Level,
    ReversalAnalysis,
    bracket,
    next_holding,
    reversal_from_sweeps,
    zero_crossing,
)
from rig.protocols.reversal.schema import ReversalStep
from rig.storage.reader import RunFile


@pytest.fixture(scope="module")
def steady_profile(tmp_path_factory) -> Path:
    """The simulated profile without neck plasticity (the reversal does not move with the neck)."""
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


def test_reversal_search_brackets_the_true_reversal_in_few_sweeps(tmp_path, steady_profile):
    # The default rig's currents near the reversal are ~1 pA, its release fluctuations as large (1 mM Mg, 0.2 nS
    # NMDA): 3 sweeps per holding (the fCaT rig's currents are ~10x larger: 2 suffice there)
    result = run_protocol(_protocol(tmp_path, sweeps_per_level=3), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    found = result.estimates["reversal_mV"]
    with RunFile(result.path) as f:
        truth = [v for _, name, v in f.truth_rows() if name == "reversal_mV"]
    assert truth, "every reversal sweep carries the true reversal_mV"
    print(f"reversal {found.value:.2f} mV [{found.low:.2f}, {found.high:.2f}], truth {np.mean(truth):.2f} mV, "
          f"{result.outcome.sweeps_completed} sweeps")
    assert found.low <= np.mean(truth) <= found.high and found.high - found.low < 15.0
    assert result.outcome.sweeps_completed <= 24  # 6 holdings of a settle and 3 measuring sweeps
    done = [n for n in result.notices if "reversal search done" in n.message]
    assert len(done) == 1 and "(18 measuring sweeps)" in done[0].message
    assert "held above -20 mV for" in done[0].message and "held above -20 mV for" in found.basis


def test_never_reversing_fails_with_a_clear_message_in_the_run_and_file(tmp_path, steady_profile):
    result = run_protocol(_protocol(tmp_path, max_mV=-60.0), steady_profile, out_dir=tmp_path)
    assert result.outcome.status == "error"
    assert "never reversed up to -60 mV (the profile's holding limit" in result.outcome.message
    assert "the steps that need it are not run" in result.outcome.message
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
    from rig.api import prepare_run
    from rig.config.problems import InvalidInput

    with pytest.raises(InvalidInput, match="start_mV"):
        prepare_run(_protocol(tmp_path, start_mV=-150.0), PROFILE)


def _search(sweep_current, step: ReversalStep, ceiling: float = 40.0, sd: float = 0.2) -> ReversalAnalysis:
    """Run the search's decisions on sweeps drawn from sweep_current(holding) until it stops."""
    analysis = ReversalAnalysis(step, ceiling, "amplifier")
    while (holding := next_holding(analysis.levels(), step, ceiling, "amplifier")) is not None:
        for _ in range(step.sweeps_per_level):
            analysis.currents.setdefault(holding, []).append(sweep_current(holding))
            analysis.noise.setdefault(holding, []).append(sd)
    return analysis


@pytest.mark.parametrize("reversal", [-12.0, 0.0, 3.25, 17.0, 35.0])
def test_search_converges_in_6_holdings_on_a_linear_and_a_rectifying_curve(reversal):
    step = ReversalStep(kind="reversal")
    for curve in (lambda v: 2.0 * (v - reversal),  # linear
                  lambda v: 2.0 * (v - reversal) * (1.5 if v > reversal else 1.0)):  # steeper when outward
        analysis = _search(curve, step)
        levels = analysis.levels()
        assert len(levels) <= 6, [lv.holding_mV for lv in levels]
        found, _ = analysis.estimate(levels, bracket(levels))  # type: ignore[arg-type]
        assert abs(found.value_mV - reversal) < 1.0


def test_release_failures_do_not_stall_the_search_and_the_interval_covers_95_percent():
    """Spines whose synapses release with p 0.1-0.5 (12 synapses, gamma quanta): single sweeps' currents fluctuate
    ~100 % around their mean, but their signs do not; over 200 drawn spines the search brackets the reversal
    whenever the start level responds (both of its sweeps nearly silent: refused, rarely), and its 95 % interval
    covers the true zero of the mean current 90-98 % of the time (~6 s: 200 searches)."""
    rng = np.random.default_rng(11)
    step = ReversalStep(kind="reversal")
    covered, widths, silent = 0, [], 0
    for _ in range(200):
        slopes = np.array([0.97, rng.uniform(0.05, 0.6), 0.5, 0.1] + [0.06] * 8)  # pA/mV per quantum
        p = np.array([0.4, rng.uniform(0.1, 0.5), 0.3, 0.3] + [0.3] * 8)
        zero = rng.uniform(-5.0, 25.0)

        def sweep(v: float) -> float:
            released = np.sum(slopes * (rng.random(p.size) < p) * rng.gamma(16.0, 1 / 16.0, p.size))
            return float(released * (v - zero + rng.normal(0.0, 0.15)) + rng.normal(0.0, 0.2))

        try:
            analysis = _search(sweep, step)
        except StepFailed as failed:
            assert "no inward synaptic current at -70 mV" in str(failed)
            silent += 1
            continue
        levels = analysis.levels()
        assert sum(lv.sweeps for lv in levels) == 12  # 6 holdings x 2 sweeps
        found, _ = analysis.estimate(levels, bracket(levels))  # type: ignore[arg-type]
        covered += found.low_mV <= zero <= found.high_mV
        widths.append(found.high_mV - found.low_mV)
    print(f"coverage {covered / len(widths):.3f}, median width {np.median(widths):.2f} mV, {silent} refused")
    assert silent <= 4 and 0.90 <= covered / len(widths) <= 0.98
    assert np.median(widths) < 6.0


def test_a_level_has_a_sign_only_beyond_the_noise_and_without_sweeps_of_both_signs():
    sd = (0.5, 0.5)
    assert Level(0.0, (-0.9 * SIGN_Z * 0.5, -20.0), sd).sign == -1  # one failure, one release: inward
    assert Level(0.0, (1.0, 0.2), sd).sign == 0  # within the noise
    assert Level(0.0, (-5.0, 5.0), sd).sign == 0  # both signs: at the reversal as far as the noise tells


def test_search_that_never_reverses_fails_at_the_ceiling_or_after_max_levels():
    step = ReversalStep(kind="reversal", step_mV=10.0, max_levels=4)
    with pytest.raises(StepFailed, match="never reversed.*max_levels 4"):
        _search(lambda v: -50.0, step, ceiling=100.0)
    with pytest.raises(StepFailed, match="never reversed up to 0 mV .*holding limit"):
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
    assert zero_crossing(Level(0.0, (-10.0,), (1.0,)), Level(10.0, (10.0,), (1.0,))) == pytest.approx(5.0)
