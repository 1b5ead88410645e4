"""Truth probes simulated side by side (`CellModel.advance_batch`, `FcatProbe.evoked_many`) equal the same probes
run one by one: the batch is a speed-up, not an approximation."""

from __future__ import annotations

import numpy as np
import pytest

from simulated_devices.electrical import CellModel
from simulated_devices.fcat_probe import EvokedRequest
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import SimulationSpec

FIELDS = ("v_soma_mV", "clamp_current_pA", "v_head_mV", "v_dend_at_spine_mV", "i_ca_nmda_pA", "i_ca_vgcc_pA",
          "i_na_pA")
DRIVES = [("CC", 0.0, 1.0, 0), ("VC", 5.0, 1.0, 1), ("VC", -70.0, 0.0, 0), ("CC", 40.0, 2.5, 2), ("VC", -20.0, 0.6, 2)]


def _spines(parents_shared: bool) -> list[dict[str, object]]:
    # Two spines at one dendritic position share a parent node (the bincount path of the step).
    ys = [-10.0, -10.0, 10.0] if parents_shared else [-10.0, 0.0, 10.0]
    return [{"name": f"s{i}", "y_um": y, "side": 1, "neck_length_um": 1.0, "neck_radius_um": radius,
             "head_volume_um3": 0.1} for i, (y, radius) in enumerate(zip(ys, (0.1, 0.05, 0.03)))]


@pytest.fixture(params=[False, True], ids=["own-parents", "shared-parent"])
def probe_cell(request) -> CellModel:
    specimen = Specimen(SimulationSpec(seed=2, spines=_spines(request.param)))
    return specimen.epsp_probe.model_for(specimen.model.blockers)


def test_batch_equals_one_by_one(probe_cell: CellModel) -> None:
    model = probe_cell
    starts, alone = [], []
    for mode, command, weight, spine in DRIVES:
        model.settle(mode, command)
        starts.append(model.state)
        events = [(0, spine, weight)] if weight else []
        alone.append((model.advance(0.25, 120, mode, np.full(120, command), events),
                      model.advance(1.0, 60, mode, np.full(60, command))))
    modes, commands = [d[0] for d in DRIVES], [d[1] for d in DRIVES]
    events = [[(0, spine, weight)] if weight else [] for _, _, weight, spine in DRIVES]
    ends, early = model.advance_batch(np.array(starts), 0.25, 120, modes, commands, events)
    _, tail = model.advance_batch(ends, 1.0, 60, modes, commands, [[] for _ in DRIVES])
    for (one_early, one_tail), b_early, b_tail in zip(alone, early, tail):
        for field in FIELDS:
            np.testing.assert_allclose(getattr(b_early, field), getattr(one_early, field), rtol=0, atol=1e-9)
            np.testing.assert_allclose(getattr(b_tail, field), getattr(one_tail, field), rtol=0, atol=1e-9)
    # the quanta did something (a test of equal silence would prove nothing)
    assert np.ptp(early[0].v_head_mV[:, 0]) > 0.1


def test_batch_refuses_an_unknown_clamp_and_an_event_outside(probe_cell: CellModel) -> None:
    start = probe_cell.state[None, :]
    with pytest.raises(ValueError):
        probe_cell.advance_batch(start, 0.25, 4, ["XC"], [0.0], [[]])
    with pytest.raises(IndexError):
        probe_cell.advance_batch(start, 0.25, 4, ["CC"], [0.0], [[(4, 0, 1.0)]])


def test_evoked_many_equals_evoked_one_at_a_time() -> None:
    requests = [EvokedRequest(1, 1.0, "CC", 0.0), EvokedRequest(1, 0.0, "VC", 0.0), EvokedRequest(2, 0.7, "VC", 0.0)]
    together = Specimen(SimulationSpec(seed=2, spines=_spines(False))).fcat_probe.evoked_many(requests)
    probe = Specimen(SimulationSpec(seed=2, spines=_spines(False))).fcat_probe
    for r, batched in zip(requests, together):
        single = probe.evoked(r.spine, r.weight, r.mode, r.command)
        for field in ("i_ca_nmda_pA", "i_ca_vgcc_pA", "v_head_mV"):
            np.testing.assert_allclose(getattr(batched, field), getattr(single, field), rtol=0, atol=1e-9)
    assert together[0].nmda_charge_fC > 0
