"""The joint paired-transient fit: rise and half-decay intervals cover the truth on synthetic sweeps."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.kinetics import PairedTransientFit, fit_paired_transients, influx_response

ONSETS_MS = (20.0, 31.0)
TAU_RISE_MS, TAU_DECAY_MS, DELAY_MS = 2.0, 23.0, 0.7
Z95 = 1.959963984540054


def _truth() -> tuple[float, float]:
    amps = np.array([1.0, 1.0])
    fit = PairedTransientFit(ONSETS_MS, DELAY_MS, TAU_RISE_MS, TAU_DECAY_MS, math.nan, amps[None, :],
                             amps[None, :] * 0, np.zeros(1), 0.0, True, "")
    return fit.kinetics(amps)


def _sweeps(rng: np.random.Generator, n_sweeps: int, noise: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames every 4 ms (250 Hz per LED channel), amplitudes varying by sweep, Gaussian noise."""
    times, traces = [], []
    for _ in range(n_sweeps):
        t = np.arange(0.0, 200.0, 4.0) + rng.uniform(0, 4.0)
        a = rng.uniform(0.7, 1.3)
        y = sum(a * influx_response(t, on + DELAY_MS, TAU_RISE_MS, TAU_DECAY_MS) for on in ONSETS_MS)
        times.append(t)
        traces.append(2.0 + y + rng.normal(0.0, noise, t.size))
    return times, traces


def test_rise_and_half_decay_intervals_cover_the_truth() -> None:
    rise_true, half_true = _truth()
    rng = np.random.default_rng(20261201)
    hits = {"rise": 0, "half": 0}
    finite = 0
    widths = []
    draws = 60
    for _ in range(draws):
        times, traces = _sweeps(rng, 6, 0.08)
        fit = fit_paired_transients(times, traces, ONSETS_MS)
        assert fit.converged
        rise, half = fit.kinetics(fit.amplitudes.mean(axis=0))
        if not (np.isfinite(fit.rise_log_sd) and np.isfinite(fit.half_decay_log_sd)):
            continue
        finite += 1
        widths.append(fit.rise_log_sd)
        hits["rise"] += abs(math.log(rise / rise_true)) <= Z95 * fit.rise_log_sd
        hits["half"] += abs(math.log(half / half_true)) <= Z95 * fit.half_decay_log_sd
    assert finite >= 0.95 * draws
    # 95 % intervals: between 85 % and 100 % of 60 draws (binomial spread around 0.95 is about +-3 %)
    assert hits["rise"] / finite >= 0.85, hits
    assert hits["half"] / finite >= 0.85, hits
    assert float(np.median(widths)) < 0.05  # and not covering by being uselessly wide (+-10 % at this noise)


def test_a_rise_faster_than_the_frames_leaves_the_half_decay_interval_bounded() -> None:
    """A rise the 4 ms frames do not resolve (tau_rise 0.25 ms, its log-SD in the tens) must not blow the half-decay's
    interval up: the Na/Ca calibration lost 6 of 47 resolvable spines' na_half_decay_ms to log-SDs of 20-120 on
    fits whose tau_Na was within 15 %. The interval stays bounded and covers the truth."""
    onsets, tau_rise, tau_decay, delay = (55.0, 66.0), 0.25, 26.0, 1.5
    amps = sizes = np.array([2.4, 4.5])
    true = PairedTransientFit(onsets, delay, tau_rise, tau_decay, math.nan, amps[None, :], amps[None, :] * 0,
                              np.zeros(1), 0.0, True, "")
    _, half_true = true.kinetics(amps)  # the mean amplitudes' (the draws' mean is the sizes)
    rng = np.random.default_rng(20261204)
    draws, bounded, hits = 40, 0, 0
    for _ in range(draws):
        times, traces = [], []
        for _ in range(7):
            t = np.arange(6.0, 206.0, 4.0) + rng.uniform(0, 4.0)  # 50 frames, as the Na/Ca step's sodium frames
            a = rng.uniform(0.6, 1.4, size=2) * sizes
            y = sum(ak * influx_response(t, on + delay, tau_rise, tau_decay) for ak, on in zip(a, onsets))
            times.append(t)
            traces.append(1.0 + y + rng.normal(0.0, 1.6, t.size))  # SNR of a recorded calibration spine
        fit = fit_paired_transients(times, traces, onsets)
        _, half = fit.kinetics(fit.amplitudes.mean(axis=0))
        sd = fit.half_decay_log_sd
        if math.isfinite(sd) and sd < 1.0:
            bounded += 1
            hits += abs(math.log(half / half_true)) <= Z95 * sd
    assert bounded >= 0.95 * draws, bounded
    assert hits >= 0.85 * bounded, (hits, bounded)
