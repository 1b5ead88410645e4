"""The specimen's cell seen through the simulated rig: bAPs reach the spines, the clamp sees the soma."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROFILE
from simulated_devices.sweeps import SweepResult, SweepSpec, run_sweep, simulated_rig

RATE_HZ = 20_000.0


def half_width_ms(v: np.ndarray, rate_hz: float) -> float:
    """Time above half the peak depolarisation from the first sample."""
    half = v[0] + (v.max() - v[0]) / 2
    return float(np.count_nonzero(v > half) * 1000.0 / rate_hz)


@pytest.fixture(scope="module")
def bap() -> SweepResult:
    """A CC sweep with a 2 ms, 1.5 nA pulse on amplifier.command."""
    rig = simulated_rig(PROFILE)
    return run_sweep(rig.clock, SweepSpec(duration_ms=60, sample_rate_hz=RATE_HZ, mode="CC", steps=[(10, 2, 1500)]))


def test_somatic_pulse_fires_an_ap_seen_on_the_primary(bap: SweepResult) -> None:
    """In CC the primary is the membrane potential: it rests near -70 mV and overshoots 0 mV."""
    v = bap.data["amplifier.primary"]
    assert abs(np.median(v[:150]) + 70.0) < 1.0
    assert v.max() > 20.0
    assert np.all(np.abs(bap.data["amplifier.secondary"][250:] - 0.0) < 20.0)  # injected current (pA) after the pulse


@pytest.mark.parametrize("spine", [0, 1, 2])
def test_bap_reaches_spines_at_60_to_70_mV_with_3_ms_half_width(bap: SweepResult, spine: int) -> None:
    """SCIENCE.md: bAP in spines ~66 mV, half-width ~3 ms, invading spines without loss."""
    head = bap.v_head_mV[:, spine]
    amp = head.max() - head[0]
    print(f"spine {spine}: bAP {amp:.1f} mV, half-width {half_width_ms(head, RATE_HZ):.2f} ms")
    assert 60.0 <= amp <= 72.0
    assert 2.5 <= half_width_ms(head, RATE_HZ) <= 3.8


def test_subthreshold_pulse_gives_no_ap() -> None:
    """A 2 ms, 100 pA pulse only nudges the soma."""
    rig = simulated_rig(PROFILE)
    r = run_sweep(rig.clock, SweepSpec(duration_ms=40, sample_rate_hz=RATE_HZ, mode="CC", steps=[(10, 2, 100)]))
    assert r.data["amplifier.primary"].max() < -65.0


def test_ttx_blocks_the_ap() -> None:
    """Pharmacology is a plain field: blocking somatic Na removes the spike."""
    rig = simulated_rig(PROFILE, pharmacology={"block_soma_na": True})
    r = run_sweep(rig.clock, SweepSpec(duration_ms=40, sample_rate_hz=RATE_HZ, mode="CC", steps=[(10, 2, 1500)]))
    assert r.data["amplifier.primary"].max() < -20.0


def test_voltage_clamp_step_reads_input_resistance_and_series_resistance() -> None:
    """A -5 mV step in VC: steady current gives R_s + R_in ~ 12 + 150 MOhm, the peak ~ 5 mV / R_s."""
    rig = simulated_rig(PROFILE)
    r = run_sweep(rig.clock, SweepSpec(duration_ms=60, sample_rate_hz=50_000, mode="VC", holding=-70.0,
                                       steps=[(10, 40, -5.0)]))
    i = r.data["amplifier.primary"]
    base = np.median(i[:400])
    steady = np.median(i[2000:2400]) - base
    assert abs(base) < 10.0  # the cell rests at -70 mV: no holding current
    assert (5.0 / abs(steady)) * 1e3 == pytest.approx(162.0, rel=0.15)
    assert (5.0 / abs(i[500:520].min() - base)) * 1e3 == pytest.approx(12.0, rel=0.1)


def test_a_bath_change_of_mg_during_the_run_reaches_the_nmda_receptors() -> None:
    """'Mg-free' is applied between sweeps (pharmacology as data): the NMDA current at -70 mV must grow.

    Regression: the bath's Mg was read only when the cell was built, so a Mg-free condition did nothing."""
    rig = simulated_rig(PROFILE, stimulation={"background_synapses": 0},
                        spines=[{"name": "s", "y_um": 0.0, "side": 1, "neck_length_um": 0.5, "neck_radius_um": 0.065,
                                 "head_volume_um3": 0.1, "release_probability": 1.0}],
                        synapse={"quantal_cv": 0.0})
    specimen = rig.truth.specimen  # type: ignore[attr-defined]
    spec = SweepSpec(duration_ms=120, mode="VC", holding=-70.0, stimuli_ms=[20.0])
    charge = {}
    for mg in (1.0, 0.0):
        specimen.pharmacology.mg_mM = mg
        r = run_sweep(rig.clock, spec)
        current = r.data["amplifier.secondary"]
        base = float(np.median(current[: int(0.015 * RATE_HZ)]))
        late = slice(int(0.035 * RATE_HZ), None)  # after the AMPA current, the NMDA tail
        charge[mg] = float(np.sum(current[late] - base) / RATE_HZ * 1e3)  # pA ms
    print(f"NMDA tail charge at -70 mV: 1 mM Mg {charge[1.0]:.1f} pA ms, Mg-free {charge[0.0]:.1f} pA ms")
    assert abs(charge[0.0]) > 5 * abs(charge[1.0]) and abs(charge[0.0]) > 1.0  # several times larger without Mg
