"""The specimen settles at every VC holding an operator may use: no holding crashes a run.

Between -55 and -37.5 mV the soma's Na channels clamped through 12 MOhm of series resistance
have no equilibrium the root finder reaches (the real clamp escapes there too); settling then
integrates forward instead of jumping, which is slower but never fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROFILE
from rig.config.profile import load_profile
from rig.engine.rig import build_rig


@pytest.mark.parametrize("holding_mV", [-97.5, -70.0, -55.0, -45.0, -37.5, 0.0, 3.75])
def test_settling_at_any_vc_holding_gives_a_clamped_finite_state(holding_mV):
    rig = build_rig(load_profile(PROFILE))
    model = rig.extras["specimen"].model
    model.settle("VC", holding_mV)
    trace = model.advance(0.1, 50, "VC", np.full(50, holding_mV))
    assert np.isfinite(trace.v_soma_mV).all() and np.isfinite(trace.clamp_current_pA).all()
    assert -100.0 < float(np.min(trace.v_soma_mV)) and float(np.max(trace.v_soma_mV)) < 60.0
    if not -56.0 < holding_mV < -37.0:  # outside the clamp-escape band the soma sits near the command
        assert abs(float(np.mean(trace.v_soma_mV)) - holding_mV) < 15.0
