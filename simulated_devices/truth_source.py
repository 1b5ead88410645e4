"""The simulated rig's truth source: the true parameters of the spine a plan targets, for what its step measures.

At a sweep start (on the acquisition thread) `truth_for` only copies the spine's state (`truth.SpineState`,
a few numbers) and looks the step's truth groups up in a cache keyed by that state; a group not cached is
handed to the truth source's own worker thread, which computes it from the copy; whoever reads the truth first
(the run-file writer, the GUI) waits for it. The probes of the private cell never run on the acquisition
thread and never see a later state of the specimen.
Which groups a step needs follows from the estimate names its kind publishes (`STEP_ESTIMATES`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from rig.datatypes.kind_meta import PairingMeta
from rig.datatypes.sweep_plan import SweepPlan
from simulated_devices.quantal_truth import quantal_truth
from simulated_devices.response_truth import (
    bap_calcium_truth,
    epsp_ap_pairing_truth,
    hyperpolarizing_truth,
    paired_ap_truth,
    sodium_truth,
    theta_burst_truth,
)
from simulated_devices.specimen import Specimen
from simulated_devices.truth import SpineState, calcium_truth_of, epsp_truth_of, reversal_truth, snapshot
from simulated_devices.vsd_truth import vsd_plan_key, vsd_truth

# Estimate names each step kind's online analysis publishes (rig/protocols/**, grep "Estimate(");
# `{tag}` is the step amplitude of a hyperpolarizing-steps sweep ("-300pA"), `{r}` a VSD response.
_VSD_RESPONSES = ("head", "dendrite", "spine_minus_dendrite")
STEP_ESTIMATES: dict[str, tuple[str, ...]] = {
    "frap": ("tau_frap_ms", "neck_resistance_MOhm", "tau_frap_lower_bound_ms", "neck_resistance_lower_bound_MOhm"),
    "hold": (),
    "reversal": ("reversal_mV",),
    "fcat": ("release_probability", "release_probability_lower_bound", "tau_decay_ms", "tau_decay_quantum_ms", "neck_resistance_MOhm",
             "neck_resistance_lower_bound_MOhm", "fcat", "fcat_upper_bound", "head_depolarization_mV",
             "head_depolarization_upper_bound_mV", "reversal_mV"),
    "na_ca": ("tau_na_ms", "na_half_decay_ms", "na_rise_10_90_ms", "na_peak_mM", "neck_resistance_MOhm",
              "success_probability", "tau_na_upper_bound_ms", "na_half_decay_upper_bound_ms",
              "neck_resistance_upper_bound_MOhm"),
    "quantal": ("release_probability", "release_probability_lower_bound"),
    "paired_ap": ("feller_ratio", "ca_per_ap_nM"),
    "bap_train": ("ca_amplitude_per_ap", "ca_amplitude_first_ap", "ca_decay_ms"),
    "theta_burst": ("ap_success_fraction",),
    "hyperpolarizing_steps": ("input_resistance_MOhm", "response_ratio_expected_{tag}",
                              "response_ratio_measured_{tag}"),
    "epsp_ap_pairing": ("supralinearity_index", "supralinearity_index_after"),
    "vsd": tuple(f"{r}_{q}" for r in _VSD_RESPONSES for q in ("mV", "rise_10_90_ms", "rise_10_90_upper_bound_ms",
                                                               "half_width_ms"))
    + ("head_to_dendrite_ratio", "bap_amplitude_mV", "bap_head_to_dendrite_ratio"),
}

Compute = Callable[[Specimen, SpineState, SweepPlan], dict[str, float]]


@dataclass(frozen=True)
class TruthGroup:
    """Truths computed together by one probe; `plan_key` is what of the plan they depend on (cache key)."""

    name: str
    compute: Compute
    plan_key: Callable[[SweepPlan], tuple[object, ...]]
    cell_level: bool = False  # the same for every spine (computed for plans with no target too)
    state_key: Callable[[SpineState], tuple[object, ...]] = SpineState.key  # what of the state they depend on


def _no_plan(plan: SweepPlan) -> tuple[object, ...]:
    return ()


def _stimulus_key(plan: SweepPlan) -> tuple[object, ...]:
    """What of a plan a replayed-sweep truth depends on: kind, stimuli, clamp, its metadata, the command."""
    command = plan.outputs.get(f"{plan.amplifier}.command") if plan.amplifier is not None else None
    drive = None if command is None else hash(np.ascontiguousarray(command).tobytes())
    return (plan.kind, tuple(sorted(plan.events_ms.items())), plan.amplifier_mode, plan.n_samples,
            plan.sample_rate_hz, drive,
            plan.meta)


def _pairing_key(plan: SweepPlan) -> tuple[object, ...]:
    """What the EPSP-AP pairing truth depends on: the step's four conditions and its windows, not the sweep's own
    condition (every sweep of the step carries the same index)."""
    m = plan.meta
    pairing = m.kind_as(PairingMeta)
    conditions = tuple(sorted(pairing.conditions, key=lambda c: c.role))
    return (plan.kind, plan.n_samples, plan.sample_rate_hz, conditions, pairing.window_ms, pairing.first_event_ms,
            pairing.ap_pulse_width_ms, pairing.ap_pulse_pA, m.holding, m.bath, m.condition)


PAIRING_SCALE_KEY_STEP = 0.05  # the pairing index (a ratio of Ca signals) is recomputed when the Ca-entry scale moved 5 %


def _pairing_state_key(state: SpineState) -> tuple[object, ...]:
    """The state the pairing truth is recomputed for: the spine, necks, blockers, bath Ca and the Ca-entry scale
    (bath Ca x photodamage) in 5 % steps. Photodamage moves the scale and the quantal weight a little every sweep and
    a recomputation costs 25 replays; the index, a ratio of Ca signals that all scale with the damage, moves far
    less than the damage does (an approximation of the truth's state, not of its definition)."""
    scale = int(round(math.log(state.ca_scale) / PAIRING_SCALE_KEY_STEP)) if state.ca_scale > 0 else None
    return (state.index, state.cell.key(), scale, state.external_ca_mM)


def _sodium_truth(specimen: Specimen, state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """sodium_truth and the truths of the Na/Ca bounds (published when the frames do not resolve the decay): what a
    bound names is the true quantity it bounds (the exchange tau, R_neck and the half-decay of the mean transient)."""
    out = sodium_truth(specimen, state, plan)
    return out | {"tau_na_upper_bound_ms": state.spine["tau_na_ms"],
                  "neck_resistance_upper_bound_MOhm": state.spine["neck_resistance_MOhm"],
                  "na_half_decay_upper_bound_ms": out["na_half_decay_ms"]}


GROUPS: dict[str, TruthGroup] = {g.name: g for g in (
    TruthGroup("epsp", lambda sp, st, plan: epsp_truth_of(sp, st), _no_plan, state_key=SpineState.epsp_key),
    TruthGroup("reversal", lambda sp, st, plan: reversal_truth(sp, st), _no_plan, cell_level=True,
               state_key=SpineState.cell_key),
    TruthGroup("calcium", lambda sp, st, plan: calcium_truth_of(sp, st), _no_plan),
    TruthGroup("sodium", _sodium_truth, _stimulus_key),
    TruthGroup("hyperpolarizing", hyperpolarizing_truth, _stimulus_key, cell_level=True,
               state_key=SpineState.cell_key),
    TruthGroup("vsd", vsd_truth, vsd_plan_key),
    TruthGroup("theta_burst", theta_burst_truth, _stimulus_key, cell_level=True, state_key=SpineState.cell_key),
    TruthGroup("paired_ap", paired_ap_truth, _stimulus_key),
    TruthGroup("bap", bap_calcium_truth, _stimulus_key),
    TruthGroup("quantal", lambda sp, st, plan: quantal_truth(st), _no_plan),
    TruthGroup("epsp_ap_pairing", epsp_ap_pairing_truth, _pairing_key, state_key=_pairing_state_key),
)}

# The group that computes each estimate's truth; names not listed are in the cheap spine truth (always there).
_GROUP_OF: dict[str, str] = {
    "peak_head_epsp_mV": "epsp", "reversal_mV": "reversal",
    "tau_decay_ms": "calcium", "tau_decay_quantum_ms": "calcium", "fcat": "calcium", "fcat_upper_bound": "calcium",
    "head_depolarization_mV": "calcium", "head_depolarization_upper_bound_mV": "calcium",
    "na_half_decay_ms": "sodium", "na_rise_10_90_ms": "sodium", "na_peak_mM": "sodium",
    "na_half_decay_upper_bound_ms": "sodium", "tau_na_upper_bound_ms": "sodium",
    "neck_resistance_upper_bound_MOhm": "sodium",
    "success_probability": "sodium",
    "input_resistance_MOhm": "hyperpolarizing", "response_ratio_expected_{tag}": "hyperpolarizing",
    "response_ratio_measured_{tag}": "hyperpolarizing",
    "ap_success_fraction": "theta_burst",
    "feller_ratio": "paired_ap", "ca_per_ap_nM": "paired_ap", "ca_decay_ms": "bap",
    "release_probability_lower_bound": "quantal",
    "ca_amplitude_per_ap": "bap", "ca_amplitude_first_ap": "bap",
    "supralinearity_index": "epsp_ap_pairing", "supralinearity_index_after": "epsp_ap_pairing",
} | {name: "vsd" for name in STEP_ESTIMATES["vsd"]}
# Every published name has a truth (docs/specimen.md, "Truth of every estimate"); a new kind's names go here
# until theirs is built.
NO_TRUTH_YET: set[str] = set()
# Groups whose values another group also gives: fcat's calcium truth includes the reversal.
_COVERED_BY = {"reversal": "calcium"}


# A plan of no known kind (e.g. a test's bare target) gets the spine's unitary EPSPs and fCaT truth.
DEFAULT_GROUPS = ("epsp", "calcium")
# Truths a kind carries beyond its estimates' own: VSD sweeps also carry the unitary EPSP peaks (peak_*_epsp_mV, one
# mean quantum at rest) that its voltage responses are compared with.
EXTRA_GROUPS: dict[str, tuple[str, ...]] = {"vsd": ("epsp",)}


def groups_for(kind: str) -> list[str]:
    """The truth groups a step kind's published estimates need (cheapest first)."""
    if kind not in STEP_ESTIMATES:
        return list(DEFAULT_GROUPS)
    needed = {_GROUP_OF[n] for n in STEP_ESTIMATES[kind] if n in _GROUP_OF} | set(EXTRA_GROUPS.get(kind, ()))
    needed -= {g for g, by in _COVERED_BY.items() if by in needed}
    return [g for g in GROUPS if g in needed]


CACHE_SIZE = 512  # truth groups kept (per group, state and stimulus); a run revisits few states


class SweepTruth(Mapping[str, float]):
    """One sweep's truth: the cheap values now, the probe groups from the worker (a read waits for them)."""

    def __init__(self, eager: dict[str, float], pending: list[Future[dict[str, float]]]):
        self._values = dict(eager)
        self._pending = pending
        self._lock = threading.Lock()

    def _resolve(self) -> dict[str, float]:
        if self._pending:
            with self._lock:
                for future in self._pending:
                    self._values.update(future.result())
                self._pending = []
        return self._values

    @property
    def resolved(self) -> bool:
        """True once every group has been computed (reading then never waits)."""
        return all(f.done() for f in self._pending)

    def __getitem__(self, name: str) -> float:
        if name in self._values and not self._pending:
            return self._values[name]
        return self._resolve()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolve())

    def __len__(self) -> int:
        return len(self._resolve())

    def __reduce__(self) -> tuple[object, ...]:  # crosses processes as a plain dict
        return (dict, (dict(self._resolve()),))

    def __repr__(self) -> str:
        return f"SweepTruth({self._resolve()!r})"


class SpecimenTruth:
    """Truth source over the shared specimen: the spine a plan targets, as it is now, for what the step measures."""

    def __init__(self, specimen: Specimen, cache_size: int = CACHE_SIZE):
        self.specimen = specimen
        self._cache: OrderedDict[tuple[object, ...], dict[str, float]] = OrderedDict()
        self._cache_size = cache_size
        # The probes hold the private cell's own lock (EpspProbe.lock); the cache has its own, so a sweep start
        # never waits for a probe the worker is running.
        self._cache_lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="specimen-truth")
        self._last_target: dict[int | None, tuple[float, float]] = {}  # by step index; None: the run's last
        self.computed = 0  # groups computed (not from the cache), for benchmarks and tests
        self.compute_s = 0.0  # wall time the worker spent computing them (benchmarks)

    def truth_for(self, plan: SweepPlan) -> Mapping[str, float]:
        """True parameters of the spine nearest the plan's target point, for what the plan's kind measures.

        A plan with no target (e.g. a reversal search, hyperpolarizing steps) gets only its kind's cell-level
        truths (empty for kinds that have none). Cheap on the calling (acquisition) thread: a copy of the
        spine's state and cache look-ups; groups not cached are computed when the truth is first read."""
        kind, step = getattr(plan, "kind", ""), getattr(plan, "step_index", None)
        s = self.specimen
        target = plan.target_um
        if target is not None:
            self._last_target[step] = self._last_target[None] = (target[0], target[1])
        elif kind in STEP_ESTIMATES and any(not GROUPS[g].cell_level for g in groups_for(kind)):
            # A step's sweep with no light (e.g. fCaT's settle sweep) measures the step's spine: the step's last
            # target, else the run's, else the first stimulated spine (a settle sweep that opens a run).
            target = self._last_target.get(step, self._last_target.get(None))
            if target is None:
                first = next((g for g in s.spines if g.stimulated), s.spines[0])
                target = (first.head_center_um[0], first.head_center_um[1])
        if target is None:
            if kind not in STEP_ESTIMATES:
                return {}
            state, eager = snapshot(s, 0), {}  # cell-level truths: the expected release of every recruited synapse
        else:
            index = s.nearest_spine(target)
            state = snapshot(s, index)
            eager = {"spine_index": float(index)} | state.spine
        pending = []
        for name in groups_for(kind):
            group = GROUPS[name]
            if target is None and not group.cell_level:
                continue
            key = (name, group.state_key(state), group.plan_key(plan))
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is not None:
                eager |= cached
            else:
                pending.append(self._worker.submit(self._deferred(group, key, state, plan)))
        return SweepTruth(eager, pending) if pending else eager

    def _deferred(self, group: TruthGroup, key: tuple[object, ...], state: SpineState,
                  plan: SweepPlan) -> Callable[[], dict[str, float]]:
        def compute() -> dict[str, float]:  # on the worker thread
            with self._cache_lock:
                cached = self._cache.get(key)  # an earlier sweep's job may have filled it meanwhile
            if cached is None:
                start = time.perf_counter()
                cached = group.compute(self.specimen, state, plan)
                self.compute_s += time.perf_counter() - start
                self.computed += 1
                with self._cache_lock:
                    self._cache[key] = cached
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            return cached
        return compute

    def describe(self) -> dict[str, object]:
        """The whole specimen: static parameters, every spine's present parameters and unitary EPSPs."""
        return self.specimen.describe()
