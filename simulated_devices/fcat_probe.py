"""True fCaT, synaptic reversal and Ca at the reversal, measured in a private copy of the cell (run truth).

fCaT here is the specimen's own ratio of the NMDA Ca influx evoked by one mean quantum at one
spine in current clamp at rest to that evoked in voltage clamp at the true synaptic reversal:
    fcat = int I_Ca,NMDA dt (CC, I = 0) / int I_Ca,NMDA dt (VC at E_rev).
`fcat_total` is the same ratio for all evoked Ca entry, NMDA plus R-type (`fcat_charge` in the truth; the
truth's `fcat`, what the CaT amplitude ratio measures, is built from these probes in truth.py).
The reversal is the somatic holding at which the expected release (each recruited synapse
weighted by its release probability) evokes zero net clamp charge in the response window
(as the reversal search measures it). Nothing here touches the live specimen's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import optimize

from rig.protocols.shared.calcium_steps import count_spikes
from simulated_devices.electrical import CellModel, as_clamp_mode
from simulated_devices.epsp_probe import CellState, EpspProbe

FCAT_PROBE_MS = 400.0  # > 5 NMDA decay time constants
FCAT_DT_MS = 0.25  # around the AMPA peak
FCAT_EARLY_MS = 40.0  # then the NMDA tail at FCAT_TAIL_DT_MS
FCAT_TAIL_DT_MS = 1.0
REVERSAL_WINDOW_MS = 25.0  # response window of the reversal search (rig/protocols/reversal/)
REVERSAL_DT_MS = 0.1
REVERSAL_BRACKET_MV = (-30.0, 30.0)
WARM_BRACKET_MV = 1.5  # half-width of the bracket around the last reversal found in the same bath


#: Most copies of the cell simulated side by side (memory: steps x copies x recorded rows, ~13 MB at 64). A batched
#: step's fixed cost is that of several copies, so the requests are split into as few, equal batches as this allows.
EVOKED_BATCH = 64


@dataclass(frozen=True)
class EvokedRequest:
    """One quantum of `weight` at `spine` from the steady state of a constant drive (CC: pA, VC: mV), with
    `co_released` (model synapse, weight) quanta released by the same stimulus at other synapses."""

    spine: int
    weight: float
    mode: str
    command: float
    co_released: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class EvokedInflux:
    """One quantum's Ca entry at one head under one clamp, per model step (pA, inward negative)."""

    i_ca_nmda_pA: np.ndarray  # (steps,) evoked NMDA Ca current
    i_ca_vgcc_pA: np.ndarray  # (steps,) R-type Ca current (steady part included)
    v_head_mV: np.ndarray  # (steps,)
    dt_ms: float
    somatic_aps: int = 0  # somatic APs during the probe (upward crossings as the fCaT analysis counts them)

    @property
    def nmda_charge_fC(self) -> float:
        """Ca charge carried in through NMDA receptors (positive = influx), fC."""
        return float(-np.sum(self.i_ca_nmda_pA) * self.dt_ms)


class FcatProbe:
    """Runs single-quantum probes in the EPSP probe's private cell; caches per neck state and bath.

    Every probe takes the cell state it is for (a `CellState` copied at a sweep start); without one it uses
    the live cell's necks and blockers now. Nothing here touches the live specimen's state."""

    def __init__(self, epsp_probe: EpspProbe, live: CellModel):
        self._cells = epsp_probe
        self._live = live
        self._reversals: dict[tuple[object, ...], float | None] = {}
        self._evoked: dict[tuple[object, ...], EvokedInflux] = {}
        self._last_reversal: dict[tuple[object, ...], float] = {}

    def _state(self, state: CellState | None) -> CellState:
        return CellState.of(self._live) if state is None else state

    @staticmethod
    def _key(state: CellState, *parts: object) -> tuple[object, ...]:
        # Necks to 0.5 % (plasticity creeps every sweep): a truth is re-probed when a neck has really moved.
        return state.key() + parts

    def _model(self, state: CellState) -> CellModel:
        return self._cells.model_for(state.blockers, state.necks_MOhm)

    def reversal_mV(self, weights: np.ndarray, state: CellState | None = None) -> float | None:
        """Somatic holding (mV) where the expected evoked clamp charge in the response window is zero;
        None when the evoked charge does not change sign over -30..+30 mV (no synaptic current)."""
        with self._cells.lock:
            return self._reversal_mV(weights, state)

    def _reversal_mV(self, weights: np.ndarray, state: CellState | None) -> float | None:
        w = np.asarray(weights, dtype=float)
        state = self._state(state)
        key = self._key(state, "reversal", tuple(np.round(w, 2)))
        if key not in self._reversals:
            model = self._model(state)
            n = int(round(REVERSAL_WINDOW_MS / REVERSAL_DT_MS))
            events = [(1, j, float(wj)) for j, wj in enumerate(w) if wj > 0]
            if not events:
                self._reversals[key] = None
                return None

            charges: dict[float, float] = {}

            def charge(v: float) -> float:
                if v not in charges:  # brentq evaluates the bracket's ends again
                    model.settle("VC", v)  # an exact steady state: the quiet current is its holding current
                    quiet = float(model.snapshot("VC", v).clamp_current_pA[0])
                    evoked = model.advance(REVERSAL_DT_MS, n, "VC", np.full(n, v), events).clamp_current_pA
                    charges[v] = float(np.sum(evoked - quiet))
                return charges[v]

            # Start from the last reversal in this bath (necks and damage move it little): a narrow bracket
            # needs fewer steady-state solves; the full bracket when it does not hold the sign change.
            last = self._last_reversal.get(state.blockers.key())
            self._reversals[key] = None
            for lo, hi in ([(last - WARM_BRACKET_MV, last + WARM_BRACKET_MV)] if last is not None else []) \
                    + [REVERSAL_BRACKET_MV]:
                if charge(lo) < 0.0 < charge(hi):
                    reversal = float(optimize.brentq(charge, lo, hi, xtol=0.02))
                    self._reversals[key] = reversal
                    self._last_reversal[state.blockers.key()] = reversal
                    break
        return self._reversals[key]

    def evoked(self, spine: int, weight: float, mode: str, command: float,
               state: CellState | None = None) -> EvokedInflux:
        """One quantum of `weight` at `spine` from the steady state of the drive (CC: pA, VC: mV)."""
        return self.evoked_many([EvokedRequest(spine, weight, mode, command)], state)[0]

    def evoked_many(self, requests: Sequence["EvokedRequest"], state: CellState | None = None) -> list[EvokedInflux]:
        """`evoked` for many quanta in one cell state: those not cached run side by side as independent copies of
        the private cell (one batched simulation, the same steps as one by one)."""
        with self._cells.lock:
            state = self._state(state)
            keys = [self._key(state, "evoked", r.spine, round(r.weight, 4), r.mode, round(r.command, 3),
                              tuple((j, round(w, 4)) for j, w in r.co_released)) for r in requests]
            todo = {k: r for k, r in zip(keys, requests) if k not in self._evoked}
            if todo:
                model = self._model(state)
                items = list(todo.items())
                size = math.ceil(len(items) / math.ceil(len(items) / EVOKED_BATCH))
                for start in range(0, len(items), size):
                    chunk = items[start : start + size]
                    for key, influx in zip((k for k, _ in chunk), self._simulate(model, [r for _, r in chunk])):
                        self._evoked[key] = influx
            return [self._evoked[k] for k in keys]

    @staticmethod
    def _simulate(model: CellModel, requests: Sequence["EvokedRequest"]) -> list[EvokedInflux]:
        starts = []
        for r in requests:
            model.settle(as_clamp_mode(r.mode), r.command)
            starts.append(model.state)
        n1 = int(round(FCAT_EARLY_MS / FCAT_DT_MS))
        n2 = int(round((FCAT_PROBE_MS - FCAT_EARLY_MS) / FCAT_TAIL_DT_MS))
        modes = [as_clamp_mode(r.mode) for r in requests]
        commands = [r.command for r in requests]
        events = [([(0, r.spine, r.weight)] if r.weight > 0 else []) + [(0, j, w) for j, w in r.co_released if w > 0]
                  for r in requests]
        x, early = model.advance_batch(np.array(starts), FCAT_DT_MS, n1, modes, commands, events)
        _, tail = model.advance_batch(x, FCAT_TAIL_DT_MS, n2, modes, commands, [[] for _ in requests])
        # Resample the tail onto the fine grid (piecewise constant) so every sample spans FCAT_DT_MS.
        rep = int(round(FCAT_TAIL_DT_MS / FCAT_DT_MS))
        out = []
        for r, e, t in zip(requests, early, tail):
            def join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
                return np.concatenate((a[:, r.spine], np.repeat(b[:, r.spine], rep)))

            aps = count_spikes(np.concatenate((e.v_soma_mV, t.v_soma_mV)))
            out.append(EvokedInflux(join(e.i_ca_nmda_pA, t.i_ca_nmda_pA), join(e.i_ca_vgcc_pA, t.i_ca_vgcc_pA),
                                    join(e.v_head_mV, t.v_head_mV), FCAT_DT_MS, aps))
        return out

    def fcat(self, spine: int, weight: float, reversal_mV: float, state: CellState | None = None) -> float:
        """CC-at-rest / VC-at-reversal ratio of one quantum's NMDA Ca influx (nan without NMDA influx)."""
        cc = self.evoked(spine, weight, "CC", 0.0, state).nmda_charge_fC
        vc = self.evoked(spine, weight, "VC", reversal_mV, state).nmda_charge_fC
        return cc / vc if vc > 0 else float("nan")

    def fcat_total(self, spine: int, weight: float, reversal_mV: float, state: CellState | None = None) -> float:
        """The same ratio for all evoked Ca entry, NMDA plus R-type (a ratio of Ca charge, not of CaT peaks)."""
        def evoked_charge(mode: str, command: float) -> float:
            ev = self.evoked(spine, weight, mode, command, state)
            quiet = self.evoked(spine, 0.0, mode, command, state)
            return ev.nmda_charge_fC - quiet.nmda_charge_fC - float(
                np.sum(ev.i_ca_vgcc_pA - quiet.i_ca_vgcc_pA) * ev.dt_ms)
        vc = evoked_charge("VC", reversal_mV)
        return evoked_charge("CC", 0.0) / vc if vc > 0 else float("nan")
