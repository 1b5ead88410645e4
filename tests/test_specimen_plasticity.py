"""Neck plasticity and photodamage: 4 min at 0 mV raises tau_FRAP ~10x (none without Ca), theta burst ~5x,
EPSPs alone do nothing, light dose runs responses down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from rig.api import run_protocol
from rig.storage.reader import RunFile
from simulated_devices.sweeps import SweepSpec, run_sweep, simulated_rig

STEP_DEPOL = Path(__file__).resolve().parents[1] / "protocols" / "frap_step_depolarization.yaml"
SHORT = ["steps.0.sweeps=2", "steps.2.sweeps=2"]


def _profile_with(tmp_path: Path, **pharmacology: object) -> Path:
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["pharmacology"] = data["simulation"].get("pharmacology", {}) | pharmacology
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _tau_before_after(tmp_path: Path, profile: Path) -> tuple[float, float, float, float]:
    result = run_protocol(STEP_DEPOL, profile, SHORT, out_dir=tmp_path)
    assert result.outcome.status == "completed"
    with RunFile(result.path) as f:
        summary = f.summary()
    steps = summary["steps"]
    before, after = steps["frap_before"], steps["frap_after"]
    return (before["estimates"]["tau_frap_ms"]["value"], after["estimates"]["tau_frap_ms"]["value"],
            before["truth"]["tau_frap_ms"], after["truth"]["tau_frap_ms"])


def test_four_minutes_at_0_mV_raises_tau_frap_about_tenfold(tmp_path: Path) -> None:
    """The step-depolarization protocol run end to end: estimates and truth both grow ~10x."""
    est0, est1, true0, true1 = _tau_before_after(tmp_path, PROFILE)
    print(f"tau_FRAP before {est0:.0f} ms (truth {true0:.0f}), after {est1:.0f} ms (truth {true1:.0f}): "
          f"x{est1 / est0:.1f} (truth x{true1 / true0:.1f})")
    assert 7.0 <= true1 / true0 <= 14.0
    assert 6.0 <= est1 / est0 <= 16.0


def test_no_plasticity_in_calcium_free_saline(tmp_path: Path) -> None:
    """Same protocol with 0 mM external Ca: the neck does not change."""
    est0, est1, true0, true1 = _tau_before_after(tmp_path, _profile_with(tmp_path, external_ca_mM=0.0))
    assert true1 / true0 == pytest.approx(1.0, abs=1e-6)
    assert 0.6 <= est1 / est0 <= 1.6


def test_plasticity_is_gradual_during_the_hold() -> None:
    """After 1 and 2 of the 4 min at 0 mV the neck has grown, but not yet to its final ~10x."""
    rig = simulated_rig(PROFILE)
    spec = rig.extras["specimen"]
    folds = []
    for segment in range(12):
        run_sweep(rig.clock, SweepSpec(duration_ms=10_000, sample_rate_hz=1000, mode="VC", holding=0.0))
        if segment in (5, 11):
            folds.append(float(spec.neck_fold[0]))
    assert 1.5 < folds[0] < folds[1] < 10.0


def test_theta_burst_raises_tau_about_fivefold() -> None:
    """3 trains at 0.1 Hz of 10 bursts at 5 Hz of 5 bAPs at 100 Hz (CC), then 2 min of rest."""
    rig = simulated_rig(PROFILE)
    spec = rig.extras["specimen"]
    tau0 = spec.tau_frap_ms.copy()
    steps = [(b * 200 + a * 10 + 5, 2, 1500) for b in range(10) for a in range(5)]
    for _ in range(3):
        run_sweep(rig.clock, SweepSpec(duration_ms=2100, sample_rate_hz=20_000, mode="CC", steps=steps))
        rig.clock.wait(7.9, lambda: False)
    rig.clock.wait(120.0, lambda: False)
    ratio = spec.tau_frap_ms / tau0
    print(f"theta burst: tau_FRAP x{ratio.round(1)}")
    assert np.all((ratio > 3.0) & (ratio < 8.0))


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
