"""True unitary EPSPs of a spine: one quantum at rest in a private copy of the cell (for run truth)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simulated_devices.electrical import Blockers, CellModel

_PROBE_MS = 50.0
_PROBE_DT_MS = 0.1


class EpspProbe:
    """Peak head, spine-base and soma depolarisation for one quantum, cached per neck and bath."""

    def __init__(self, model: CellModel):
        self._live = model
        self._probe: CellModel | None = None
        self._cache: dict[tuple[object, ...], dict[str, float]] = {}

    def model_for(self, blockers: Blockers) -> CellModel:
        """The private copy of the cell, with the live necks and these blockers (state not reset)."""
        if self._probe is None:
            self._probe = CellModel(self._live.spec, replace(blockers))
            # Probes are short and start at new holdings: building a linear propagator costs more than it saves.
            self._probe.fast_path.enabled = False
            passive = self._live.spec.passive
            self._probe.set_passive(passive.rm_ohm_cm2, passive.e_leak_mV)
        probe = self._probe
        probe.blockers = replace(blockers)
        if not np.allclose(probe.neck_resistance_MOhm, self._live.neck_resistance_MOhm):
            probe.set_neck_resistances(self._live.neck_resistance_MOhm)
        return probe

    def measure(self, spine: int, weight: float) -> dict[str, float]:
        """Unitary EPSP peaks (mV above rest) in current clamp at rest."""
        blockers = self._live.blockers
        key = (spine, round(float(self._live.neck_resistance_MOhm[spine]), 3), blockers.key(), round(weight, 4))
        if key not in self._cache:
            model = self.model_for(blockers)
            model.reset_to_rest()
            n = int(round(_PROBE_MS / _PROBE_DT_MS))
            tr = model.advance(_PROBE_DT_MS, n, "CC", np.zeros(n), [(1, spine, weight)] if weight > 0 else [])
            head, base, soma = tr.v_head_mV[:, spine], tr.v_dend_at_spine_mV[:, spine], tr.v_soma_mV
            self._cache[key] = {
                "peak_head_epsp_mV": float(head.max() - head[0]),
                "peak_dendrite_epsp_mV": float(base.max() - base[0]),
                "peak_soma_epsp_mV": float(soma.max() - soma[0]),
            }
        return self._cache[key]
