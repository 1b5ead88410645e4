"""Neck plasticity driven by sustained Ca entry, and photodamage driven by light dose.

Plasticity: recent Ca entry is an eligibility trace E (uM of total Ca entered, leaky):
  dE/dt = J - E / tau_E       (J: Ca entry through the head's voltage-gated channels, uM/ms)
a signal accumulates while E exceeds a threshold,
  dS/dt = x / (x + E_half),  x = max(E - theta, 0)          (S in seconds)
and the neck's resistance and diffusional time constants grow by exp(G),
G = G_max S / (S + S_half). Minutes at 0 mV (steady entry) or a theta burst (150 bAPs in
~20 s) push E over theta; EPSPs (NMDA entry is not counted) or bAPs at low rates do not;
without Ca entry (Ca-free saline) nothing happens. Restricting the drive to voltage-gated
entry is a modelling choice: it makes depolarisation, not synaptic activity, the trigger.

Damage: responses scale by 1 / (1 + D_2P/D_half,2P + D_LED/D_half,LED).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from rig.config.simulation import DamageSpec, PlasticitySpec


class NeckPlasticity:
    """Per-spine eligibility trace, accumulated signal and neck growth factor."""

    def __init__(self, spec: PlasticitySpec, n_spines: int):
        self.spec = spec
        self.eligibility_uM = np.zeros(n_spines)
        self.signal_s = np.zeros(n_spines)

    def _drive(self, eligibility_uM: np.ndarray) -> np.ndarray:
        x = np.maximum(eligibility_uM - self.spec.threshold_uM, 0.0)
        return x / (x + self.spec.half_uM)

    def accumulate(self, entry_uM_per_ms: np.ndarray, dt_ms: float) -> None:
        """Integrate over steps of Ca entry rate, shape (m, spines)."""
        if not self.spec.enabled or entry_uM_per_ms.size == 0:
            return
        tau_ms = self.spec.eligibility_tau_s * 1000.0
        decay = np.exp(-dt_ms / tau_ms)
        if not np.any(entry_uM_per_ms) and np.all(self.eligibility_uM <= self.spec.threshold_uM):
            self.eligibility_uM *= decay ** entry_uM_per_ms.shape[0]
            return
        gain = tau_ms * (1.0 - decay)
        # E_k = decay E_{k-1} + gain J_k: a first-order linear filter over the steps.
        e, _ = lfilter([gain], [1.0, -decay], entry_uM_per_ms, axis=0, zi=decay * self.eligibility_uM[None, :])
        self.eligibility_uM = e[-1].copy()
        self.signal_s += self._drive(e).sum(axis=0) * dt_ms / 1000.0

    def accumulate_steady(self, entry_uM_per_ms: np.ndarray, duration_ms: float, step_ms: float = 500.0) -> None:
        """Integrate a constant entry over a long interval (coarse steps)."""
        n = int(np.ceil(duration_ms / step_ms))
        if n:
            self.accumulate(np.tile(entry_uM_per_ms, (n, 1)), duration_ms / n)

    @property
    def log_fold(self) -> np.ndarray:
        """G per spine: log of the neck-resistance fold change."""
        s = self.spec
        return s.max_log_fold * self.signal_s / (self.signal_s + s.signal_half_s)

    @property
    def fold(self) -> np.ndarray:
        """Fold change of neck resistance and of every diffusional time constant."""
        return np.exp(self.log_fold)


def damage_factor(dose_2p_ms: np.ndarray, dose_led_ms: float, spec: DamageSpec) -> np.ndarray:
    """Fraction of the healthy response left after a cumulative light dose."""
    return 1.0 / (1.0 + np.asarray(dose_2p_ms) / spec.half_dose_2p_ms + dose_led_ms / spec.half_dose_led_ms)
