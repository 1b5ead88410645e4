"""Na/Ca decays the sodium frames do not resolve are published as one-sided upper bounds (issue 11): tau_Na, the
half-decay and R_neck, each with a truth of the same name; never a two-sided row with an infinite end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from conftest import ROOT
from rig.analysis.kinetics import half_decay_time, influx_response
from rig.api import execute, prepare_run
from rig.cli import main
from rig.config.profile import load_profile
from rig.datatypes.records import Estimate
from rig.protocols.na_ca.analysis import KINETICS_ROWS, NaCaAnalysis
from rig.protocols.na_ca.decay_bound import decay_upper_bounds
from rig.protocols.protocol_file import load_protocol
from rig.storage.reader import RunFile
from simulated_devices.population import spine_with_head_at

NA_CA = ROOT / "protocols" / "na_ca_imaging.yaml"
PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"
FRAME_MS = 4.0  # the protocol's 500 Hz, two LEDs
BOUNDS = ("tau_na_upper_bound_ms", "na_half_decay_upper_bound_ms", "neck_resistance_upper_bound_MOhm")
ONSETS = (50.0, 61.0)


def _sweeps(tau_ms: float, amplitudes: tuple[float, float], noise_mM: float, n: int, seed: int):
    """n sweeps of the influx model (0.5 ms influx) sampled every sodium frame, with white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(3.5, 200.0, FRAME_MS)  # mid-exposure: 1 and 2 ms after the two influxes start
    clean = sum(a * influx_response(t, on + 0.5, 0.5, tau_ms) for a, on in zip(amplitudes, ONSETS))
    return [t] * n, [clean + rng.normal(0.0, noise_mM, t.size) for _ in range(n)]


def test_a_decay_faster_than_the_frames_is_bounded_above_the_truth_and_a_frame():
    times, traces = _sweeps(1.5, (20.0, 16.0), 1.5, 4, seed=2)
    b = decay_upper_bounds(times, traces, ONSETS, 0.95, FRAME_MS, 150.0)
    fine = np.arange(50.0, 120.0, 0.01)
    true_half = half_decay_time(fine, sum(a * influx_response(fine, on + 0.5, 0.5, 1.5)
                                          for a, on in zip((20.0, 16.0), ONSETS)))
    assert FRAME_MS <= b.tau_ms < 20.0 and math.isfinite(b.tau_ms)
    assert true_half <= b.half_decay_ms < 40.0
    assert b.best_tau_ms <= b.tau_ms


def test_sweeps_without_a_transient_bound_nothing():
    times, traces = _sweeps(1.5, (0.0, 0.0), 1.5, 3, seed=3)
    b = decay_upper_bounds(times, traces, ONSETS, 0.95, FRAME_MS, 150.0)
    assert b.tau_ms == math.inf and b.half_decay_ms == math.inf


def test_a_later_sweep_withdraws_the_rows_it_does_not_renew():
    analysis = NaCaAnalysis(load_protocol(NA_CA).protocol.steps[0])
    two_sided = [Estimate(1, "na_ca", name, 20.0, 10.0, 40.0, unit) for name, (unit, bound) in KINETICS_ROWS.items()
                 if not bound]
    assert analysis._standing_now(1, "na_ca", two_sided, "resolved") == two_sided
    bound = [Estimate(2, "na_ca", "tau_na_upper_bound_ms", 9.0, math.nan, 9.0, "ms", bound="upper")]
    rows = analysis._standing_now(2, "na_ca", bound, "not resolved now")
    withdrawn = {e.name: e for e in rows[1:]}
    assert rows[0] is bound[0] and set(withdrawn) == {e.name for e in two_sided}
    assert all(math.isnan(e.value) and math.isnan(e.high) and e.basis.startswith("withdrawn") for e in rows[1:])


def _fast_spine_profile(folder):
    """The Na/Ca profile with its imaged spine made fast: R_neck 35 MOhm, a 0.03 um3 head (tau_Na ~1.2 ms, a
    third of the 4 ms between sodium frames), head still on the protocol's ROI."""
    sim = load_profile(PROFILE).profile.simulation
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["spines"][0] = spine_with_head_at("published", (1.488, 0.0), 1, 35.0, 0.03, sim,
                                                         release_probability=0.9).model_dump()
    path = folder / "fast_na_ca.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.slow
def test_a_spine_too_fast_for_the_frames_gets_upper_bounds_with_their_truth(tmp_path, capsys):
    prepared = prepare_run(NA_CA, _fast_spine_profile(tmp_path), ["interval_s=0", "analysis.head_volume_um3=0.03"],
                           sweeps=4)
    result = execute(prepared, tmp_path)
    assert result.outcome.status == "completed"
    estimates = result.estimates
    with RunFile(result.path) as f:
        truth: dict[str, list[float]] = {}
        for _, name, value in f.truth_rows():
            truth.setdefault(name, []).append(value)
        notices = [n["message"] for n in f.notices()]
    for name in BOUNDS:
        e = estimates[name]
        print(f"\n{name} <= {e.high:.4g} (truth {max(truth[name]):.4g})")
        assert e.bound == "upper" and math.isnan(e.low) and math.isfinite(e.high)
        assert max(truth[name]) <= e.high
    assert estimates["tau_na_upper_bound_ms"].high >= FRAME_MS
    assert max(truth["tau_na_upper_bound_ms"]) < FRAME_MS  # the spine is what the test says
    for name, e in estimates.items():  # no two-sided row with an infinite end, nor one beside its bound
        assert e.bound or (math.isfinite(e.low) and math.isfinite(e.high)) or math.isnan(e.value), name
    assert not any(math.isfinite(estimates[n].value) for n in ("tau_na_ms", "na_half_decay_ms",
                                                                 "neck_resistance_MOhm") if n in estimates)
    print(notices)
    assert any("upper bounds" in m for m in notices)
    capsys.readouterr()
    assert main(["info", str(result.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for name in BOUNDS:
        assert info["estimates"][name]["bound"] == "upper" and info["truth"][name] is not None
