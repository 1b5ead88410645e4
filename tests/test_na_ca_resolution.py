"""Na/Ca analysis at the edge of the frame rate: no overflow from a huge log-SD, a decay faster than the sodium
frames reported as too fast to resolve, and the sodium truth's half-decay carried past the sweep's end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROOT
from rig.analysis.kinetics import PairedTransientFit, half_decay_time
from rig.protocols.na_ca.analysis import MAX_KINETICS_SPREAD, NaCaAnalysis, _spread
from rig.protocols.protocol_file import load_protocol
from simulated_devices.response_truth import _na_half_decay_ms

NA_CA = ROOT / "protocols" / "na_ca_imaging.yaml"


def _fit(tau_ms: float, log_sd: float) -> PairedTransientFit:
    amps = np.array([[1.0, 0.8]])
    return PairedTransientFit((55.0, 66.0), 0.5, 1.0, tau_ms, log_sd, amps, amps * 0.1, np.zeros(1), 0.01, True, "ok")


def test_a_huge_log_sd_gives_an_unbounded_spread_not_an_overflow():
    assert _spread(1.96, 400.0) == math.inf  # math.exp(784) raises OverflowError ("math range error")
    assert _spread(1.96, math.nan) == math.inf
    assert _spread(1.96, 0.1) == math.exp(0.196)


def test_a_decay_faster_than_the_sodium_frames_is_not_resolved():
    step = load_protocol(NA_CA).protocol.steps[0]
    analysis = NaCaAnalysis(step)  # 500 Hz, two LEDs: one sodium frame every 4 ms
    assert "factor" in analysis._kinetics_resolved(_fit(5.6, 22.0), _spread(1.96, 22.0))
    assert "shorter than the 4 ms" in analysis._kinetics_resolved(_fit(1.3, 0.2), _spread(1.96, 0.2))
    assert analysis._kinetics_resolved(_fit(27.0, 0.15), _spread(1.96, 0.15)) == ""
    assert MAX_KINETICS_SPREAD > _spread(1.96, 0.15)


def test_half_decay_truth_past_the_sweep_end_follows_the_exponential_exchange():
    t = np.arange(0.0, 200.0, 0.1)
    tau = 365.0
    y = np.where(t < 10, t / 10, np.exp(-(t - 10) / tau))  # peak 1 at 10 ms, then the head's exchange
    assert math.isnan(half_decay_time(t, y))
    assert _na_half_decay_ms(t, y, tau) == pytest.approx(tau * math.log(2), rel=1e-3)
    inside = np.where(t < 10, t / 10, np.exp(-(t - 10) / 20.0))
    assert _na_half_decay_ms(t, inside, 20.0) == half_decay_time(t, inside)

