"""Every estimate a step kind publishes has a finite truth of the same name in every sweep of that step (issue 11
item 3), on the simulated rig: one tiny run per kind (a step of the repository's protocol, few short sweeps).

Names still without a truth are listed in `simulated_devices.truth_source.NO_TRUTH_YET`; the test fails when a
published name lacks a truth and is not listed there, and when a listed name has gained one (keep the list true).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import ROOT
from rig.api import run_protocol
from rig.protocols import STEP_KINDS
from rig.storage.reader import RunFile
from simulated_devices.truth import calcium_truth
from simulated_devices.truth_source import NO_TRUTH_YET, STEP_ESTIMATES, SweepTruth

PROFILES = ROOT / "hardware_profiles"

# kind -> (protocol file, profile, step overrides): the fewest, shortest sweeps that still publish estimates.
CASES: dict[str, tuple[str, str, dict[str, object]]] = {
    "frap": ("frap", "simulated", {"sweeps": 2, "recovery_ms": 300, "interval_s": 0}),
    "reversal": ("fcat", "simulated_fcat", {"sweeps_per_level": 1, "tolerance_mV": 20, "max_levels": 4}),
    "fcat": ("fcat", "simulated_fcat", {"reversal_holding": 0.0, "sweeps_per_condition": 4, "min_reversal_releases": 0,
                                        "interval_s": 0}),
    "na_ca": ("na_ca_imaging", "simulated_na_ca", {"sweeps": 2, "interval_s": 0}),
    "quantal": ("quantal", "simulated", {"sweeps": 4, "interval_s": 0}),
    "paired_ap": ("paired_ap", "simulated", {"sweeps": 2, "interval_s": 0, "sweep_ms": 150}),
    "bap_train": ("bap_train", "simulated", {"sweeps": 2, "interval_s": 0, "sweep_ms": 300}),
    "theta_burst": ("theta_burst_frap", "simulated", {"trains": 1, "bursts_per_train": 2}),
    "hyperpolarizing_steps": ("hyperpolarizing_steps", "simulated", {"sweeps": 2, "interval_s": 0,
                                                                      "steps_pA": [-300]}),
    "epsp_ap_pairing": ("epsp_ap_pairing", "simulated", {"sweeps": 2, "interval_s": 0}),
    "vsd": ("vsd_spine", "simulated_vsd", {"sweeps": 12, "sweep_rate_hz": 5,
                                           "cycle": ["synaptic", "ap", "hyperpolarizing"],
                                           "analysis": {"bootstrap_samples": 20}}),
}


def _one_step_protocol(kind: str, folder: Path) -> Path:
    """The repository protocol's step of this kind alone, with the case's overrides merged in."""
    name, _, changes = CASES[kind]
    data = yaml.safe_load((ROOT / "protocols" / f"{name}.yaml").read_text())
    step = next(s for s in data["steps"] if s["kind"] == kind)
    for key, value in changes.items():
        step[key] = step.get(key, {}) | value if isinstance(value, dict) else value
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(data | {"steps": [step]}))
    return path


def test_every_kind_is_covered():
    """The cases and the truth source's table list every registered step kind that publishes estimates."""
    assert set(STEP_KINDS) == set(STEP_ESTIMATES)
    assert set(STEP_KINDS) - {"hold"} == set(CASES)


# Release probability of a kind's imaged spine raised so that a few sweeps release (the fCaT template needs some).
RELEASE_PROBABILITY = {"fcat": ("slow", 0.9)}


def _profile(kind: str, folder: Path) -> Path:
    """The case's profile, with the imaged spine's release probability raised where the case asks."""
    path = PROFILES / f"{CASES[kind][1]}.yaml"
    if kind not in RELEASE_PROBABILITY:
        return path
    name, p = RELEASE_PROBABILITY[kind]
    data = yaml.safe_load(path.read_text())
    for spine in data["simulation"]["spines"]:
        if spine["name"] == name:
            spine["release_probability"] = p
    out = folder / f"{kind}_profile.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_published_estimate_has_its_truth_in_every_sweep(kind, tmp_path):
    result = run_protocol(_one_step_protocol(kind, tmp_path), _profile(kind, tmp_path), out_dir=tmp_path)
    assert result.outcome.status == "completed", result.outcome.message
    with RunFile(result.path) as f:
        published = {e.name for e in f.estimates()}
        sweeps = f.n_sweeps
        truth: dict[int, dict[str, float]] = {}
        for sweep, name, value in f.truth_rows():
            truth.setdefault(sweep, {})[name] = value
    assert published, f"the tiny {kind} run published no estimate: enlarge its case"
    missing: dict[str, list[int]] = {}
    for name in sorted(published):
        bad = [s for s in range(sweeps) if not math.isfinite(truth.get(s, {}).get(name, math.nan))]
        if bad:
            missing[name] = bad
    print(f"\n{kind}: {sweeps} sweeps, published {sorted(published)}; without truth: {sorted(missing)}")
    unexpected = {n: s for n, s in missing.items() if n not in NO_TRUTH_YET}
    assert not unexpected, f"{kind}: published estimates without a finite truth (name: sweeps): {unexpected}"
    stale = (published & NO_TRUTH_YET) - set(missing)
    assert not stale, f"{kind}: {sorted(stale)} have a truth now: remove them from NO_TRUTH_YET"


def _fcat_rig():
    from rig.config.profile import load_profile
    from simulated_devices.backend import build_rig
    return build_rig(load_profile(PROFILES / "simulated_fcat.yaml"))


def test_a_frap_sweep_start_runs_no_probe():
    """FRAP measures tau and R_neck only: its truth is the copied spine state, with no probe of the private cell."""
    rig = _fcat_rig()
    specimen = rig.extras["specimen"]
    plan = SimpleNamespace(kind="frap", step_index=0, target_um=specimen.spines[1].head_center_um)
    truth = rig.truth.truth_for(plan)  # type: ignore[arg-type]
    assert isinstance(truth, dict) and rig.truth.computed == 0
    assert truth["tau_frap_ms"] == pytest.approx(float(specimen.tau_frap_ms[1]))
    assert "fcat" not in truth and "peak_head_epsp_mV" not in truth


@pytest.mark.slow
def test_fcat_truth_is_computed_later_from_the_state_copied_at_the_sweep_start_and_cached():
    """The probes run on the truth source's worker, on the state of the sweep start even if the bath changed since;
    a reader on another thread waits for them; the same state at a later sweep start is served from the cache."""
    rig = _fcat_rig()
    specimen, source = rig.extras["specimen"], rig.truth
    plan = SimpleNamespace(kind="fcat", step_index=0, target_um=specimen.spines[1].head_center_um)
    first = source.truth_for(plan)  # type: ignore[arg-type]
    assert isinstance(first, SweepTruth)
    specimen.pharmacology.block_nmda = True  # after the sweep start: must not reach that sweep's truth
    seen: dict[str, float] = {}
    reader = threading.Thread(target=lambda: seen.update(dict(first)))
    reader.start()
    reader.join()
    assert source.computed == 2  # unitary EPSPs and the fCaT group
    specimen.pharmacology.block_nmda = False
    fresh = calcium_truth(specimen, 1)
    for name in ("fcat", "tau_decay_ms", "tau_decay_quantum_ms", "reversal_mV"):
        assert seen[name] == pytest.approx(fresh[name], rel=1e-9), name
    again = source.truth_for(plan)  # type: ignore[arg-type]
    assert isinstance(again, dict) and source.computed == 2
    assert again["fcat"] == seen["fcat"]
    specimen.pharmacology.block_nmda = True
    blocked = source.truth_for(plan)  # type: ignore[arg-type]
    assert dict(blocked)["fcat"] != seen["fcat"] and source.computed == 4  # NMDA blocked: a new state, new probes
