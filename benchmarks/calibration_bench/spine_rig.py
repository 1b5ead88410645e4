"""One drawn spine on one kind's simulated rig: the profile that holds it and the protocol overrides.

The protocol's plans name the point they look at (`target_um`: the bleach point, the line scan's
`spine_um`, the Na/Ca head ROI); the simulated truth is that of the spine nearest it. The drawn spine
replaces the profile's spine nearest that point, keeping its side and y, with its head centred on the
point; everything else in the profile (other spines, bath, optics) stays as the profile says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from calibration_bench.kinds import KindSpec
from calibration_bench.population import DrawnSpine
from rig.api import prepare_run
from rig.config.device_specs import DaqSpec
from rig.config.profile import load_profile
from rig.config.yaml_loading import read_yaml
from rig.protocols.protocol_file import load_protocol
from simulated_devices.population import spine_geometry, spine_with_head_at
from simulated_devices.specimen_config import SimulationSpec, SpineSpec

DRAWN_SPINE_NAME = "calibrated"
# The simulated DAQ's watchdog counts wall time; on a shared machine a worker can stall longer than the
# 500 ms default between chunks and the run ends with WatchdogExpired, which says nothing of an estimator.
WATCHDOG_TIMEOUT_MS = 10_000.0


@dataclass(frozen=True)
class KindTarget:
    """Where a kind's protocol looks and which profile spine sits there."""

    point_um: tuple[float, float]
    replaced_index: int
    replaced: SpineSpec


def _simulation(profile: Path) -> SimulationSpec:
    sim = load_profile(profile).profile.simulation
    if sim is None:
        raise ValueError(f"{profile}: not a simulated profile (no 'simulation' section)")
    return sim


def find_target(kind: KindSpec) -> KindTarget:
    """The one point every targeted plan of the protocol looks at, and the profile spine nearest it."""
    prepared = prepare_run(kind.protocol, kind.profile, kind.overrides)
    points = {tuple(p.target_um) for p in prepared.compiled.plans if p.target_um is not None}
    if not points:
        raise ValueError(f"{kind.protocol}: no plan names a target point; the benchmark cannot place a spine")
    if len(points) > 1:
        raise ValueError(f"{kind.protocol}: plans look at {len(points)} points {sorted(points)}; one expected")
    point = (float(next(iter(points))[0]), float(next(iter(points))[1]))
    sim = _simulation(kind.profile)
    distances = [math.dist(point, spine_geometry(s, sim).head_center_um) for s in sim.spines]
    index = min(range(len(distances)), key=distances.__getitem__)
    return KindTarget(point, index, sim.spines[index])


def drawn_spine_spec(kind: KindSpec, target: KindTarget, spine: DrawnSpine, sim: SimulationSpec) -> SpineSpec:
    """The drawn spine as the profile lists it, head on the target point; `kind.keep` fields from the replaced."""
    synapse = {"release_probability": spine.release_probability, "nmda_scale": spine.nmda_scale,
               "ampa_scale": target.replaced.ampa_scale, "stimulated": target.replaced.stimulated}
    for name in kind.keep:
        synapse[name] = getattr(target.replaced, name)
    return spine_with_head_at(DRAWN_SPINE_NAME, target.point_um, target.replaced.side, spine.neck_resistance_MOhm,
                              spine.head_volume_um3, sim, **synapse)


def write_spine_profile(kind: KindSpec, target: KindTarget, spine: DrawnSpine, folder: Path) -> Path:
    """Write (and validate) the kind's profile with the drawn spine in place; returns its path."""
    _, data = read_yaml(kind.profile)
    sim = _simulation(kind.profile)
    spec = drawn_spine_spec(kind, target, spine, sim)
    data["simulation"]["spines"][target.replaced_index] = spec.model_dump()
    data["simulation"]["seed"] = spine.simulation_seed
    if "watchdog_timeout_ms" in DaqSpec.model_fields:
        data.setdefault("daq", {})["watchdog_timeout_ms"] = WATCHDOG_TIMEOUT_MS
    data["name"] = f"{data.get('name', 'simulated')} (calibration spine {spine.index})"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"profile_{kind.key}_{spine.index:03d}.yaml"
    header = (f"# Calibration benchmark: {kind.profile.name} with spine '{target.replaced.name}' replaced by\n"
              f"# drawn spine {spine.label()}\n")
    path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    load_profile(path)  # validated as `rig run` would; raises InvalidInput
    return path


def protocol_overrides(kind: KindSpec, spine: DrawnSpine) -> list[str]:
    """The kind's overrides plus, for every step whose analysis assumes a head volume, the operator's volume
    (the drawn one with an error of the size the step states: DrawnSpine.operator_volume_um3)."""
    overrides = list(kind.overrides)
    loaded = load_protocol(kind.protocol, overrides)
    for i, step in enumerate(loaded.protocol.steps):
        analysis = getattr(step, "analysis", None)
        if analysis is None or not hasattr(analysis, "head_volume_um3"):
            continue
        rel_sd = float(getattr(analysis, "head_volume_rel_sd", 0.0))
        overrides.append(f"steps.{i}.analysis.head_volume_um3={spine.operator_volume_um3(rel_sd):.6g}")
        if hasattr(analysis, "head_volume_source"):
            overrides.append(f"steps.{i}.analysis.head_volume_source=calibration benchmark (the true volume "
                             f"with a {rel_sd:.0%} log-normal error)")
    return overrides
