"""Plans serialise losslessly: every plan of every protocol file round-trips exactly, inline or by reference,
through JSON and through a run file (which stores each executed plan in full, however long)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pytest

from conftest import FRAP, PROFILE, ROOT
from rig.api import execute, prepare_run
from rig.config.problems import InvalidInput
from rig.datatypes.kind_meta import VsdMeta
from rig.datatypes.plan_codec import PlanDecodeError, plan_from_data, plan_to_data
from rig.datatypes.records import DataChunk, RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.datatypes.sweep_meta import KindMeta, SweepMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.storage.reader import RunFile
from rig.storage.writer import Hdf5RunWriter

SIMULATED_PROFILES = ("simulated.yaml", "simulated_fcat.yaml", "simulated_na_ca.yaml", "simulated_vsd.yaml")


def _compiled_plans() -> dict[str, list[SweepPlan]]:
    """Every protocol file compiled on the first simulated profile that accepts it."""
    out = {}
    for protocol in sorted((ROOT / "protocols").glob("*.yaml")):
        for profile in SIMULATED_PROFILES:
            try:
                out[protocol.name] = prepare_run(protocol, ROOT / "hardware_profiles" / profile).compiled.plans
                break
            except InvalidInput:
                continue
    return out


PLANS = _compiled_plans()


def assert_same_plan(a: SweepPlan, b: SweepPlan) -> None:
    """Field by field, waveforms sample for sample and dtype for dtype."""
    for f in fields(SweepPlan):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "outputs":
            assert list(x) == list(y)
            for name in x:
                assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name
        else:
            assert x == y and type(x) is type(y), f.name


def test_every_protocol_file_compiles_on_a_simulated_profile() -> None:
    assert set(PLANS) == {p.name for p in (ROOT / "protocols").glob("*.yaml")}
    kinds = {p.kind for plans in PLANS.values() for p in plans}
    assert {"frap", "fcat", "na_ca", "vsd", "reversal", "hold", "quantal", "bap_train", "paired_ap",
            "epsp_ap_pairing", "hyperpolarizing_steps", "theta_burst"} <= kinds


@pytest.mark.parametrize("protocol", sorted(PLANS))
def test_plans_round_trip_exactly_through_json(protocol: str) -> None:
    for plan in PLANS[protocol]:
        assert_same_plan(plan_from_data(json.loads(json.dumps(plan_to_data(plan)))), plan)
        by_reference = json.loads(json.dumps(plan_to_data(plan, inline=False)))
        assert all("data_b64" not in w for w in by_reference["outputs"].values())
        assert_same_plan(plan_from_data(by_reference, lambda name: plan.outputs[name]), plan)


def test_kind_metadata_survives_with_its_own_type() -> None:
    metas = {type(p.meta.kind_meta) for plans in PLANS.values() for p in plans if p.meta.kind_meta is not None}
    assert len(metas) >= 7 and all(issubclass(m, KindMeta) and m.tag for m in metas)


def test_a_referenced_waveform_that_differs_is_refused() -> None:
    plan = PLANS["frap.yaml"][0]
    data = plan_to_data(plan, inline=False)
    name = next(iter(plan.outputs))
    altered = {**plan.outputs, name: plan.outputs[name].copy()}
    altered[name][-1] += 1.0
    with pytest.raises(PlanDecodeError, match="SHA-256"):
        plan_from_data(data, lambda n: altered[n])
    with pytest.raises(PlanDecodeError, match="float64"):
        plan_from_data(data, lambda n: plan.outputs[n].astype(np.float64))
    with pytest.raises(PlanDecodeError, match="no stored samples"):
        plan_from_data(data)


def test_the_run_file_stores_every_executed_plan_exactly(tmp_path) -> None:
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200", "interval_s=0.1"], sweeps=2)
    result = execute(prepared, tmp_path)
    with RunFile(result.path) as f:
        assert f.stores_full_plans() and f.n_sweeps == 2
        for stored, compiled in zip(f.sweep_plans(), prepared.compiled.plans, strict=True):
            assert_same_plan(stored, compiled)


def test_a_plan_longer_than_one_table_row_is_stored_whole(tmp_path) -> None:
    """Plans are not cut at 16 kB: a plan with 3000 events (~80 kB of JSON) and a float64 output comes back."""
    n = 400
    plan = SweepPlan(step_index=0, step_name="long", kind="test", sweep_in_step=0, sample_rate_hz=10_000.0,
                     n_samples=n, outputs={"amp.command": np.linspace(-70, 10, n).astype(np.float32),
                                           "stim.trigger": np.sin(np.arange(n) / 7.0)},
                     inputs=("amp.primary",), amplifier="amp", amplifier_mode="VC",
                     events_ms={f"stimulus_{k}": k * 0.013 for k in range(3000)})
    assert len(json.dumps(plan_to_data(plan, inline=False))) > 3 * 16384
    path = tmp_path / "long.h5"
    writer = Hdf5RunWriter(path)
    writer.handle(RunStarted("long", "", "name: long", "", "backend: simulated", {}, (plan,), None, time.time()))
    writer.handle(SweepStarted(0, plan, time.time()))
    for name, wave in plan.outputs.items():
        writer.handle(DataChunk(0, f"out:{name}", 0, wave))
    writer.handle(DataChunk(0, "in:amp.primary", 0, np.zeros(n, np.float32)))
    writer.handle(SweepEnded(0, n, True, time.time()))
    writer.handle(RunEnded("completed", "", time.time()))
    with RunFile(path) as f:
        assert_same_plan(f.sweep_plan(0), plan)  # the float64 output inline, the float32 one from out:
        assert f.plans()[0]["events_ms"]["stimulus_2999"] == pytest.approx(2999 * 0.013)
        assert f.channel_unit("out:amp.command") == "mV" and f.channel_unit("in:amp.primary") == "pA"


def test_an_executed_plan_whose_samples_were_lost_is_not_rebuilt(tmp_path) -> None:
    plan = replace(PLANS["frap.yaml"][0], outputs={k: v[:10] for k, v in PLANS["frap.yaml"][0].outputs.items()},
                   n_samples=10)
    path = Path(tmp_path) / "cut.h5"
    writer = Hdf5RunWriter(path)
    writer.handle(RunStarted("cut", "", "", "", "", {}, (plan,), None, time.time()))
    writer.handle(SweepStarted(0, plan, time.time()))
    first = next(iter(plan.outputs))
    writer.handle(DataChunk(0, f"out:{first}", 0, plan.outputs[first][:5]))  # the rest never reached the file
    writer.handle(SweepEnded(0, 5, False, time.time()))
    writer.handle(RunEnded("aborted", "", time.time()))
    with RunFile(path) as f, pytest.raises(PlanDecodeError):
        f.sweep_plan(0)


@dataclass(frozen=True)
class _ToyMeta(KindMeta):
    """A new kind's own sweep metadata, defined outside rig/datatypes."""

    tag = "toy_kind_for_codec_test"
    pulse_ms: tuple[float, ...]
    label: str


def test_a_new_kinds_own_metadata_round_trips() -> None:
    plan = replace(PLANS["frap.yaml"][0], kind="toy", meta=SweepMeta(role="probe", kind_meta=_ToyMeta((1.0, 2.5), "x")))
    back = plan_from_data(json.loads(json.dumps(plan_to_data(plan))))
    assert_same_plan(back, plan)
    assert back.meta.kind_as(_ToyMeta).pulse_ms == (1.0, 2.5)
    with pytest.raises(TypeError, match="not VsdMeta"):
        back.meta.kind_as(VsdMeta)
