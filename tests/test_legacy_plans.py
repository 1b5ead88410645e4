"""Run files written before plans were stored in full still open and replay: the untyped `parameters` of their
plan summaries read into the same typed SweepMeta that compiling their stored protocol gives today.

tests/data/legacy_plan_summaries.json holds the stored protocol, profile and first plan summaries of five runs
(frap, bap_train, hyperpolarizing_steps, na_ca, epsp_ap_pairing) written by spinerig 3e3873e.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from rig.config.profile import profile_from_data
from rig.datatypes.plan_codec import is_full_plan
from rig.export.legacy_plans import meta_from_parameters
from rig.export.reanalyze import _OVERRIDE
from rig.protocols.protocol_file import compile_protocol, protocol_from_data

LEGACY = json.loads((ROOT / "tests" / "data" / "legacy_plan_summaries.json").read_text())["runs"]


def _compiled(run: dict) -> list:
    original, *sets = run["protocol_yaml"].split(_OVERRIDE)
    protocol = protocol_from_data(Path("stored.yaml"), original, yaml.safe_load(original), [s.strip() for s in sets])
    profile = profile_from_data(Path("stored_profile.yaml"), run["profile_yaml"], yaml.safe_load(run["profile_yaml"]))
    return compile_protocol(protocol, profile).plans


@pytest.mark.parametrize("run", LEGACY, ids=[r["plans"][0]["kind"] for r in LEGACY])
def test_a_summary_reads_into_the_metadata_compile_gives_today(run: dict) -> None:
    compiled = _compiled(run)
    for k, summary in enumerate(run["plans"]):
        assert not is_full_plan(summary) and "parameters" in summary
        meta = meta_from_parameters(summary["kind"], summary["parameters"], summary["amplifier"])
        assert meta == compiled[k].meta, (summary["kind"], k)
