"""Kinetics of a transient: 10-90 % rise time, half-decay time, half-width, FWHM of a profile, and a joint
fit of an influx model (shared rise and decay, per-sweep amplitudes) to coarsely sampled transients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import optimize

from rig.analysis.confidence import least_squares_covariance


def _crossing(t: np.ndarray, y: np.ndarray, level: float, start: int, step: int) -> float:
    """Time where y crosses level walking from index start in direction step (linear interpolation)."""
    i = start
    while 0 <= i + step < y.size:
        a, b = y[i], y[i + step]
        if (a - level) * (b - level) <= 0 and a != b:
            frac = (level - a) / (b - a)
            return float(t[i] + frac * (t[i + step] - t[i]))
        i += step
    return float("nan")


def rise_time_10_90(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Time from 10 % to 90 % of the peak on the rising phase."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    peak = y[k]
    return _crossing(t_ms, y, 0.9 * peak, k, -1) - _crossing(t_ms, y, 0.1 * peak, k, -1)


def half_decay_time(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Time from the peak to 50 % of the peak on the decay."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    return _crossing(t_ms, y, 0.5 * y[k], k, 1) - float(t_ms[k])


def half_width(t_ms: np.ndarray, y: np.ndarray, baseline: float = 0.0) -> float:
    """Full width at half maximum of a transient (or of a spatial profile, with t as position)."""
    y = np.asarray(y, float) - baseline
    k = int(np.argmax(y))
    return _crossing(t_ms, y, 0.5 * y[k], k, 1) - _crossing(t_ms, y, 0.5 * y[k], k, -1)


def influx_response(t_ms: np.ndarray, onset_ms: float, tau_rise_ms: float, tau_decay_ms: float) -> np.ndarray:
    """Head concentration after a brief influx ~exp(-t/tau_rise) that leaves with tau_decay: exp(-t/td) - exp(-t/tr).

    Zero before the onset; unnormalised (its amplitude coefficient is the concentration scale).
    """
    s = np.clip(np.asarray(t_ms, float) - onset_ms, 0.0, None)
    return np.where(np.asarray(t_ms, float) > onset_ms, np.exp(-s / tau_decay_ms) - np.exp(-s / tau_rise_ms), 0.0)


@dataclass(frozen=True)
class PairedTransientFit:
    """Influx model fitted jointly to several sweeps: shared kinetics, per-sweep amplitudes and baselines.

    Sweep k: y_k(t) = b_k + sum_i a_ki * influx_response(t, onset_i + delay, tau_rise, tau_decay).
    """

    onsets_ms: tuple[float, ...]
    delay_ms: float
    tau_rise_ms: float
    tau_decay_ms: float
    tau_decay_log_sd: float  # SD of ln(tau_decay) from the fit's covariance (nan if undetermined)
    amplitudes: np.ndarray  # (sweeps, stimuli)
    amplitude_sd: np.ndarray  # (sweeps, stimuli)
    baselines: np.ndarray  # (sweeps,)
    residual_sd: float
    converged: bool
    message: str
    rise_log_sd: float = float("nan")  # SD of ln(10-90 % rise time of the mean response)
    half_decay_log_sd: float = float("nan")  # SD of ln(half-decay time of the mean response)

    def curve(self, t_ms: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
        """The change from baseline for one set of per-stimulus amplitudes."""
        basis = _basis(np.asarray(t_ms, float), self.onsets_ms, self.delay_ms, self.tau_rise_ms, self.tau_decay_ms)
        return basis @ np.asarray(amplitudes, float)

    def peak(self, amplitudes: np.ndarray, fine_step_ms: float = 0.05) -> float:
        """Peak change from baseline of the continuous model (not limited to the sampled frames)."""
        t = self._fine(fine_step_ms)
        return float(np.max(self.curve(t, amplitudes)))

    def peak_time_ms(self, amplitudes: np.ndarray, fine_step_ms: float = 0.05) -> float:
        """Time (ms) of the continuous model's peak."""
        t = self._fine(fine_step_ms)
        return float(t[int(np.argmax(self.curve(t, amplitudes)))])

    def kinetics(self, amplitudes: np.ndarray, fine_step_ms: float = 0.05) -> tuple[float, float]:
        """(10-90 % rise time, half-decay time) in ms of the continuous model after the last stimulus.

        The grid only brackets the peak and the crossings; each is then solved on the continuous model (the peak
        where its slope is zero, the crossings by root finding), so the times are smooth functions of the
        parameters. On the grid alone the peak moves in whole steps, and the finite differences of the delta
        method (`_kinetics_log_sd`) read those jumps as slopes."""
        a = np.asarray(amplitudes, float)
        t = self._fine(fine_step_ms)
        y = self.curve(t, a)
        k = int(np.argmax(y))
        t_peak = self._peak_near(t, k, a)
        y_peak = float(self.curve(np.array([t_peak]), a)[0])
        if not y_peak > 0:
            return float("nan"), float("nan")
        k = int(np.searchsorted(t, t_peak))  # first grid point at or after the peak
        t10 = self._crossing(t, y, a, 0.1 * y_peak, min(k, t.size - 1), -1, t_peak)
        t90 = self._crossing(t, y, a, 0.9 * y_peak, min(k, t.size - 1), -1, t_peak)
        t50 = self._crossing(t, y, a, 0.5 * y_peak, max(k - 1, 0), 1, t_peak)
        return t90 - t10, t50 - t_peak

    def _peak_near(self, t: np.ndarray, k: int, amplitudes: np.ndarray) -> float:
        """Time of the model's maximum next to grid point k: the zero of its analytic slope (the grid point if the
        slope does not change sign there, e.g. a maximum at the grid's end)."""
        def slope(x: float) -> float:
            total = 0.0
            for on, amp in zip(self.onsets_ms, amplitudes):
                d = x - (on + self.delay_ms)
                if d > 0:
                    total += amp * (math.exp(-d / self.tau_rise_ms) / self.tau_rise_ms
                                    - math.exp(-d / self.tau_decay_ms) / self.tau_decay_ms)
            return total

        lo, hi = float(t[max(k - 1, 0)]), float(t[min(k + 1, t.size - 1)])
        if slope(lo) > 0 > slope(hi):
            return float(optimize.brentq(slope, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps))
        return float(t[k])

    def _crossing(self, t: np.ndarray, y: np.ndarray, amplitudes: np.ndarray, level: float, start: int,
                  step: int, t_peak: float) -> float:
        """Time where the model crosses level, walking the grid from index start in direction step (nan if it
        does not), solved on the continuous model within the bracketing grid interval."""
        i = start
        while 0 <= i + step < y.size:
            a, b = float(y[i]), float(y[i + step])
            if (a - level) * (b - level) <= 0 and a != b:
                lo, hi = sorted((float(t[i]), float(t[i + step])))
                lo, hi = (max(lo, t_peak), hi) if step > 0 else (lo, min(hi, t_peak))

                def gap(x: float) -> float:
                    return float(self.curve(np.array([x]), amplitudes)[0]) - level

                if gap(lo) * gap(hi) > 0:  # the bracket clipped at the peak: the grid's crossing
                    frac = (level - a) / (b - a)
                    return float(t[i] + frac * (t[i + step] - t[i]))
                return float(optimize.brentq(gap, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps))
            i += step
        return float("nan")

    def _fine(self, step_ms: float) -> np.ndarray:
        start = min(self.onsets_ms) + self.delay_ms
        return np.arange(start, max(self.onsets_ms) + self.delay_ms + 12.0 * self.tau_decay_ms, step_ms)


def _basis(t: np.ndarray, onsets_ms: tuple[float, ...], delay_ms: float, tau_rise_ms: float,
           tau_decay_ms: float) -> np.ndarray:
    """Columns: the influx response to each stimulus."""
    return np.column_stack([influx_response(t, on + delay_ms, tau_rise_ms, tau_decay_ms) for on in onsets_ms])


def fit_paired_transients(times_ms: Sequence[np.ndarray], traces: Sequence[np.ndarray], onsets_ms: Sequence[float],
                          max_delay_ms: float = 3.0, tau_rise_bounds_ms: tuple[float, float] = (0.1, 5.0),
                          tau_decay_bounds_ms: tuple[float, float] = (1.0, 2000.0),
                          free_baseline: bool = True, weight_sweeps: bool = True,
                          jackknife: bool = True) -> PairedTransientFit:
    """Fit the influx model to every sweep at once (variable projection: linear amplitudes solved exactly).

    Shared: delay after each stimulus, rise and decay time constants; per sweep: a baseline and one
    amplitude per stimulus. Fitting the model to the samples (not taking the largest sample) recovers the
    peak and the half-decay of a transient sampled coarser than its rise. NaN samples (dropped frames) are
    skipped. Without `free_baseline` every sweep's baseline is 0 (traces already referred to their pre-stimulus
    mean): a decay longer than the sweep then cannot trade against a baseline offset.

    With `weight_sweeps` each sweep is weighted by the inverse of its own residual variance (a first fit gives
    the residuals), so a noisier sweep counts less. The SD of ln(tau_decay) comes from the Jacobian of the
    projected, weighted residuals (Golub-Pereyra); with `jackknife` and three or more sweeps it is at least the
    leave-one-sweep-out jackknife SD, so sweeps that disagree more than their noise allows widen the interval.
    """
    onsets = tuple(float(o) for o in onsets_ms)
    data = []
    for t, y in zip(times_ms, traces):
        t, y = np.asarray(t, float), np.asarray(y, float)
        ok = np.isfinite(y)
        data.append((t[ok], y[ok]))
    n_lin_sweep = int(free_baseline) + len(onsets)
    bounds = ([-0.5, np.log(tau_rise_bounds_ms[0]), np.log(tau_decay_bounds_ms[0])],
              [max_delay_ms, np.log(tau_rise_bounds_ms[1]), np.log(tau_decay_bounds_ms[1])])
    starts = [np.array([0.5, np.log(1.0), np.log(td0)]) for td0 in (10.0, 30.0, 100.0)]
    weights = np.ones(len(data))
    best, coefs, resid = _fit_kinetics(data, onsets, free_baseline, weights, bounds, starts)
    if weight_sweeps and len(data) > 1:
        weights = 1.0 / np.array([_residual_sd(r, t.size - n_lin_sweep) for r, (t, _) in zip(resid, data)])
        weights = weights / np.sqrt(np.mean(weights**2))
        best, coefs, resid = _fit_kinetics(data, onsets, free_baseline, weights, bounds, [best.x])
    n_obs = sum(t.size for t, _ in data)
    dof = max(1, n_obs - len(data) * n_lin_sweep - 3)
    weighted = np.concatenate([w * r for w, r in zip(weights, resid)])
    sigma2 = float(np.sum(weighted**2)) / dof  # variance of a weight-1 sample
    try:
        cov = least_squares_covariance(best.jac, sigma2)
        log_sd = float(np.sqrt(cov[2, 2])) if cov[2, 2] >= 0 else float("nan")
    except np.linalg.LinAlgError:
        log_sd = float("nan")
    delay, tr, td = float(best.x[0]), float(np.exp(best.x[1])), float(np.exp(best.x[2]))
    mean_amplitudes = np.mean([c[1:] for c in coefs], axis=0)
    kinetics_sd = _kinetics_log_sd(onsets, best.x, mean_amplitudes, cov if np.isfinite(log_sd) else None, bounds)
    if jackknife and len(data) >= 3 and np.isfinite(log_sd):
        jack = _jackknife_log_sd(data, onsets, free_baseline, weights, bounds, best.x)
        log_sd = max(log_sd, jack[0])
        kinetics_sd = (max(kinetics_sd[0], jack[1]), max(kinetics_sd[1], jack[2]))
    amp_sd = []
    for (t, _), w in zip(data, weights):  # amplitude SDs at the fitted kinetics, each sweep at its own noise
        design = _design(t, onsets, delay, tr, td, free_baseline)
        try:
            c = least_squares_covariance(design, sigma2) / w**2
            amp_sd.append(np.sqrt(np.clip(np.diag(c)[int(free_baseline):], 0.0, None)))
        except np.linalg.LinAlgError:
            amp_sd.append(np.full(len(onsets), np.nan))
    amplitudes = np.array([c[1:] for c in coefs])
    ok = bool(best.success) and bool(np.any(amplitudes.sum(axis=1) > 0))
    message = "ok" if ok else f"fit did not converge or found no positive response ({best.message})"
    return PairedTransientFit(onsets, delay, tr, td, log_sd, amplitudes, np.array(amp_sd),
                              np.array([c[0] for c in coefs]), float(np.sqrt(sigma2)), ok, message,
                              kinetics_sd[0], kinetics_sd[1])


def _design(t: np.ndarray, onsets: tuple[float, ...], delay: float, tr: float, td: float,
            free_baseline: bool) -> np.ndarray:
    """Linear design of one sweep: a constant (if the baseline is free) and one influx response per stimulus."""
    basis = _basis(t, onsets, delay, tr, td)
    return np.column_stack((np.ones_like(t), basis)) if free_baseline else basis


def _residual_sd(residuals: np.ndarray, dof: int) -> float:
    """RMS residual of one sweep over its degrees of freedom (a floor keeps a perfect fit finite)."""
    rms = float(np.sqrt(np.sum(residuals**2) / max(1, dof)))
    return max(rms, 1e-9)


def _fit_kinetics(data: list[tuple[np.ndarray, np.ndarray]], onsets: tuple[float, ...], free_baseline: bool,
                  weights: np.ndarray, bounds: tuple[list[float], list[float]], starts: list[np.ndarray]
                  ) -> tuple[optimize.OptimizeResult, list[np.ndarray], list[np.ndarray]]:
    """Weighted variable-projection fit of (delay, ln tau_rise, ln tau_decay) from several starts: the best."""

    def solve(p: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        delay, tr, td = float(p[0]), float(np.exp(p[1])), float(np.exp(p[2]))
        coefs, res = [], []
        for t, y in data:
            design = _design(t, onsets, delay, tr, td, free_baseline)
            c, *_ = np.linalg.lstsq(design, y, rcond=None)  # per-sweep weight: same solution
            coefs.append(c if free_baseline else np.concatenate(([0.0], c)))
            res.append(design @ c - y)
        return coefs, res

    def weighted(p: np.ndarray) -> np.ndarray:
        return np.concatenate([w * r for w, r in zip(weights, solve(p)[1])])

    best = None
    for p0 in starts:  # the decay may be anywhere from ms to the sweep length
        res = optimize.least_squares(weighted, np.clip(p0, bounds[0], bounds[1]), bounds=bounds, diff_step=1e-4)
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None
    coefs, resid = solve(best.x)
    return best, coefs, resid


def _log_kinetics(onsets: tuple[float, ...], p: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """ln(rise 10-90 %), ln(half-decay) of the model at parameters p (delay, ln tau_rise, ln tau_decay)."""
    fit = PairedTransientFit(onsets, float(p[0]), float(np.exp(p[1])), float(np.exp(p[2])), float("nan"),
                             amplitudes[None, :], amplitudes[None, :] * 0, np.zeros(1), 0.0, True, "")
    rise, half = fit.kinetics(amplitudes)
    return np.log(np.array([rise, half], float))


def _kinetics_log_sd(onsets: tuple[float, ...], p: np.ndarray, amplitudes: np.ndarray,
                     cov: np.ndarray | None, bounds: tuple[list[float], list[float]]) -> tuple[float, float]:
    """SDs of ln(rise) and ln(half-decay) propagated from the kinetic parameters' covariance (nan without).

    Symmetric sigma points (the unscented transform): along each eigenvector of the covariance the model is
    evaluated one SD either side, inside the fit's bounds, and the half differences add in quadrature. For a
    linear dependence this is the delta method; a parameter the frames do not resolve (a rise faster than the
    frame interval: ln tau_rise with an SD of tens) moves the kinetics only by what its whole bounded range does,
    where the delta method's slope at the fit times that SD read half-decay log-SDs of 26-121 on fits whose
    leave-one-out refits agreed within 10 % (tests/test_paired_transient_kinetics.py)."""
    if cov is None or not np.all(np.isfinite(cov)) or not np.any(amplitudes > 0):
        return float("nan"), float("nan")
    lo, hi = np.asarray(bounds[0], float), np.asarray(bounds[1], float)
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    var = np.zeros(2)
    for value, vector in zip(values, vectors.T):
        if value <= 0:
            continue
        step = math.sqrt(value) * vector
        up = _log_kinetics(onsets, np.clip(p + step, lo, hi), amplitudes)
        down = _log_kinetics(onsets, np.clip(p - step, lo, hi), amplitudes)
        var += (0.5 * (up - down)) ** 2
    sd = np.sqrt(var)
    return float(sd[0]), float(sd[1])


def _jackknife_log_sd(data: list[tuple[np.ndarray, np.ndarray]], onsets: tuple[float, ...],
                      free_baseline: bool, weights: np.ndarray, bounds: tuple[list[float], list[float]],
                      start: np.ndarray) -> tuple[float, float, float]:
    """Leave-one-sweep-out jackknife SDs of ln(tau_decay), ln(rise 10-90 %) and ln(half-decay) of the mean response."""
    n = len(data)
    values = []
    for k in range(n):
        keep = [i for i in range(n) if i != k]
        fit, coefs, _ = _fit_kinetics([data[i] for i in keep], onsets, free_baseline, weights[keep], bounds, [start])
        mean_amplitudes = np.mean([c[1:] for c in coefs], axis=0)
        values.append(np.concatenate(([float(fit.x[2])], _log_kinetics(onsets, fit.x, mean_amplitudes))))
    v = np.array(values)
    sd = np.sqrt((n - 1) / n * np.sum((v - v.mean(axis=0)) ** 2, axis=0))
    return float(sd[0]), float(sd[1]), float(sd[2])
