"""Na/Ca imaging against the specimen's truth: peak [Na+] change, half-decay and R_neck of two spines (issue 5.5).

The truth of each sweep is the specimen's own head Na of the imaged spine during that sweep, recorded
through the simulated DAQ's observer at every DAQ sample; R_neck's truth is the stored per-sweep truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from rig.analysis.kinetics import half_decay_time
from rig.api import execute, prepare_run
from rig.engine.rig import build_rig
from rig.storage.reader import RunFile

NA_CA = ROOT / "protocols" / "na_ca_imaging.yaml"
PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"
SWEEPS = 10
# The protocol's ROIs sit on 'published'; 'narrow' is 8 um further along the dendrite (same side).
NARROW = ["rois.head_um=[1.488, 8.0]",
          "rois.local_background_um=[[1.488, 3.8], [1.488, 4.4], [1.488, 5.0], [1.488, 5.6], [1.488, 10.4], [1.488, 11.0], "
          "[1.488, 11.6], [1.488, 12.2]]",
          "rois.profile_start_um=[1.488, 5.0]", "rois.profile_end_um=[1.488, 11.0]"]


def _run(tmp_path, spine: str):
    """Run the protocol on one spine; return the final estimates, the per-sweep true Na traces and the stored truth."""
    prepared = prepare_run(NA_CA, PROFILE, ["interval_s=1"] + (NARROW if spine == "narrow" else []), sweeps=SWEEPS)
    rig = build_rig(prepared.profile)
    specimen = rig.extras["specimen"]
    index = [s.name for s in specimen.spines].index(spine)
    traces: dict[int, list[np.ndarray]] = {}

    def record(daq) -> None:
        traces.setdefault(daq.plan.sweep_in_step, []).append(daq.last_samples.na_mM[:, index].copy())

    rig.clock.observers.append(record)
    result = execute(prepared, tmp_path, rig_=rig)
    assert result.outcome.status == "completed"
    with RunFile(result.path) as f:
        truth = [(s, n, v) for s, n, v in f.truth_rows()]
    plan = prepared.compiled.plans[1]
    dt_ms = 1000.0 / plan.sample_rate_hz
    stimulated = {k: np.concatenate(v) for k, v in traces.items() if k > 0}  # sweep 0: no stimulus
    return result.estimates, stimulated, dt_ms, plan, truth


def _true_sodium(stimulated: dict[int, np.ndarray], dt_ms: float, plan) -> tuple[np.ndarray, float]:
    """Per-sweep true peak change of head [Na+] (mM) and the half-decay (ms) of the mean true transient."""
    first = int(min(plan.events_ms.values()) / dt_ms)
    peaks = np.array([tr.max() - tr[:first].mean() for tr in stimulated.values()])
    mean = np.mean([tr - tr[:first].mean() for tr in stimulated.values()], axis=0)
    return peaks, half_decay_time(np.arange(mean.size) * dt_ms, mean)


@pytest.mark.parametrize("spine", ["published", "narrow"])
def test_sodium_peak_half_decay_and_neck_resistance_match_the_specimen(tmp_path, spine):
    estimates, stimulated, dt_ms, plan, truth = _run(tmp_path, spine)
    peaks, half_true = _true_sodium(stimulated, dt_ms, plan)
    last = max(s for s, _, _ in truth)
    r_true = next(v for s, n, v in truth if s == last and n == "neck_resistance_MOhm")
    tau_true = next(v for s, n, v in truth if s == last and n == "tau_na_ms")
    peak, half, r, tau = (estimates[k] for k in ("na_peak_mM", "na_half_decay_ms", "neck_resistance_MOhm",
                                                 "tau_na_ms"))
    print(f"\n{spine}: peak d[Na] {peak.value:.2f} mM [{peak.low:.2f}, {peak.high:.2f}] vs true {peaks.mean():.2f} "
          f"(per sweep {np.round(peaks, 2).tolist()}); half-decay {half.value:.1f} ms [{half.low:.1f}, {half.high:.1f}] "
          f"vs true {half_true:.1f}; tau_Na {tau.value:.1f} ms [{tau.low:.1f}, {tau.high:.1f}] vs {tau_true:.1f}; "
          f"R_neck {r.value:.0f} MOhm [{r.low:.0f}, {r.high:.0f}] vs {r_true:.0f}")
    # photodamage runs the peaks down over the run: the estimate is the present value (the line at the last sweep)
    present = float(np.polyval(np.polyfit(np.arange(peaks.size), peaks, 1), peaks.size - 1))
    assert peak.value == pytest.approx(present, rel=0.20) and peak.low <= present <= peak.high
    assert half.value == pytest.approx(half_true, rel=0.15)
    assert r.low <= r_true <= r.high
