"""Neck plasticity driven by bursts of voltage-gated Ca entry, and photodamage driven by light dose.

Plasticity (Grunditz et al. 2008 as the target; the mechanism is a modelling choice):

1. A fast cooperative Ca sensor at the head membrane reads the inward Ca current *density* through
   the head's voltage-gated channels, i (pA/um^2, scaled by external Ca and damage; a nanodomain
   signal, so it does not depend on the head's volume), low-pass filtered with tau_u:
       du/dt = (i - u) / tau_u,        a = u^n / (u^n + K^n)        (threshold-like, saturating at 1)
2. The activation is integrated without decay (the change holds: still raised an hour later):
       S = integral of a dt            (seconds of full activation)
3. The neck's resistance and every diffusional time constant grow by exp(G),
       G = G_max S^m / (S^m + S_half^m)  (a sigmoid: small signals do little, large ones saturate)

With tau_u = 200 ms (a burst integrator), K ~1.7x the steady current density at 0 mV and n = 6 (a soft
threshold), steady depolarization drives the sensor weakly but for long (4 min at 0 mV -> ~x10, 1 min ->
~x2, 10 s -> none), bursts of bAPs at 100 Hz drive it hard but briefly (theta burst -> ~x5), isolated bAPs
and EPSPs (little voltage-gated entry, averaged over 200 ms) do nothing; without external Ca nothing
happens. The sensor forgets within ~5 tau_u (1 s), so the neck has finished changing about a second after
the stimulus ends. Calibration: docs/specimen.md, plasticity.

Damage: responses scale by 1 / (1 + D_2P/D_half,2P + D_LED/D_half,LED).
"""

from __future__ import annotations

import numpy as np

from simulated_devices.specimen_config import DamageSpec, PlasticitySpec

_STEADY_STEP_MS = 5.0  # resolution of the sensor's approach to a held drive (accumulate_steady)


class NeckPlasticity:
    """Per-spine Ca sensor, accumulated induction signal and neck growth factor."""

    def __init__(self, spec: PlasticitySpec, n_spines: int):
        self.spec = spec
        self.sensor_pA_per_um2 = np.zeros(n_spines)  # u: the filtered current density
        self.signal_s = np.zeros(n_spines)  # S

    def activation(self, sensor_pA_per_um2: np.ndarray) -> np.ndarray:
        """Fraction a of the sensor activated at a filtered current density u (Hill)."""
        s = self.spec
        x = (np.maximum(sensor_pA_per_um2, 0.0) / s.sensor_half_pA_per_um2) ** s.sensor_hill
        return x / (1.0 + x)

    def accumulate(self, density_pA_per_um2: np.ndarray, dt_ms: float) -> None:
        """Integrate over steps of inward voltage-gated Ca current density, shape (m, spines)."""
        if not self.spec.enabled or density_pA_per_um2.size == 0:
            return
        decay = float(np.exp(-dt_ms / self.spec.sensor_tau_ms))
        if not np.any(density_pA_per_um2) and np.all(self.sensor_pA_per_um2 == 0.0):
            return
        # u_k = decay u_{k-1} + (1 - decay) i_k: exact for a drive held constant over each step (the arithmetic
        # of scipy.signal.lfilter's first-order section, without its ~1 s import).
        drive = np.maximum(density_pA_per_um2, 0.0)
        u = np.empty(drive.shape)
        gain, carry = 1.0 - decay, decay * self.sensor_pA_per_um2
        for k in range(drive.shape[0]):
            u[k] = gain * drive[k] + carry
            carry = decay * u[k]
        u[u < 1e-300] = 0.0
        self.sensor_pA_per_um2 = u[-1].copy()
        self.signal_s += self.activation(u).sum(axis=0) * dt_ms / 1000.0

    def accumulate_steady(self, density_pA_per_um2: np.ndarray, duration_ms: float) -> None:
        """Integrate a constant drive over a long interval: the sensor's approach, then its steady state."""
        if not self.spec.enabled or duration_ms <= 0:
            return
        approach_ms = min(duration_ms, 5.0 * self.spec.sensor_tau_ms)
        n = max(1, int(np.ceil(approach_ms / _STEADY_STEP_MS)))
        self.accumulate(np.tile(density_pA_per_um2, (n, 1)), approach_ms / n)
        remaining_ms = duration_ms - approach_ms
        if remaining_ms > 0:
            target = np.maximum(density_pA_per_um2, 0.0)
            self.sensor_pA_per_um2 = target + (self.sensor_pA_per_um2 - target) * np.exp(
                -remaining_ms / self.spec.sensor_tau_ms)
            self.signal_s += self.activation(target) * remaining_ms / 1000.0

    @property
    def log_fold(self) -> np.ndarray:
        """G per spine: log of the neck-resistance fold change."""
        s = self.spec
        x = (self.signal_s / s.signal_half_s) ** s.signal_hill
        return s.max_log_fold * x / (1.0 + x)

    @property
    def fold(self) -> np.ndarray:
        """Fold change of neck resistance and of every diffusional time constant."""
        return np.exp(self.log_fold)


def damage_factor(dose_2p_ms: np.ndarray, dose_led_ms: float, spec: DamageSpec) -> np.ndarray:
    """Fraction of the healthy response left after a cumulative light dose."""
    return 1.0 / (1.0 + np.asarray(dose_2p_ms) / spec.half_dose_2p_ms + dose_led_ms / spec.half_dose_led_ms)
