"""The other calcium protocols: every file validates and compiles; waveforms are right (theta-burst timing,
paired-AP spacing, hyperpolarizing steps, pairing order); bad input is refused before anything moves."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROFILE, ROOT
from rig.api import prepare_run, run_protocol
from rig.config.problems import InvalidInput
from rig.datatypes.kind_meta import CurrentStepMeta
from rig.datatypes.sweep_plan import rising_edges

FILES = ["bap_train", "paired_ap", "theta_burst_frap", "hyperpolarizing_steps", "epsp_ap_pairing", "quantal",
         "composite_spine"]


def _plans(name: str, overrides=()):
    return prepare_run(ROOT / "protocols" / f"{name}.yaml", PROFILE, list(overrides)).compiled.plans


def _onsets_ms(plan, channel: str) -> np.ndarray:
    wave = np.asarray(plan.outputs[channel], float)
    base = wave[0]
    return rising_edges((np.abs(wave - base) > 1e-6).astype(float)) / plan.sample_rate_hz * 1000.0


@pytest.mark.parametrize("name", FILES)
def test_every_protocol_file_validates_and_compiles(name):
    plans = _plans(name)
    assert plans and all(p.n_samples > 0 for p in plans)


def test_composite_runs_frap_depolarization_frap_reversal_fcat_on_one_spine():
    prepared = prepare_run(ROOT / "protocols" / "composite_spine.yaml", PROFILE)
    steps = prepared.compiled.loaded.protocol.steps
    assert [s.kind for s in steps] == ["frap", "hold", "frap", "reversal", "fcat"]
    heads = {tuple(steps[0].bleach.point_um), tuple(steps[2].bleach.point_um), tuple(steps[4].imaging.spine_um)}
    assert heads == {(1.288, 0.0)}
    assert steps[1].clamp.holding == 0.0 and steps[1].duration_s == 240


def test_theta_burst_timing_3_trains_of_10_bursts_of_5_aps():
    plans = [p for p in _plans("theta_burst_frap") if p.kind == "theta_burst"]
    assert len(plans) == 3
    for k, plan in enumerate(plans):
        assert plan.amplifier_mode == "CC"
        onsets = _onsets_ms(plan, "amplifier.command")
        assert onsets.size == 50
        bursts = onsets.reshape(10, 5)
        assert np.diff(bursts, axis=1) == pytest.approx(np.full((10, 4), 10.0), abs=0.11)  # 100 Hz
        assert np.diff(bursts[:, 0]) == pytest.approx(np.full(9, 200.0), abs=0.11)  # 5 Hz
        wave = np.asarray(plan.outputs["amplifier.command"])
        assert wave.max() == pytest.approx(1500.0) and np.count_nonzero(wave > 0) == 50 * 20  # 2 ms at 10 kHz
        period = plan.duration_s + plan.interval_after_s
        assert period == pytest.approx(10.0, abs=1e-6) if k < 2 else plan.interval_after_s == 0.0


def test_paired_ap_spacing_and_the_line_scan():
    plans = _plans("paired_ap", ["sweeps=2", "spacing_ms=25"])
    assert len(plans) == 2
    for plan in plans:
        onsets = _onsets_ms(plan, "amplifier.command")
        assert onsets == pytest.approx([40.0, 65.0], abs=1000.0 / plan.sample_rate_hz)
        assert plan.amplifier_mode == "CC" and plan.line_scan is not None
        assert {"scanner.green", "scanner.red"} <= set(plan.inputs)
        assert "stimulator.trigger" not in plan.outputs


def test_bap_train_pulses():
    plan = _plans("bap_train", ["sweeps=1", "n_aps=4", "ap_rate_hz=20"])[0]
    assert _onsets_ms(plan, "amplifier.command") == pytest.approx([40, 90, 140, 190], abs=0.1)


def test_hyperpolarizing_steps_interleave_150_ms_steps_with_two_stimuli():
    plans = _plans("hyperpolarizing_steps", ["sweeps=2"])
    assert [p.meta.kind_as(CurrentStepMeta).step_pA for p in plans] == [-300, -400, -300, -400]
    for plan in plans:
        wave = np.asarray(plan.outputs["amplifier.command"])
        low = wave < -1
        assert wave.min() == pytest.approx(plan.meta.kind_as(CurrentStepMeta).step_pA)
        assert np.count_nonzero(low) / plan.sample_rate_hz * 1000 == pytest.approx(150.0, abs=0.2)
        assert _onsets_ms(plan, "stimulator.trigger") == pytest.approx([50.0, 250.0], abs=0.2)


def test_epsp_ap_pairing_orders_the_trains_5_ms_apart():
    plans = _plans("epsp_ap_pairing", ["sweeps=1"])
    by_role = {p.meta.role: p for p in plans}
    assert set(by_role) == {"epsp", "ap", "epsp_before_ap", "epsp_after_ap"}
    before, after = by_role["epsp_before_ap"], by_role["epsp_after_ap"]
    e_b, a_b = _onsets_ms(before, "stimulator.trigger"), _onsets_ms(before, "amplifier.command")
    e_a, a_a = _onsets_ms(after, "stimulator.trigger"), _onsets_ms(after, "amplifier.command")
    tol = 1000.0 / before.sample_rate_hz
    assert np.diff(e_b) == pytest.approx([10.0, 10.0], abs=tol) and e_b.size == 3 and a_b.size == 2
    assert a_b[0] - e_b[-1] == pytest.approx(5.0, abs=tol)
    assert e_a[0] - a_a[-1] == pytest.approx(5.0, abs=tol)
    assert "stimulator.trigger" not in by_role["ap"].outputs
    assert np.ptp(by_role["epsp"].outputs["amplifier.command"]) == 0


@pytest.mark.parametrize("name, override, field", [
    ("quantal", "steps.0.stimulus.amplitude_V=-20", "steps.0.stimulus.amplitude_V"),
    ("epsp_ap_pairing", "steps.0.stimulus.pulse_ms=9", "steps.0.stimulus.pulse_ms"),
    ("hyperpolarizing_steps", "steps.0.stimulus.amplitude_V=12", "steps.0.stimulus.amplitude_V"),
    ("bap_train", "steps.0.ap_pulse.amplitude_pA=2500", "steps.0.ap_pulse.amplitude_pA"),
    ("paired_ap", "steps.0.cc_holding_pA=800", "steps.0.ap_pulse.amplitude_pA"),
    ("theta_burst_frap", "steps.1.ap_pulse.amplitude_pA=2100", "steps.1.ap_pulse.amplitude_pA"),
    ("hyperpolarizing_steps", "steps.0.steps_pA=[-300, -1500]", "steps.0.steps_pA.1"),
    ("bap_train", "steps.0.imaging.imaging_power_fraction=0.5", "steps.0.imaging.imaging_power_fraction"),
])
def test_bad_input_is_refused_with_one_line_before_anything_moves(name, override, field, journal, tmp_path):
    with pytest.raises(InvalidInput) as exc:
        run_protocol(ROOT / "protocols" / f"{name}.yaml", PROFILE, [override], out_dir=tmp_path / "runs")
    problems = exc.value.problems
    assert [p.field for p in problems] == [field], problems
    line = str(problems[0])
    assert "\n" not in line and ("limit" in line or "exceeds" in line), line
    assert not journal.exists()  # no simulated device was touched
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
