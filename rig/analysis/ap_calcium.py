"""Calcium transients evoked by APs and EPSPs: Feller paired-AP ratio, per-AP increments, decay,
supralinearity, EPSP amplitudes and the driving-force check."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rig.analysis.calibration import calcium_per_ap_from_ratio as calcium_per_ap_from_ratio  # re-exported
from rig.analysis.calibration import driving_force_ratio, feller_ratio
from rig.analysis.confidence import least_squares_covariance


def _mean_in(t: np.ndarray, y: np.ndarray, start_ms: float, stop_ms: float) -> float:
    sel = (t >= start_ms) & (t < stop_ms)
    if not sel.any():
        raise ValueError(f"no sample between {start_ms:g} and {stop_ms:g} ms")
    return float(np.mean(y[sel]))


@dataclass(frozen=True)
class FellerLevels:
    """Fluorescence before AP1 (F0), after AP1 (F1), before AP2 (F2) and after AP2 (F3)."""

    f0: float
    f1: float
    f2: float
    f3: float

    @property
    def ratio(self) -> float:
        """a = (F3 - F2) / (F1 - F0): below 1 when the indicator saturates (rig.analysis.calibration)."""
        return feller_ratio(self.f0, self.f1, self.f2, self.f3)


def feller_levels(t_ms: np.ndarray, f: np.ndarray, ap1_ms: float, ap2_ms: float, rise_ms: float,
                  window_ms: float) -> FellerLevels:
    """The four levels of a paired-AP trace, each the mean over window_ms.

    F0 just before AP1; F1 from AP1 + rise_ms; F2 just before AP2; F3 from AP2 + rise_ms.
    """
    t, y = np.asarray(t_ms, float), np.asarray(f, float)
    return FellerLevels(_mean_in(t, y, ap1_ms - window_ms, ap1_ms), _mean_in(t, y, ap1_ms + rise_ms,
                        ap1_ms + rise_ms + window_ms), _mean_in(t, y, ap2_ms - window_ms, ap2_ms),
                        _mean_in(t, y, ap2_ms + rise_ms, ap2_ms + rise_ms + window_ms))


def jackknife(values: Sequence[np.ndarray], statistic: Callable[[np.ndarray], float]) -> tuple[float, float]:
    """Statistic of the mean of per-sweep arrays and its jackknife SD (leave one sweep out)."""
    stack = np.asarray(values, float)
    n = stack.shape[0]
    full = statistic(stack.mean(axis=0))
    if n < 2:
        return full, math.nan
    total = stack.sum(axis=0)
    loo = np.array([statistic((total - stack[i]) / (n - 1)) for i in range(n)])
    return full, float(math.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def increments_per_event(t_ms: np.ndarray, f: np.ndarray, onsets_ms: Sequence[float], rise_ms: float,
                         window_ms: float) -> np.ndarray:
    """Step of the signal at each event: mean over [t + rise, t + rise + window) minus the mean just before t."""
    t, y = np.asarray(t_ms, float), np.asarray(f, float)
    return np.array([_mean_in(t, y, on + rise_ms, on + rise_ms + window_ms) - _mean_in(t, y, on - window_ms, on)
                     for on in onsets_ms])


@dataclass(frozen=True)
class DecayFit:
    """Single-exponential decay A exp(-(t - t0)/tau) + c fitted after t0."""

    tau_ms: float
    tau_sd_ms: float
    amplitude: float
    converged: bool


def fit_decay(t_ms: np.ndarray, f: np.ndarray, start_ms: float) -> DecayFit:
    """Least-squares exponential decay (with offset) of the signal after start_ms; tau SD from the Jacobian."""
    t, y = np.asarray(t_ms, float), np.asarray(f, float)
    sel = t >= start_ms
    if sel.sum() < 6:
        raise ValueError("too few samples after the last event to fit a decay")
    tt, yy = t[sel] - start_ms, y[sel]
    span = float(tt[-1]) if tt[-1] > 0 else 1.0

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * np.exp(-tt / np.exp(p[1])) + p[2] - yy

    from scipy import optimize  # lazy: scipy.optimize costs ~0.3 s to import, paid only by a fit

    p0 = np.array([float(yy[0] - yy[-1]), math.log(span / 3), float(yy[-1])])
    res = optimize.least_squares(residuals, p0, bounds=([-np.inf, math.log(0.1), -np.inf],
                                                        [np.inf, math.log(50 * span), np.inf]))
    sigma2 = float(np.sum(res.fun**2)) / max(1, yy.size - 3)
    try:
        cov = least_squares_covariance(res.jac, sigma2)
        tau = float(np.exp(res.x[1]))
        sd = tau * float(math.sqrt(cov[1, 1]))
    except np.linalg.LinAlgError:
        tau, sd = float(np.exp(res.x[1])), math.nan
    ok = bool(res.success) and math.isfinite(sd) and res.x[0] > 0
    return DecayFit(tau, sd, float(res.x[0]), ok)


@dataclass(frozen=True)
class IndexEstimate:
    """A value with its standard error."""

    value: float
    se: float


def supralinearity_index(paired: np.ndarray, epsp_alone: np.ndarray, ap_alone: np.ndarray) -> IndexEstimate:
    """mean(paired) / (mean(EPSP alone) + mean(AP alone)), SE by the delta method (independent sweeps)."""
    p, e, a = (np.asarray(x, float) for x in (paired, epsp_alone, ap_alone))
    if min(p.size, e.size, a.size) < 2:
        raise ValueError("each condition needs at least 2 sweeps")
    s = e.mean() + a.mean()
    if s <= 0:
        raise ValueError("the sum of the single responses is not positive")
    var_p, var_s = p.var(ddof=1) / p.size, e.var(ddof=1) / e.size + a.var(ddof=1) / a.size
    index = p.mean() / s
    return IndexEstimate(float(index), float(math.sqrt(var_p / s**2 + p.mean() ** 2 * var_s / s**4)))


def epsp_amplitude_mV(v_mV: np.ndarray, sample_rate_hz: float, stimulus_ms: float, baseline_ms: float,
                      window_ms: tuple[float, float]) -> tuple[float, float]:
    """(peak depolarization after the stimulus minus the baseline mean, baseline mean) of a CC voltage record."""
    v = np.asarray(v_mV, float)
    k = sample_rate_hz / 1000.0
    b0, b1 = int(round((stimulus_ms - baseline_ms) * k)), int(round(stimulus_ms * k))
    w0, w1 = int(round((stimulus_ms + window_ms[0]) * k)), int(round((stimulus_ms + window_ms[1]) * k))
    if b0 < 0 or w1 > v.size or b1 <= b0 or w1 <= w0:
        raise ValueError("baseline or response window outside the sweep")
    base = float(np.mean(v[b0:b1]))
    return float(np.max(v[w0:w1]) - base), base


@dataclass(frozen=True)
class DrivingForceCheck:
    """Measured vs expected scaling of a synaptic response at a hyperpolarized potential."""

    measured_ratio: float
    expected_ratio: float
    v_rest_mV: float
    v_hyp_mV: float

    @property
    def excess(self) -> float:
        """measured / expected: above 1 when something (a voltage-gated channel) boosts the response."""
        return self.measured_ratio / self.expected_ratio


def driving_force_check(response_rest: float, response_hyp: float, v_rest_mV: float, v_hyp_mV: float,
                        e_syn_mV: float) -> DrivingForceCheck:
    """Compare response_hyp/response_rest with (E_syn - V_hyp)/(E_syn - V_rest) (SCIENCE.md, section 4)."""
    if response_rest == 0:
        raise ValueError("no response at rest to compare with")
    return DrivingForceCheck(response_hyp / response_rest, driving_force_ratio(e_syn_mV, v_hyp_mV, v_rest_mV),
                             v_rest_mV, v_hyp_mV)


@dataclass(frozen=True)
class LinearTrend:
    """Ordinary least-squares line of per-sweep values on sweep number (0-based sweeps of the step)."""

    slope: float  # per sweep
    p_value: float  # two-sided, Student t on n - 2 df
    first: float  # the line at the first sweep
    last: float  # the line at the last sweep (the present value)
    last_se: float
    n: int


def linear_trend(values: Sequence[float]) -> LinearTrend | None:
    """The OLS line through per-sweep values (scipy.stats.linregress) with the SE of its value at the last sweep;
    None with fewer than 6 finite values (a slope from a few noisy sweeps says little)."""
    y = np.asarray(values, float)
    x = np.arange(y.size, dtype=float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if y.size < 6 or np.ptp(y) == 0:
        return None
    from scipy import stats  # lazy: scipy.stats costs ~0.5 s to import (simulated_devices.response_truth imports us)

    fit = stats.linregress(x, y)
    resid = y - (fit.intercept + fit.slope * x)
    s2 = float(np.sum(resid**2)) / (y.size - 2)
    xl = float(x[-1])
    se_last = math.sqrt(s2 * (1.0 / y.size + (xl - x.mean()) ** 2 / float(np.sum((x - x.mean()) ** 2))))
    return LinearTrend(float(fit.slope), float(fit.pvalue), float(fit.intercept + fit.slope * x[0]),
                       float(fit.intercept + fit.slope * xl), se_last, int(y.size))
