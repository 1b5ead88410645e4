"""Transmitter release: per-spine probability, paired-pulse facilitation, Ca dependence, through the rig."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROFILE
from simulated_devices.release import ReleaseSites, ca_release_scale, pulse_onsets
from simulated_devices.sweeps import SweepSpec, run_sweep, simulated_rig


def test_pulse_onsets_are_rising_edges_of_nonzero_runs() -> None:
    """A pulse is a run of samples above threshold (either polarity); a run continuing from the last chunk is not new."""
    trig = np.array([0, 0, -4, -4, 0, 0, 3, 0, -4], dtype=float)
    assert pulse_onsets(trig, 0.0, 0.05).tolist() == [2, 6, 8]
    assert pulse_onsets(trig[2:], -4.0, 0.05).tolist() == [4, 6]


def test_release_probability_matches_p0_for_isolated_pulses() -> None:
    """2000 pulses 5 s apart (no facilitation): success rate within 4 SE of p0 for every synapse."""
    p0 = np.array([0.09, 0.3, 0.5])
    sites = ReleaseSites(p0, np.ones(3, bool), 0.8, 100.0, 0.25, np.random.default_rng(1))
    wins = np.zeros(3)
    n = 2000
    for k in range(n):
        wins += sites.pulse(k * 5000.0, 2.0).released
    se = np.sqrt(p0 * (1 - p0) / n)
    assert np.all(np.abs(wins / n - p0) < 4 * se)


def test_paired_pulses_10_ms_apart_facilitate() -> None:
    """Second-pulse success rate ~ p0 (1 + 0.8 e^(-10/100)) ~ 1.72 p0."""
    p0 = np.array([0.2])
    sites = ReleaseSites(p0, np.ones(1, bool), 0.8, 100.0, 0.0, np.random.default_rng(2))
    first = second = 0
    n = 3000
    for k in range(n):
        first += int(sites.pulse(k * 10_000.0, 2.0).released[0])
        second += int(sites.pulse(k * 10_000.0 + 10.0, 2.0).released[0])
    ratio = second / first
    assert ratio == pytest.approx(1.0 + 0.8 * np.exp(-0.1), rel=0.12)


def test_release_needs_external_calcium() -> None:
    """Dodge-Rahamimoff: p scales with (Ca/(Ca+K))^4, zero in Ca-free saline."""
    assert ca_release_scale(2.0) == 1.0
    assert ca_release_scale(0.0) == 0.0
    assert 0.0 < ca_release_scale(1.0) < 0.5 < 1.0 < ca_release_scale(4.0)


def test_successes_and_failures_arise_through_the_rig() -> None:
    """Single stimuli via stimulator.trigger: spine 'fast' (p = 0.4) shows a head EPSP > 3 mV exactly on
    successes, and its success rate over 60 sweeps is consistent with p."""
    rig = simulated_rig(PROFILE, stimulation={"background_synapses": 0})
    spec = rig.extras["specimen"]
    spec.release.recruited[1:] = False  # the electrode recruits only the axon onto 'fast'
    n_sweeps = 60
    successes, big = 0, 0
    for k in range(n_sweeps):
        r = run_sweep(rig.clock, SweepSpec(duration_ms=40, sample_rate_hz=10_000, mode="CC", stimuli_ms=[10.0]), k)
        released = bool(spec.release.history[-1].released[0])
        head = r.v_head_mV[:, 0]
        epsp = head.max() - head[0]
        successes += released
        big += epsp > 3.0
        assert (epsp > 3.0) == released
        rig.clock.wait(2.0, lambda: False)
    p = spec.release_probability(0)
    assert p == 0.4
    assert abs(successes / n_sweeps - p) < 4 * np.sqrt(p * (1 - p) / n_sweeps)


def test_calcium_free_saline_silences_synapses() -> None:
    """No release without external Ca: no EPSP at the soma."""
    rig = simulated_rig(PROFILE, pharmacology={"external_ca_mM": 0.0})
    for k in range(5):
        r = run_sweep(rig.clock, SweepSpec(duration_ms=40, sample_rate_hz=10_000, mode="CC", stimuli_ms=[10.0]), k)
        v = r.data["amplifier.primary"]
        assert v.max() - np.median(v[:90]) < 0.5
