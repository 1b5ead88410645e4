"""True unitary EPSPs of a spine: one quantum at rest in a private copy of the cell (for run truth)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from simulated_devices.electrical import Blockers, CellModel

_PROBE_MS = 50.0
_PROBE_DT_MS = 0.1
NECK_KEY_STEP = 0.005  # necks are keyed to 0.5 % (plasticity creeps every sweep): a truth is re-probed when one moved


@dataclass(frozen=True)
class CellState:
    """What a probe of the private cell depends on: every model neck (MOhm) and the bath's blockers (a copy)."""

    necks_MOhm: np.ndarray
    blockers: Blockers

    @classmethod
    def of(cls, model: CellModel) -> "CellState":
        """A copy of the live model's necks and blockers."""
        return cls(np.array(model.neck_resistance_MOhm, dtype=float), replace(model.blockers))

    def key(self) -> tuple[object, ...]:
        """Hashable key: necks in 0.5 % log steps and the blockers."""
        necks = tuple(int(v) for v in np.round(np.log(self.necks_MOhm) / NECK_KEY_STEP))
        return (necks, self.blockers.key())


class EpspProbe:
    """Peak head, spine-base and soma depolarisation for one quantum, cached per neck and bath."""

    def __init__(self, model: CellModel):
        self._live = model
        self._probe: CellModel | None = None
        self._cache: dict[tuple[object, ...], dict[str, float]] = {}
        self.lock = threading.RLock()  # the private cell is one: hold this around any use of model_for's model

    def live_state(self) -> CellState:
        """The live cell's necks and blockers now."""
        return CellState.of(self._live)

    def model_for(self, blockers: Blockers, necks_MOhm: np.ndarray | None = None) -> CellModel:
        """The private copy of the cell with these blockers and necks (default: the live necks); state not reset."""
        if self._probe is None:
            self._probe = CellModel(self._live.spec, replace(blockers))
            # Probes are short and start at new holdings: building a linear propagator costs more than it saves.
            self._probe.fast_path.enabled = False
            passive = self._live.spec.passive
            self._probe.set_passive(passive.rm_ohm_cm2, passive.e_leak_mV)
        probe = self._probe
        probe.blockers = replace(blockers)
        necks = self._live.neck_resistance_MOhm if necks_MOhm is None else necks_MOhm
        if not np.allclose(probe.neck_resistance_MOhm, necks):
            probe.set_neck_resistances(np.array(necks, dtype=float))
        return probe

    def measure(self, spine: int, weight: float, state: CellState | None = None) -> dict[str, float]:
        """Unitary EPSP peaks (mV above rest) in current clamp at rest (state: default the live cell's)."""
        state = self.live_state() if state is None else state
        key = (spine, round(float(state.necks_MOhm[spine]), 3), state.blockers.key(), round(weight, 4))
        with self.lock:
            if key not in self._cache:
                self._cache[key] = self._probe_epsp(spine, weight, state)
            return self._cache[key]

    def _probe_epsp(self, spine: int, weight: float, state: CellState) -> dict[str, float]:
        model = self.model_for(state.blockers, state.necks_MOhm)
        model.reset_to_rest()
        n = int(round(_PROBE_MS / _PROBE_DT_MS))
        tr = model.advance(_PROBE_DT_MS, n, "CC", np.zeros(n), [(1, spine, weight)] if weight > 0 else [])
        head, base, soma = tr.v_head_mV[:, spine], tr.v_dend_at_spine_mV[:, spine], tr.v_soma_mV
        return {
            "peak_head_epsp_mV": float(head.max() - head[0]),
            "peak_dendrite_epsp_mV": float(base.max() - base[0]),
            "peak_soma_epsp_mV": float(soma.max() - soma[0]),
        }
