"""The paired-AP levels are read on the plateaus of the head's dye signal, not on its rises: a sub-millisecond
shift of the Ca transient (the sample clock against the ion steps, the AP's latency) must not move a."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import PROFILE, ROOT
from rig.analysis.ap_calcium import feller_levels
from rig.api import prepare_run
from rig.config.profile import load_profile
from rig.datatypes.kind_meta import ApLevelsMeta
from simulated_devices.line_scan_truth import expected_ratio_trace
from simulated_devices.population import spine_geometry
from simulated_devices.response_truth import _command, head_calcium_uM, replay
from simulated_devices.specimen import Specimen
from simulated_devices.truth import snapshot

PAIRED_AP = ROOT / "protocols" / "paired_ap.yaml"
LAG_MS = 0.5  # one ion step of the simulated rig (its samples hold the last step's Ca)


def _ratio_with_lag(overrides: list[str], lag_ms: float) -> float:
    """a of the noise-free head dG/R of the protocol's first sweep, its head Ca delayed by lag_ms."""
    plan = prepare_run(PAIRED_AP, PROFILE, ["sweeps=1", *overrides]).compiled.plans[0]
    sim = load_profile(PROFILE).profile.simulation
    assert sim is not None and plan.target_um is not None
    distances = [math.dist(plan.target_um, spine_geometry(s, sim).head_center_um) for s in sim.spines]
    specimen = Specimen(sim)
    state = snapshot(specimen, int(np.argmin(distances)))
    r = replay(specimen, state, "CC", _command(plan, "CC"), plan.sample_rate_hz, [])
    times, free, rest = head_calcium_uM(specimen, state, r)
    trace = expected_ratio_trace(specimen, plan, state.index, times + lag_ms, free, rest)
    meta = plan.meta.kind_as(ApLevelsMeta)
    ap1, ap2 = meta.ap_ms
    return feller_levels(trace.times_ms, trace.dg_over_r, ap1, ap2, meta.rise_ms, meta.level_window_ms).ratio


@pytest.fixture(scope="module")
def specimen_ratio() -> tuple[float, float]:
    return _ratio_with_lag([], 0.0), _ratio_with_lag([], LAG_MS)


def test_the_default_windows_give_the_same_ratio_when_the_transient_comes_half_a_millisecond_later(specimen_ratio):
    a, lagged = specimen_ratio
    assert 0.5 < a < 1.0  # fluo-5F saturates a little at the second AP
    assert lagged == pytest.approx(a, rel=0.01)


def test_windows_that_start_on_the_rise_would_not(specimen_ratio):
    """The windows the protocol had until 2026-12-02 (4 ms after the pulse onset): F3 falls on the second rise."""
    a, lagged = _ratio_with_lag(["rise_ms=4"], 0.0), _ratio_with_lag(["rise_ms=4"], LAG_MS)
    assert abs(lagged / a - 1) > 0.03
    assert a < specimen_ratio[0]  # and read on the rise, a comes out low
