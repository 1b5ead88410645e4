"""The simulated soma after a long depolarization: a VC hold at -70 mV, or release into CC, recovers within a
second (no 'soma latch' held by the Na window current), and at depolarized VC holdings neither Na nor K currents
escape the clamp (docs/specimen.md, soma)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import PROFILE
from simulated_devices.electrical.channels import SomaChannelSpec, na_slow_availability
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import SimulationSpec


@pytest.fixture(scope="module")
def model():
    """The default simulated cell's electrical model."""
    return Specimen(SimulationSpec(**yaml.safe_load(PROFILE.read_text())["simulation"])).model


@pytest.mark.parametrize("mode, command, expected", [("VC", -70.0, -70.0), ("CC", 0.0, None)])
def test_minutes_at_0_mV_then_rest_recovers_within_a_second(model, mode, command, expected):
    rest = model.v_rest_mV
    model.settle("VC", 0.0)  # the steady state of a long hold at 0 mV: slow inactivation complete
    steps = int(1000 / 0.25)
    trace = model.advance(0.25, steps, mode, np.full(steps, command))
    target = rest if expected is None else expected
    assert abs(float(trace.v_soma_mV[-1]) - target) < 1.0  # before: -16 mV in VC at -70, +15.6 mV in CC
    assert float(np.max(trace.v_soma_mV[int(200 / 0.25):])) < target + 2.0


@pytest.mark.parametrize("command", [-10.0, 0.0, 20.0])
def test_depolarized_holdings_are_clamped(model, command):
    """The steady holding current is the leak's (outward, < 1 nA), so the soma sits a few mV below the command
    (before: the Na window current pushed it 6-25 mV above; a non-inactivating K share would pull it far below)."""
    model.settle("VC", command)
    snap = model.snapshot("VC", command)
    v_soma, current = float(model.state[0]), float(snap.clamp_current_pA[0])
    assert 0.0 < current < 1000.0
    assert command - 10.0 < v_soma < command


def test_na_slow_inactivation_leaves_the_resting_cell_alone():
    l_rest = 1.0 / (1.0 + np.exp((-70.0 + 55.0) / 5.0))  # the slow gate at -70 mV (defaults of the profile)
    assert na_slow_availability(l_rest) > 0.995
    assert na_slow_availability(1e-4) < 0.01 and na_slow_availability(1.0) == pytest.approx(1.0)
    assert SomaChannelSpec().na_slow_inactivation
