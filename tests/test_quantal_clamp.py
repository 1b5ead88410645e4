"""The quantal step in voltage clamp: sweeps held at rest and stepped depolarized around the stimulus only,
holdings checked against the amplifier, and the time held depolarized counted from the command."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import ROOT
from rig.api import prepare_run
from rig.config.problems import InvalidInput
from rig.protocols.quantal.schema import QuantalStep
from rig.protocols.shared.calcium_scan import DEPOLARIZED_ABOVE_MV, depolarized_ms

QUANTAL = ROOT / "protocols" / "quantal.yaml"
FCAT_PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"
IMAGING = {"start_um": [-1.0, 8.0], "end_um": [2.6, 8.0], "spine_um": [1.788, 8.0]}


def test_the_protocol_steps_the_clamp_to_0_mV_for_80_ms_around_each_stimulus_and_rests_at_minus_70():
    plans = prepare_run(QUANTAL, FCAT_PROFILE, ["sweeps=3"]).compiled.plans
    assert len(plans) == 3
    for plan in plans:
        assert plan.amplifier_mode == "VC"
        assert plan.meta.condition == "SNX-482"
        command = plan.outputs[f"{plan.amplifier}.command"].astype(float)
        t_ms = np.arange(command.size) * 1000.0 / plan.sample_rate_hz
        stepped = command > DEPOLARIZED_ABOVE_MV
        assert set(np.round(np.unique(command), 3)) == {-70.0, 0.0}
        onset, end = t_ms[stepped][0], t_ms[stepped][-1]
        stimulus = plan.events_ms["stimulus_0"]
        assert onset == pytest.approx(stimulus - 20.0, abs=0.1) and end == pytest.approx(stimulus + 60.0, abs=0.1)
        assert command[-1] == -70.0  # held at rest between the sweeps
        assert depolarized_ms(plan) == pytest.approx(80.0, abs=0.1)  # not the sweep and its interval


def test_cc_is_still_there_and_never_counts_as_depolarized():
    plans = prepare_run(QUANTAL, FCAT_PROFILE, ["sweeps=2", "clamp=CC"]).compiled.plans
    assert {p.amplifier_mode for p in plans} == {"CC"}
    assert depolarized_ms(plans[0]) == 0.0


def test_a_depolarized_holding_outside_the_amplifier_limits_is_one_problem_at_its_field():
    with pytest.raises(InvalidInput) as err:
        prepare_run(QUANTAL, FCAT_PROFILE, ["voltage_clamp={rest_mV: -70, depolarized_mV: 60}"])
    problems = [str(p) for p in err.value.problems]
    assert len(problems) == 1, problems
    assert "voltage_clamp.depolarized_mV" in problems[0] and "[-100, 40]" in problems[0]


@pytest.mark.parametrize("clamp", [{"step_before_ms": 28}, {"step_ms": 200}])
def test_the_step_must_start_after_the_baseline_begins_and_end_inside_the_sweep(clamp):
    with pytest.raises(ValidationError, match="voltage_clamp"):
        QuantalStep(kind="quantal", imaging=IMAGING, stimulus_ms=30, sweep_ms=150, clamp="VC", voltage_clamp=clamp)
