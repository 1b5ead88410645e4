"""Calcium-transient templates: a difference of two exponentials fitted to an average, scaled to each trial."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from rig.analysis.confidence import least_squares_covariance


def difference_of_exponentials(t_ms: np.ndarray, onset_ms: float, tau_rise_ms: float, tau_decay_ms: float
                               ) -> np.ndarray:
    """Unit-peak shape (exp(-t/tau_decay) - exp(-t/tau_rise)) normalised to a peak of 1, zero before onset."""
    t = np.asarray(t_ms, float) - onset_ms
    if tau_decay_ms <= tau_rise_ms:
        tau_decay_ms = tau_rise_ms * (1 + 1e-6)
    t_peak = tau_rise_ms * tau_decay_ms / (tau_decay_ms - tau_rise_ms) * np.log(tau_decay_ms / tau_rise_ms)
    peak = np.exp(-t_peak / tau_decay_ms) - np.exp(-t_peak / tau_rise_ms)
    shape = np.where(t > 0, np.exp(-np.clip(t, 0, None) / tau_decay_ms) - np.exp(-np.clip(t, 0, None) / tau_rise_ms),
                     0.0)
    return shape / peak


@dataclass(frozen=True)
class TransientTemplate:
    """A fitted template: onset, rise and decay time constants, amplitude of the fitted average."""

    onset_ms: float
    tau_rise_ms: float
    tau_decay_ms: float
    tau_decay_sd_ms: float
    amplitude: float
    converged: bool
    message: str

    def shape(self, t_ms: np.ndarray) -> np.ndarray:
        """The unit-peak template on a time axis."""
        return difference_of_exponentials(t_ms, self.onset_ms, self.tau_rise_ms, self.tau_decay_ms)


def fit_template(t_ms: np.ndarray, mean_response: np.ndarray, stimulus_ms: float,
                 min_decay_to_rise: float | None = None) -> TransientTemplate:
    """Fit a difference of exponentials (with baseline offset) to an averaged response by least squares.

    With `min_decay_to_rise`, tau_decay >= min_decay_to_rise * tau_rise is enforced: for coarsely
    sampled responses the fit otherwise slides to tau_rise == tau_decay, where it is degenerate.
    """
    t = np.asarray(t_ms, float)
    y = np.asarray(mean_response, float)
    base = float(np.mean(y[t < stimulus_ms])) if np.any(t < stimulus_ms) else 0.0
    after = t >= stimulus_ms
    if after.sum() < 6:
        raise ValueError("too few samples after the stimulus to fit a template")
    peak_guess = float(np.max(y[after]) - base)
    if peak_guess <= 0:
        return TransientTemplate(stimulus_ms, np.nan, np.nan, np.nan, 0.0, False, "no positive response to fit")
    span = float(t[-1] - stimulus_ms)
    ratio = min_decay_to_rise

    def taus(p: np.ndarray) -> tuple[float, float]:
        rise = float(np.exp(p[2]))
        decay = rise * (ratio + float(np.exp(p[3]))) if ratio is not None else float(np.exp(p[3]))
        return rise, decay

    def residuals(p: np.ndarray) -> np.ndarray:
        rise, decay = taus(p)
        return p[4] + p[0] * difference_of_exponentials(t, p[1], rise, decay) - y

    rise0, decay0 = max(span / 50, 0.5), max(span / 4, 2.0)
    fourth = np.log(decay0) if ratio is None else np.log(max(decay0 / rise0 - ratio, 0.1))
    p0 = np.array([peak_guess, stimulus_ms, np.log(rise0), fourth, base])
    lower = [0.0, stimulus_ms - 5, np.log(0.05), np.log(0.5) if ratio is None else np.log(1e-3), -np.inf]
    upper = [np.inf, stimulus_ms + 20, np.log(span), np.log(20 * span) if ratio is None else np.log(1e3), np.inf]
    try:
        res = optimize.least_squares(residuals, p0, bounds=(lower, upper), x_scale="jac")
    except ValueError as exc:
        return TransientTemplate(stimulus_ms, np.nan, np.nan, np.nan, 0.0, False, f"fit failed: {exc}")
    rise, decay = taus(res.x)
    dof = max(1, y.size - 5)
    sigma2 = float(np.sum(res.fun**2)) / dof
    sd_amplitude = np.nan
    try:
        cov = least_squares_covariance(res.jac, sigma2)
        sd_amplitude = float(np.sqrt(cov[0, 0])) if cov[0, 0] >= 0 else np.nan
        # d(decay)/d(p2, p3) for the SD of tau_decay (delta method)
        if ratio is None:
            grad = np.array([0.0, 0.0, 0.0, decay, 0.0])
        else:
            grad = np.array([0.0, 0.0, decay, rise * float(np.exp(res.x[3])), 0.0])
        variance = float(grad @ cov @ grad)
        sd_decay = float(np.sqrt(variance)) if variance >= 0 else np.nan  # numerically indefinite: undetermined
    except np.linalg.LinAlgError:
        sd_decay = np.nan
    # The template's shape is what scaling needs; an undetermined tau_decay SD (e.g. a decay longer than
    # the sweep) leaves sd_decay NaN and is the caller's business, not a failed fit.
    ok = bool(res.success) and res.x[0] > 0 and math.isfinite(rise) and math.isfinite(decay)
    # A response must stand out of the noise of the average (amplitude > 2 SD), or there is no template.
    significant = math.isfinite(sd_amplitude) and res.x[0] > 2.0 * sd_amplitude
    if ok and not significant:
        ok = False
        message = "no response: the fitted amplitude is within 2 SD of zero"
    elif not ok:
        message = f"template fit did not converge ({res.message})"
    elif not np.isfinite(sd_decay):
        message = "ok; tau_decay undetermined (decay not resolved within the sweep?)"
    else:
        message = "ok"
    return TransientTemplate(float(res.x[1]), rise, decay, sd_decay, float(res.x[0]), ok, message)


def scale_template(template: TransientTemplate, t_ms: np.ndarray, response: np.ndarray, stimulus_ms: float
                   ) -> tuple[float, float]:
    """Amplitude (and its SD) of the template in one trial: linear least squares with a baseline offset."""
    shape = template.shape(t_ms)
    design = np.column_stack((np.ones_like(shape), shape))
    coef, residual, *_ = np.linalg.lstsq(design, np.asarray(response, float), rcond=None)
    dof = max(1, len(shape) - 2)
    sigma2 = float(residual[0]) / dof if residual.size else float(np.var(response - design @ coef))
    cov = least_squares_covariance(design, sigma2)
    return float(coef[1]), float(np.sqrt(cov[1, 1]))


@dataclass(frozen=True)
class CalciumDecayFit:
    """The Ca decay time constant under a known influx time course, with its SD (NaN: undetermined)."""

    tau_ms: float
    tau_sd_ms: float
    converged: bool
    message: str
    onset_ms: float = math.nan
    amplitude: float = math.nan  # peak of the fitted CaT above its baseline
    amplitude_sd: float = math.nan


def _influx_convolved_with_decay(t: np.ndarray, influx_rise_ms: float, influx_decay_ms: float,
                                 tau_ms: float) -> np.ndarray:
    """(exp(-t/d) - exp(-t/r)) convolved with exp(-t/tau), unnormalised, 0 for t <= 0."""
    tc = np.clip(t, 0.0, None)

    def kernel(a: float) -> np.ndarray:
        rate = 1.0 / a - 1.0 / tau_ms
        if abs(rate) < 1e-9:
            return tc * np.exp(-tc / tau_ms)
        return (np.exp(-tc / tau_ms) - np.exp(-tc / a)) / rate

    return np.where(t > 0, kernel(influx_decay_ms) - kernel(influx_rise_ms), 0.0)


def influx_decay_shape(t_ms: np.ndarray, onset_ms: float, influx_rise_ms: float, influx_decay_ms: float,
                       tau_ms: float) -> np.ndarray:
    """Unit-peak CaT of an influx (difference of exponentials) convolved with one Ca decay exp(-t/tau), from onset."""
    t = np.asarray(t_ms, float)
    fine = np.arange(0.0, 10 * max(tau_ms, influx_decay_ms), 0.05)
    peak = float(np.max(_influx_convolved_with_decay(fine, influx_rise_ms, influx_decay_ms, tau_ms)))
    return _influx_convolved_with_decay(t - onset_ms, influx_rise_ms, influx_decay_ms, tau_ms) / peak


@dataclass(frozen=True)
class InfluxTemplate:
    """A fixed-shape CaT template: a known influx time course convolved with one Ca decay (unit peak)."""

    onset_ms: float
    influx_rise_ms: float
    influx_decay_ms: float
    tau_decay_ms: float
    source: str  # how the shape was found, for the estimates' basis

    def shape(self, t_ms: np.ndarray) -> np.ndarray:
        """The unit-peak template on a time axis."""
        return influx_decay_shape(t_ms, self.onset_ms, self.influx_rise_ms, self.influx_decay_ms, self.tau_decay_ms)


def scale_shape(shape: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Least-squares amplitude of a unit-peak shape in one trial (or each column of a lines x trials array),
    with a baseline offset; linear in the trial."""
    design = np.column_stack((np.ones_like(shape), shape))
    coef, *_ = np.linalg.lstsq(design, np.asarray(response, float), rcond=None)
    return coef[1]


def fit_calcium_decay_known_influx(t_ms: np.ndarray, mean_response: np.ndarray, stimulus_ms: float,
                                   influx_rise_ms: float, influx_decay_ms: float) -> CalciumDecayFit:
    """Fit tau of a CaT whose influx has a known difference-of-exponentials time course (e.g. NMDA at a fixed
    potential) convolved with one Ca decay: free amplitude, onset, tau and baseline (least squares).

    A free two-exponential template puts its decay between the influx decay and the Ca decay when the two
    are comparable (NMDA 70 ms against 100-200 ms here); fixing the influx removes that bias.
    """
    t = np.asarray(t_ms, float)
    y = np.asarray(mean_response, float)
    base = float(np.mean(y[t < stimulus_ms])) if np.any(t < stimulus_ms) else 0.0
    after = t >= stimulus_ms
    if after.sum() < 6:
        return CalciumDecayFit(np.nan, np.nan, False, "too few samples after the stimulus")
    peak_guess = float(np.max(y[after]) - base)
    if peak_guess <= 0:
        return CalciumDecayFit(np.nan, np.nan, False, "no positive response to fit")
    span = float(t[-1] - stimulus_ms)

    def model(p: np.ndarray) -> np.ndarray:
        shape = _influx_convolved_with_decay(t - p[1], influx_rise_ms, influx_decay_ms, float(np.exp(p[2])))
        peak = float(np.max(shape)) if np.max(shape) > 0 else 1.0
        return p[3] + p[0] * shape / peak

    p0 = np.array([peak_guess, stimulus_ms, np.log(max(span / 3, 5.0)), base])
    lower = [0.0, stimulus_ms - 5, np.log(1.0), -np.inf]
    upper = [np.inf, stimulus_ms + 10, np.log(20 * span), np.inf]
    try:
        res = optimize.least_squares(lambda p: model(p) - y, p0, bounds=(lower, upper), x_scale="jac")
    except ValueError as exc:
        return CalciumDecayFit(np.nan, np.nan, False, f"fit failed: {exc}")
    tau = float(np.exp(res.x[2]))
    sigma2 = float(np.sum(res.fun**2)) / max(1, y.size - 4)
    try:
        cov = least_squares_covariance(res.jac, sigma2)
        sd_log = float(np.sqrt(cov[2, 2])) if cov[2, 2] >= 0 else np.nan
    except np.linalg.LinAlgError:
        sd_log = np.nan
    ok = bool(res.success) and res.x[0] > 0 and math.isfinite(sd_log)
    amp_sd = float(np.sqrt(cov[0, 0])) if ok and cov[0, 0] >= 0 else np.nan
    return CalciumDecayFit(tau, tau * sd_log if math.isfinite(sd_log) else np.nan, ok,
                           "ok" if ok else f"Ca decay fit did not converge ({res.message})",
                           float(res.x[1]), float(res.x[0]), amp_sd)
