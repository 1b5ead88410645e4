"""Head calcium and sodium: bAP calcium transients on the green PMT, buffering, Na diffusion out of the head."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import PROFILE
from simulated_devices.indicators import indicator, passes
from simulated_devices.ions import CalciumParams, uM_per_ms_per_pA
from simulated_devices.sweeps import SweepResult, SweepSpec, run_sweep, simulated_rig

LINE_RATE_HZ = 500.0
RATE_HZ = 20_000.0
PER_LINE = int(RATE_HZ / LINE_RATE_HZ)


def bap_line_scan(**updates: object) -> tuple[SweepResult, np.ndarray]:
    """Line scan across spine 'fast' (500 Hz) with a somatic AP at 100 ms; returns the result and head px."""
    rig = simulated_rig(PROFILE, **updates)
    head = rig.extras["specimen"].spines[0].head_center_um
    line = ((head[0] - 1.0, head[1]), (head[0] + 1.0, head[1]))
    r = run_sweep(rig.clock, SweepSpec(duration_ms=300, sample_rate_hz=RATE_HZ, mode="CC", steps=[(100, 2, 1500)],
                                       line_um=line, line_rate_hz=LINE_RATE_HZ))
    pixel = np.arange(PER_LINE) / PER_LINE * 2.0 - 1.0  # position along the line relative to the head
    return r, np.abs(pixel) < 0.3


def head_signal(r: SweepResult, channel: str, head_px: np.ndarray) -> np.ndarray:
    """Photon counts of the head pixels, line by line."""
    return r.data[channel].reshape(-1, PER_LINE)[:, head_px].sum(axis=1)


def test_bap_calcium_transient_is_visible_on_the_green_pmt() -> None:
    """G rises after the bAP (fluo-5F), R does not; the transient decays."""
    r, px = bap_line_scan()
    g, red = head_signal(r, "scanner.green", px), head_signal(r, "scanner.red", px)
    before, after, late = slice(5, 48), slice(52, 62), slice(130, 148)
    rise = g[after].mean() - g[before].mean()
    noise = g[before].std() / math.sqrt(after.stop - after.start)
    print(f"bAP CaT: dG/G = {rise / g[before].mean():.2f}, {rise / noise:.0f} x SE; free Ca peak "
          f"{r.ca_free_uM[:, 0].max() * 1e3:.0f} nM")
    assert rise > 8 * noise
    assert abs(red[after].mean() - red[before].mean()) < 4 * red[before].std() / math.sqrt(10)
    assert g[late].mean() < g[after].mean()
    assert 0.1 < r.ca_free_uM[:, 0].max() < 1.0  # uM: bAP transient with 300 uM fluo-5F


def test_no_calcium_transient_in_calcium_free_saline() -> None:
    """With no external Ca the same bAP gives no Ca entry."""
    r, px = bap_line_scan(pharmacology={"external_ca_mM": 0.0})
    assert r.ca_free_uM.max() == pytest.approx(0.075, abs=1e-4)
    g = head_signal(r, "scanner.green", px)
    assert abs(g[52:62].mean() - g[5:48].mean()) < 4 * g[5:48].std() / math.sqrt(10)


def test_buffer_quadratic_inverts_total_calcium() -> None:
    """free_uM(total_uM(c)) == c for the rapid-buffer model."""
    p = CalciumParams(rest_uM=0.075, kappa_e=20.0, gamma_per_ms=1.75, dye_uM=300.0, kd_uM=0.8)
    c = np.array([0.05, 0.075, 0.3, 1.0, 10.0])
    assert np.allclose(p.free_uM(p.total_uM(c)), c, rtol=1e-10)


def test_charge_to_concentration() -> None:
    """1 pA of Ca2+ for 1 ms into 0.1 um^3 adds 51.8 uM total Ca."""
    assert float(uM_per_ms_per_pA(np.array(0.1), 2)) == pytest.approx(51.82, rel=1e-3)


def test_indicators_follow_binding() -> None:
    """fluo-5F brightens with Ca (Kd 0.8 uM), bis-fura-2 at 385 nm dims; colours pick the PMT."""
    fluo, bisfura = indicator("fluo-5F"), indicator("bis-fura-2")
    assert fluo.kd_uM == 0.8 and float(fluo.bound_fraction(0.8)) == 0.5
    assert fluo.fluorescence_per_uM(0.9) > fluo.fluorescence_per_uM(0.1)
    assert bisfura.fluorescence_per_uM(0.9) < bisfura.fluorescence_per_uM(0.1)
    assert bisfura.excitation(385) > 10 * bisfura.excitation(520)
    assert passes(fluo.emission_nm, "525/50") and not passes(fluo.emission_nm, "610/75")
    assert passes(indicator("alexa594").emission_nm, "610/75")


def test_sodium_half_decay_for_the_published_geometry() -> None:
    """Single-spine Na signal half-decay ~16 ms (SCIENCE.md) for a head of 0.1 um^3 on a 0.7 um x 0.08 um
    neck, D_Na = 0.6 um^2/ms: tau = V L / (D A) = 23 ms. AMPA entry only (NMDA blocked)."""
    spine = {"name": "na", "y_um": 0.0, "side": 1, "neck_length_um": 0.7, "neck_radius_um": 0.04,
             "head_volume_um3": 0.1, "release_probability": 1.0}
    rig = simulated_rig(PROFILE, spines=[spine], pharmacology={"block_nmda": True},
                        stimulation={"background_synapses": 0}, synapse={"quantal_cv": 0.0})
    r = run_sweep(rig.clock, SweepSpec(duration_ms=150, sample_rate_hz=10_000, mode="CC", stimuli_ms=[20.0]))
    na = r.na_mM[:, 0] - r.na_mM[0, 0]
    peak = int(np.argmax(na))
    t_half_ms = (np.flatnonzero(na[peak:] < na[peak] / 2)[0]) / 10.0
    print(f"Na: peak {na[peak]:.2f} mM at {peak / 10:.1f} ms after start, half-decay {t_half_ms:.1f} ms")
    assert 13.0 <= t_half_ms <= 19.0
    assert 0.5 < na[peak] < 10.0


def test_sodium_rises_only_at_the_stimulated_spine() -> None:
    """An unstimulated spine next to a stimulated one sees no Na entry."""
    rig = simulated_rig(PROFILE, stimulation={"background_synapses": 0})
    spec = rig.extras["specimen"]
    spec.release.p0[:] = [1.0, 0.0, 0.0]
    r = run_sweep(rig.clock, SweepSpec(duration_ms=80, sample_rate_hz=10_000, mode="CC", stimuli_ms=[10.0]))
    rise = r.na_mM.max(axis=0) - r.na_mM[0]
    assert rise[0] > 0.3 and np.all(rise[1:] < 1e-6)


def test_voltage_sensitive_dye_follows_membrane_potential() -> None:
    """With a VSD loaded (-10 %/100 mV, red emission), the red head weight falls by ~6.8 % of the VSD share
    during a 68 mV bAP."""
    from simulated_devices.fluorescence import emitter_weights
    from simulated_devices.specimen import ChunkSamples

    rig = simulated_rig(PROFILE, vsd={"concentration_uM": 30.0})
    spec = rig.extras["specimen"]
    r = run_sweep(rig.clock, SweepSpec(duration_ms=40, sample_rate_hz=RATE_HZ, mode="CC", steps=[(10, 2, 1500)]))
    ones = np.ones_like(r.ca_free_uM)
    samples = ChunkSamples(r.data["amplifier.primary"], r.data["amplifier.secondary"], r.v_head_mV, r.ca_free_uM,
                           r.na_mM, ones, ones)
    w = emitter_weights(spec, samples, "610/75", 810.0).heads[:, 0]
    dv = r.v_head_mV[:, 0].max() - r.v_head_mV[0, 0]
    vsd_share = 1.0  # VSD at the Alexa concentration: weight 1 at rest
    assert (w.min() - w[0]) == pytest.approx(-0.1 * dv / 100.0 * vsd_share, rel=0.02)
