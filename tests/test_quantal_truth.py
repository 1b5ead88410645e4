"""Optical quantal analysis against the specimen's truth: release probability within 0.05 after 200 sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from rig.api import run_protocol
from rig.storage.reader import RunFile

QUANTAL = ROOT / "protocols" / "quantal.yaml"
FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"


def test_release_probability_after_200_sweeps_is_within_0_05_of_the_truth(tmp_path):
    """Spine 'slow' of the fCaT rig (true p 0.2; its quanta plateau, so each success is a large CaT), 200
    single shocks 0.4 s apart (facilitation, tau 100 ms, has decayed to < 2 %).

    On the default simulated rig a quantum's CaT at rest is invisible (0.2 nS NMDA, blocked in 1 mM Mg:
    the average of 40 sweeps is noise). The binomial SD of p at 200 sweeps is 0.028, so 0.05 is ~1.8 SD:
    the check also fails if detection misses or invents more than a few percent of the responses. Costs ~30 s
    CPU: the issue's target is after 200 sweeps. No potency is published (it has no truth of its definition)."""
    overrides = ["sweeps=200", "interval_s=0.3"]
    result = run_protocol(QUANTAL, FCAT_PROFILE, overrides, out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    with RunFile(result.path) as f:
        summary = f.summary()
        truth_p = float(np.mean([v for _, k, v in f.truth_rows() if k == "release_probability"]))
    p = summary["estimates"]["release_probability"]
    print(f"\np = {p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}] against a true {truth_p:.3f}")
    assert abs(p["value"] - truth_p) <= 0.05
    assert p["low"] <= truth_p <= p["high"]
    assert set(summary["estimates"]) == {"release_probability", "release_probability_lower_bound"}


FAST_SPINE_IMAGING = ["imaging.start_um=[-1.0, 0.0]", "imaging.end_um=[2.6, 0.0]", "imaging.spine_um=[1.288, 0.0]"]


def test_a_low_resistance_spine_gets_its_release_probability_in_voltage_clamp(tmp_path):
    """Spine 'fast' of the fCaT rig (R_neck ~57 MOhm, true p 0.4): at rest its releases barely depolarize the head,
    the NMDA receptors stay blocked and the CaTs hide in the noise (in CC the run publishes only a lower bound).
    The protocol's voltage clamp steps to 0 mV around each stimulus: every release gives a CaT. 120 sweeps: the
    binomial SD of p is 0.045, so 0.1 is ~2.2 SD. The step's 80 ms a sweep (with SNX-482) leave the neck as it was."""
    result = run_protocol(QUANTAL, FCAT_PROFILE, ["sweeps=120", "interval_s=0.3", *FAST_SPINE_IMAGING],
                          out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    with RunFile(result.path) as f:
        summary = f.summary()
        rows = f.truth_rows()
    truth_p = float(np.mean([v for _, k, v in rows if k == "release_probability"]))
    fold = max(v for _, k, v in rows if k == "neck_fold_change")
    p = summary["estimates"]["release_probability"]
    print(f"\np = {p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}] against a true {truth_p:.3f}; neck x{fold:.3f}")
    assert truth_p == pytest.approx(0.4, abs=0.01)
    assert p["low"] <= truth_p <= p["high"] and abs(p["value"] - truth_p) <= 0.1
    assert p["high"] - p["low"] < 0.3
    assert fold < 1.05
    assert "held above -20 mV for 9.6 s" in p["basis"]
