"""Peak head depolarization from fCaT: invert the NMDA Mg block and the Ca influx it implies (pure)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rig.model.biophysics import nmda_unblocked_fraction
from rig.model.neck_resistance import Interval


@dataclass(frozen=True)
class FcatModel:
    """What the inversion assumes: the NMDA conductance and head depolarization time courses, Mg, E_Ca.

    NMDA Ca influx is g(t) B(V) (E_Ca - V), B(V) = 1/(1 + [Mg]/3.57 exp(-0.062 V)) (Jahr & Stevens 1990,
    rig.model.biophysics). The head potential is V(t) = V_rest + dV * s(t) with s a unit-peak difference of exponentials that follows the NMDA
    conductance (rise `depolarization_tau_rise_ms`, decay `depolarization_tau_decay_ms`, slower than g
    because the unblocked NMDA current sustains itself). Only depolarization during the NMDA conductance
    moves fCaT: a 2 ms AMPA peak of 24 mV changes it by < 0.005 (docs/specimen.md, "fCaT physics"), so
    dV is the peak of the sustained (NMDA-driven) head depolarization. At the reversal the head sits
    at V_rev. fCaT is a ratio of CaT peaks: each influx is convolved with the Ca decay exp(-t/ca_decay_ms)
    (the measured tau_decay) and the peaks divided; without ca_decay_ms it is the ratio of the influx
    integrals, int g B(V)(E_Ca - V) dt / (B(V_rev)(E_Ca - V_rev) int g dt). Voltage-gated Ca entry is
    ignored.
    """

    rest_mV: float = -70.0
    reversal_mV: float = 0.0
    mg_mM: float = 1.0
    e_ca_mV: float = 130.0
    nmda_tau_rise_ms: float = 13.0
    nmda_tau_decay_ms: float = 70.0
    depolarization_tau_rise_ms: float = 10.0
    depolarization_tau_decay_ms: float = 90.0
    ca_decay_ms: float | None = None

    def describe(self) -> str:
        """One line stating every assumption."""
        return (f"NMDA Ca influx g B(V)(E_Ca-V), B = 1/(1+[Mg]/3.57 exp(-0.062V)), [Mg]={self.mg_mM:g} mM, "
                f"E_Ca={self.e_ca_mV:g} mV; NMDA g rise/decay {self.nmda_tau_rise_ms:g}/{self.nmda_tau_decay_ms:g} ms; "
                f"head depolarization rise/decay {self.depolarization_tau_rise_ms:g}/"
                f"{self.depolarization_tau_decay_ms:g} ms from V_rest={self.rest_mV:g} mV; "
                f"reference head potential V_rev={self.reversal_mV:g} mV; "
                + (f"CaT peaks with Ca decay {self.ca_decay_ms:.0f} ms; " if self.ca_decay_ms else "Ca entry integrals; ")
                + "voltage-gated Ca entry ignored")


def _dexp(t: np.ndarray, rise: float, decay: float) -> np.ndarray:
    if math.isclose(rise, decay):
        decay = rise * 1.0001
    shape = np.exp(-t / decay) - np.exp(-t / rise)
    return shape / shape.max()


def predicted_fcats(model: FcatModel, peaks_mV: np.ndarray) -> np.ndarray:
    """fCaT the model predicts for each peak head depolarization (mV above rest) of `peaks_mV` (1-d)."""
    dt = 0.05
    t = np.arange(0.0, 8 * max(model.nmda_tau_decay_ms, model.depolarization_tau_decay_ms), dt)
    g = _dexp(t, model.nmda_tau_rise_ms, model.nmda_tau_decay_ms)
    shape = _dexp(t, model.depolarization_tau_rise_ms, model.depolarization_tau_decay_ms)
    v = model.rest_mV + np.asarray(peaks_mV, float)[:, None] * shape[None, :]
    influx = g * nmda_unblocked_fraction(v, model.mg_mM) * (model.e_ca_mV - v)
    reference = (g * float(nmda_unblocked_fraction(model.reversal_mV, model.mg_mM))
                 * (model.e_ca_mV - model.reversal_mV))
    if not model.ca_decay_ms:
        return np.asarray(influx.sum(axis=1) / reference.sum(), float)
    from scipy import signal  # here, not at module level: the simulated rig's truth imports this module (~1 s)

    decay = math.exp(-dt / model.ca_decay_ms)  # Ca(t) = influx * exp(-t/tau): a first-order recursive filter
    return np.asarray(signal.lfilter([1.0], [1.0, -decay], influx, axis=1).max(axis=1)
                      / signal.lfilter([1.0], [1.0, -decay], reference).max(), float)


def predicted_fcat(model: FcatModel, peak_mV: float) -> float:
    """fCaT the model predicts for a peak head depolarization of peak_mV above rest."""
    return float(predicted_fcats(model, np.array([peak_mV]))[0])


INVERSION_STEP_MV = 1.0  # the table `depolarization_of_fcat` interpolates in


@functools.lru_cache(maxsize=8)  # the fCaT step asks every sweep; its model changes only with the fitted decay
def depolarization_of_fcat(model: FcatModel, max_mV: float | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The inverse of `predicted_fcats` as a vectorized function: fCaT values (inf allowed) to peak head
    depolarizations, clamped at 0 (at or below the resting head's fCaT) and max_mV (default V_rev - V_rest);
    linear in a table of INVERSION_STEP_MV (fCaT(dV) is smooth: within 0.01 mV of brentq,
    tests/test_release_distribution.py)."""
    top = max_mV if max_mV is not None else model.reversal_mV - model.rest_mV
    peaks = np.linspace(0.0, top, max(2, int(math.ceil(top / INVERSION_STEP_MV)) + 1))
    fcats = np.maximum.accumulate(predicted_fcats(model, peaks))  # monotone for np.interp

    def invert(fcat: np.ndarray) -> np.ndarray:
        f = np.asarray(fcat, float)
        return np.interp(np.where(np.isnan(f), -np.inf, f), fcats, peaks)

    return invert


@dataclass(frozen=True)
class HeadDepolarization:
    """The estimate with its interval, and where the fCaT interval fell outside what the model can produce."""

    estimate: Interval
    note: str


def head_depolarization(fcat: Interval, model: FcatModel, max_mV: float | None = None) -> HeadDepolarization:
    """Invert fCaT (value and interval ends) into the peak head depolarization; clamps at 0 and max_mV."""
    from scipy import optimize

    top = max_mV if max_mV is not None else model.reversal_mV - model.rest_mV
    f_low_end, f_high_end = predicted_fcat(model, 0.0), predicted_fcat(model, top)
    notes = []

    def invert(f: float, label: str) -> float:
        if not math.isfinite(f) or f <= f_low_end:
            if label == "value":
                notes.append(f"fCaT {f:.3g} is at or below {f_low_end:.3g}, the model's value for a head at rest")
            return 0.0
        if f >= f_high_end:
            if label == "value":
                notes.append(f"fCaT {f:.3g} is at or above {f_high_end:.3g}, the model's value at {top:g} mV")
            return top
        return float(optimize.brentq(lambda dv: predicted_fcat(model, dv) - f, 0.0, top, xtol=1e-3))

    value = invert(fcat.value, "value")
    low, high = invert(fcat.low, "low"), invert(fcat.high, "high")
    return HeadDepolarization(Interval(value, min(low, value), max(high, value), "mV"), "; ".join(notes))
