"""The implicit step's fast paths are bit-identical to its plain numpy arithmetic (issue 13 item 1)."""

from __future__ import annotations

import numpy as np
import pytest

from simulated_devices.electrical import Blockers, CellModel, CellSpec, SpineSpec
from simulated_devices.electrical.solver import ClampMode

SPINES = (  # two pairs share a dendrite node (the summed path), one sits alone
    SpineSpec(position_um=150.0, r_neck_MOhm=300.0, ampa_scale=1.5, nmda_scale=2.0),
    SpineSpec(position_um=150.5, r_neck_MOhm=80.0, head_volume_um3=0.05),
    SpineSpec(position_um=60.0, r_neck_MOhm=500.0, nmda_scale=0.02),
    SpineSpec(position_um=120.0, r_neck_MOhm=150.0),
    SpineSpec(position_um=120.3, r_neck_MOhm=1e-4),
)


def _run(spines: tuple[SpineSpec, ...], blockers: Blockers, mode: ClampMode, fast: bool) -> np.ndarray:
    """States after every step: synaptic events, a command step (a spike in CC), two dt."""
    model = CellModel(CellSpec(spines=spines), blockers=blockers)
    model.solver.scalar_heads = fast
    x = model.state
    out = []
    hold = -70.0 if mode == "VC" else 0.0
    pulse = -10.0 if mode == "VC" else 1500.0
    for k in range(700):
        if k in (20, 25, 300):
            for s in range(len(spines)):
                model.solver.add_event(x, s, 1.0 + 0.3 * s)
        cmd = pulse if 100 <= k < 140 else hold
        model.solver.step(x, 0.025 if k < 400 else 0.25, mode, cmd, blockers)
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("blockers", [Blockers(), Blockers(r_type_ca=True), Blockers(ampa=True, mg_mM=0.0),
                                      Blockers(nmda=True, soma_na=True)], ids=["control", "snx", "nbqx0mg", "cpp"])
@pytest.mark.parametrize("mode", ["CC", "VC"])
@pytest.mark.parametrize("spines", [SPINES, SPINES[2:4]], ids=["shared", "unique"])
def test_scalar_heads_bit_identical(spines: tuple[SpineSpec, ...], blockers: Blockers, mode: ClampMode) -> None:
    """Python-float head arithmetic gives exactly the numpy path's states, step after step."""
    fast, plain = _run(spines, blockers, mode, True), _run(spines, blockers, mode, False)
    assert np.all(np.isfinite(plain))
    assert np.ptp(plain[:, 0]) > 5.0  # the command step moved the soma
    np.testing.assert_array_equal(fast, plain)
