"""Spine-head calcium and sodium: influx, buffering, extrusion and diffusion through the neck.

Calcium (rapid-buffer approximation; all concentrations in uM, times in ms):
  C_T = c (1 + kappa_E) + B c / (c + K)              total head Ca, free c, dye B, Kd K
  dC_T/dt = J - gamma (c - c0) - (c - c0)/tau_Ca - (b(c) - b(c0))/tau_dye
with b(c) = B c/(c + K) (Ca-bound dye, mobile), the dendrite a reservoir at rest (c0),
gamma = (1 + kappa_E)/tau_extrusion (pumps), tau_X = V L / (D_X pi a^2) per neck.
Integrated by linearly implicit Euler on ion steps (stable at any step).

Sodium (unbuffered, linear): dN/dt = J_Na - (N - N0)/tau_Na, integrated exactly.
Currents convert to concentration rates with Faraday's constant and the head volume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulated_devices.relaxation import relax

FARADAY_C_PER_MOL = 96485.332
#: Entry below this (e.g. the R-type window current at rest) is part of the resting balance.
QUIET_INFLUX_UM_PER_MS = 1e-5


def uM_per_ms_per_pA(volume_um3: np.ndarray, valence: int) -> np.ndarray:
    """Concentration rate (uM/ms) produced by 1 pA of inward current into a volume."""
    # 1 pA = 1e-12 C/s -> mol/s = 1e-12/(zF); per litre (V um^3 = V 1e-15 L); M/s -> uM/ms is x1e3.
    return 1e-12 / (valence * FARADAY_C_PER_MOL) / (np.asarray(volume_um3) * 1e-15) * 1e3


@dataclass(frozen=True)
class CalciumParams:
    """Buffering and extrusion shared by all heads."""

    rest_uM: float
    kappa_e: float
    gamma_per_ms: float
    dye_uM: float
    kd_uM: float

    def bound_dye_uM(self, c_uM: np.ndarray) -> np.ndarray:
        """Ca-bound indicator at free Ca c."""
        return self.dye_uM * c_uM / (c_uM + self.kd_uM)

    def total_uM(self, c_uM: np.ndarray) -> np.ndarray:
        """Total Ca (free + endogenous-bound + dye-bound) at free Ca c."""
        return c_uM * (1.0 + self.kappa_e) + self.bound_dye_uM(c_uM)

    def free_uM(self, total_uM: np.ndarray) -> np.ndarray:
        """Free Ca from total Ca: positive root of the buffer quadratic."""
        a = 1.0 + self.kappa_e
        b = a * self.kd_uM + self.dye_uM - total_uM
        return (-b + np.sqrt(b * b + 4.0 * a * total_uM * self.kd_uM)) / (2.0 * a)


_SCALAR_HEADS = 6  # up to this many heads the ion-step loop runs on Python floats (fewer calls than numpy's)


def _advance_one(p: CalciumParams, influx: list[float], total: float, dt_ms: float, k_free: float, k_dye: float,
                 c0: float, b0: float) -> tuple[list[float], float]:
    """`HeadCalcium.advance` for one head on floats, operation for operation: (free Ca at each step's start, total)."""
    a, kd, dye = 1.0 + p.kappa_e, p.kd_uM, p.dye_uM
    akd_dye, four_a, two_a, bk = a * kd + dye, 4.0 * a, 2.0 * a, dye * kd
    out = []
    for j_in in influx:
        b = akd_dye - total
        c = (-b + math.sqrt(b * b + four_a * total * kd)) / two_a
        ck = c + kd
        bound = dye * c / ck
        loss = k_free * (c - c0) + k_dye * (bound - b0)
        slope_b = bk / (ck * ck)
        rate = (k_free + k_dye * slope_b) / (a + slope_b)
        total = total + dt_ms * (j_in - loss) / (1.0 + dt_ms * rate)
        out.append(c)
    return out, total


class HeadCalcium:
    """Total Ca of every imaged head, advanced on ion steps."""

    def __init__(self, params: CalciumParams, n_heads: int):
        self.params = params
        self.rest_total_uM = float(params.total_uM(np.array(params.rest_uM)))
        self.total_uM = np.full(n_heads, self.rest_total_uM)

    @property
    def free_uM(self) -> np.ndarray:
        """Present free Ca of every head."""
        return self.params.free_uM(self.total_uM)

    def at_rest(self, tol_uM: float = 1e-6) -> bool:
        """True when every head is at resting Ca."""
        return bool(np.max(np.abs(self.total_uM - self.rest_total_uM)) < tol_uM)

    def advance(self, influx_uM_per_ms: np.ndarray, dt_ms: float, tau_free_ms: np.ndarray,
                tau_dye_ms: np.ndarray) -> np.ndarray:
        """Advance by len(influx) steps of dt_ms (influx: mean rate per step, shape (m, n)).

        Returns free Ca (uM) at the end of each step, shape (m, n).
        """
        m = influx_uM_per_ms.shape[0]
        p = self.params
        if np.max(np.abs(influx_uM_per_ms), initial=0.0) < QUIET_INFLUX_UM_PER_MS and self.at_rest():
            self.total_uM[:] = self.rest_total_uM
            return np.full((m, self.total_uM.size), p.rest_uM)
        out = np.empty((m, self.total_uM.size))
        c0, b0 = p.rest_uM, float(p.bound_dye_uM(np.array(p.rest_uM)))
        k_free = p.gamma_per_ms + 1.0 / tau_free_ms
        k_dye = 1.0 / tau_dye_ms
        a, bk, ka = 1.0 + p.kappa_e, p.dye_uM * p.kd_uM, p.kd_uM
        total = self.total_uM
        if total.size <= _SCALAR_HEADS:  # a few heads: the same arithmetic on floats, head by head (no numpy calls)
            k_free_b = np.broadcast_to(k_free, total.shape)
            k_dye_b = np.broadcast_to(k_dye, total.shape)
            for j in range(total.size):
                out[:, j], total[j] = _advance_one(p, influx_uM_per_ms[:, j].tolist(), float(total[j]), dt_ms,
                                                   float(k_free_b[j]), float(k_dye_b[j]), c0, b0)
            self.total_uM = total.copy()
            out[:-1] = out[1:]
            out[-1] = p.free_uM(self.total_uM)
            return out
        for i in range(m):
            c = p.free_uM(total)
            ck = c + ka
            bound = p.dye_uM * c / ck
            loss = k_free * (c - c0) + k_dye * (bound - b0)
            slope_b = bk / (ck * ck)
            rate = (k_free + k_dye * slope_b) / (a + slope_b)
            total = total + dt_ms * (influx_uM_per_ms[i] - loss) / (1.0 + dt_ms * rate)
            out[i] = c
        self.total_uM = total
        # out holds c at the start of each step; shift to the end of each step.
        out[:-1] = out[1:]
        out[-1] = p.free_uM(total)
        return out

    def _loss_rates(self, tau_free_ms: np.ndarray, tau_dye_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss rate constants (1/ms) of free Ca (pumps + neck) and of Ca-bound dye (neck)."""
        return self.params.gamma_per_ms + 1.0 / np.asarray(tau_free_ms), 1.0 / np.asarray(tau_dye_ms)

    def steady_free_uM(self, influx_uM_per_ms: np.ndarray, tau_free_ms: np.ndarray,
                       tau_dye_ms: np.ndarray) -> np.ndarray:
        """Steady free Ca under a constant influx J: J = k_free (c - c0) + k_dye (b(c) - b(c0)), solved exactly.

        The loss is monotonic in c, so the root is unique; it is the positive root of a quadratic.
        """
        p = self.params
        k_free, k_dye = self._loss_rates(tau_free_ms, tau_dye_ms)
        j = np.asarray(influx_uM_per_ms, dtype=float)
        b0 = float(p.bound_dye_uM(np.array(p.rest_uM)))
        # k_free (c - c0) + k_dye B c/(c + K) = J + k_dye b0  ->  k_free c^2 + (k_free K - r + k_dye B) c - r K = 0
        r = j + k_free * p.rest_uM + k_dye * b0
        b = k_free * p.kd_uM - r + k_dye * p.dye_uM
        return (-b + np.sqrt(b * b + 4.0 * k_free * r * p.kd_uM)) / (2.0 * k_free)

    def decay_tau_ms(self, tau_free_ms: np.ndarray, tau_dye_ms: np.ndarray,
                     c_uM: np.ndarray | float | None = None) -> np.ndarray:
        """Small-signal decay time constant of total Ca about free Ca c (default: rest), per head.

        tau = (1 + kappa_E + kappa_dye(c)) / (k_free + k_dye kappa_dye(c)), kappa_dye = B K/(c + K)^2:
        with much unsaturated dye the mobile bound dye carries Ca out through the neck (tau -> tau_dye).
        """
        p = self.params
        c = p.rest_uM if c_uM is None else np.asarray(c_uM, dtype=float)
        slope_b = p.dye_uM * p.kd_uM / (c + p.kd_uM) ** 2
        k_free, k_dye = self._loss_rates(tau_free_ms, tau_dye_ms)
        return (1.0 + p.kappa_e + slope_b) / (k_free + slope_b * k_dye)

    def rest(self, duration_ms: float, tau_free_ms: np.ndarray, tau_dye_ms: np.ndarray,
             influx_uM_per_ms: np.ndarray | float = 0.0) -> None:
        """Relax over a quiet interval toward the steady state of the held drive's steady influx.

        The target is the true steady state under that influx (e.g. the R-type window current at a
        depolarised holding), so the next sweep starts where the integration would have ended; the
        approach uses the small-signal time constant about the target.
        """
        target_c = self.steady_free_uM(np.broadcast_to(influx_uM_per_ms, self.total_uM.shape), tau_free_ms,
                                       tau_dye_ms)
        target = self.params.total_uM(target_c)
        tau = self.decay_tau_ms(tau_free_ms, tau_dye_ms, target_c)
        self.total_uM = target + (self.total_uM - target) * np.exp(-duration_ms / tau)


class HeadSodium:
    """Free Na (mM) of every imaged head; linear, integrated exactly per sample."""

    def __init__(self, rest_mM: float, n_heads: int):
        self.rest_mM = rest_mM
        self.na_mM = np.full(n_heads, rest_mM)

    def at_rest(self, tol_mM: float = 1e-9) -> bool:
        """True when every head is at resting Na."""
        return bool(np.max(np.abs(self.na_mM - self.rest_mM)) < tol_mM)

    def advance(self, influx_mM_per_ms: np.ndarray, dt_ms: float, tau_ms: np.ndarray) -> np.ndarray:
        """Advance by len(influx) samples; returns Na at the start of each sample, shape (m, n)."""
        if not np.any(influx_mM_per_ms) and np.max(np.abs(self.na_mM - self.rest_mM)) < 1e-9:
            return np.full(influx_mM_per_ms.shape, self.rest_mM)
        rate = np.broadcast_to(1.0 / tau_ms, influx_mM_per_ms.shape)
        target = self.rest_mM + influx_mM_per_ms * tau_ms
        start, self.na_mM = relax(self.na_mM, rate, target, dt_ms)
        return start

    def rest(self, duration_ms: float, tau_ms: np.ndarray) -> None:
        """Relax toward rest over a quiet interval."""
        self.na_mM = self.rest_mM + (self.na_mM - self.rest_mM) * np.exp(-duration_ms / tau_ms)
