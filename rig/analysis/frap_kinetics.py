"""FRAP with acquisition bleaching: a joint Poisson maximum-likelihood fit of baseline and recovery.

Head fluorophore f (unbleached fraction) exchanges with the dendrite (time constant tau) and
is bleached by the imaging beam (rate k_i):  df/dt = (1 - f)/tau - k_i f  (the well-mixed head
of Svoboda, Tank & Denk 1996, with first-order photobleaching).
Under imaging f relaxes with rate lambda = (1 + q)/tau towards f_inf = 1/(1 + q), q = k_i tau.
Baseline lines start from f = f_start (1 after full recovery in the dark before the sweep); the
bleach drops f to f_b; counts per line are Poisson with mean dark + H f (dark measured).

Why joint: the recovery alone relaxes at lambda, so a recovery-only fit returns 1/lambda, short of
tau by the factor 1/(1 + q). What separates tau from k_i is the level the recovery heads for
(f_inf) against the pre-bleach level H (the baseline), so the baseline enters the same likelihood.
k_i is left free per sweep: it is set by the power, the scan and the head's place on the line, and no
other signal fixes it (the dendrite is a reservoir the beam does not deplete, so a reference region there
shows illumination, not k_i; the bleach pulse's depth gives k_i only through the unknown multiphoton
order of bleaching and the scan's dwell on the head). What fixes it is the baseline: the head's level
at f = 1 against the level the recovery heads for. k_i is not constrained to >= 0: the unconstrained
maximum-likelihood estimate is asymptotically normal, so the Wald interval of log tau from the full 4x4
Fisher information (k_i's uncertainty included) covers at its level (the earlier fit bounded k_i at 0 and
dropped it from the information at the bound). Where log tau is far from normal (recovery shorter than half a tau, or a
Wald SD of log tau above 0.3) the interval is the profile-likelihood one, every other parameter re-fitted
at each tau; a sweep whose interval spans more than MAX_INTERVAL_RATIO gives no tau.
Validated design (benchmarks/bench_frap_fit.py, tests/test_frap_study.py): recoveries of >= 3 tau.

The fit is Fisher scoring (Gauss-Newton for Poisson) with analytic derivatives from a cheap start
(a grid over the relaxation rate on binned recovery data with the two amplitudes by linear least
squares): a sweep costs less than one `scipy.optimize.curve_fit` of an exponential on the same data
(benchmarks/bench_frap_fit.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.analysis.confidence import two_sided_z

MAX_INTERVAL_RATIO = 10.0  # a sweep whose tau interval spans more than this factor carries no estimate
MIN_BLEACHED_FRACTION = 0.02  # a smaller drop is no bleach
_N_RATES = 32  # relaxation rates tried for the start
_N_BINS = 40  # the start fits binned recovery data
_PROFILE_TOL = 0.002  # profile limits to this in log tau
PROFILE_BELOW_RECOVERY_TAUS = 0.5  # recoveries shorter than this many tau get the profile-likelihood interval
PROFILE_ABOVE_SD = 0.3  # and so do fits whose Wald SD of log tau exceeds this
_MIN_EXPONENT = -300.0  # exp() below this is 0 for the fit; keeps products out of (slow) subnormal numbers
_DECREMENT_TOL = 1e-2  # last step when 2 NLL can drop by less than this (its statistical scale is 1)


@dataclass(frozen=True)
class FrapKineticFit:
    """tau with its interval, the imaging bleach rate, and fit diagnostics."""

    tau_ms: float
    tau_low_ms: float
    tau_high_ms: float
    imaging_bleach_per_ms: float
    fraction_bleached: float
    head_counts_per_line: float
    deviance_per_dof: float
    converged: bool
    message: str
    iterations: int = 0
    log_tau_sd: float = math.nan
    end_fraction: float = math.nan  # unbleached fraction at the last post-bleach line (model)
    profiled: bool = False  # the interval is the profile-likelihood one (short recovery or wide interval)
    theta: tuple[float, float, float, float] = (math.nan,) * 4  # (log H, f_b, log tau, q = k_i tau) at the optimum


class _Model:
    """Mean counts and their derivatives for theta = (log H, f_b, log tau, q), baseline and recovery as one series."""

    def __init__(self, t_base: np.ndarray, t_post: np.ndarray, dark: float, f_start: float):
        self.t = np.concatenate((t_base, t_post))
        self.post = np.zeros(self.t.size)
        self.post[t_base.size:] = 1.0
        self.start = (1.0 - self.post) * f_start  # g0 = start + f_b * post: where each line's relaxation began
        self.dark = dark
        self.jac_t = np.empty((4, self.t.size))  # the Jacobian transposed: one contiguous row per parameter
        self._e = self._amp = self._g = np.empty(0)

    def mean(self, theta: np.ndarray) -> np.ndarray:
        """Mean counts per line at theta (keeps the pieces `jacobian_t` reuses)."""
        log_h, f_b, log_tau, q = theta
        phi = 1.0 / (1.0 + q)
        self._e = e = np.exp(np.maximum(self.t * (-(1.0 + q) / math.exp(log_tau)), _MIN_EXPONENT))
        self._amp = amp = self.start + f_b * self.post
        amp -= phi  # g0 - f_inf
        self._g = g = amp * e
        g += phi
        mu = g * math.exp(log_h)
        mu += self.dark
        return mu

    def jacobian_t(self, theta: np.ndarray) -> np.ndarray:
        """d mean / d theta transposed, (4, n), at the theta of the last `mean` call."""
        log_h, _, log_tau, q = theta
        h = math.exp(log_h)
        tau = math.exp(log_tau)
        lam = (1.0 + q) / tau
        phi = 1.0 / (1.0 + q)
        e = self._e
        # g = f_inf + (g0 - f_inf) E, E = exp(-lam t): dg/dlam = -(g0 - f_inf) t E, dlam/dlog tau = -lam,
        # dlam/dq = 1/tau, df_inf/dq = -f_inf^2.
        jt = self.jac_t
        dgl = np.multiply(self.t, self._amp, out=jt[2])
        dgl *= e  # = -dg/dlam
        np.multiply(self._g, h, out=jt[0])
        np.multiply(self.post, e, out=jt[1])
        jt[1] *= h
        np.multiply(e, h * phi * phi, out=jt[3])
        jt[3] -= h * phi * phi
        jt[3] -= (h / tau) * dgl
        dgl *= h * lam
        return jt


def fitted_counts(fit: FrapKineticFit, t_base_ms: np.ndarray, t_post_ms: np.ndarray, dark_counts_per_line: float,
                  start_fraction: float = 1.0) -> np.ndarray:
    """Mean counts per line at a fit's optimum, baseline lines then recovery lines (the curve the fit drew)."""
    model = _Model(np.asarray(t_base_ms, float), np.asarray(t_post_ms, float), float(dark_counts_per_line),
                   float(start_fraction))
    return model.mean(np.asarray(fit.theta, float)).copy()


def _start(yb: np.ndarray, t_post: np.ndarray, yp: np.ndarray, dark: float, f_start: float) -> np.ndarray:
    """A cheap start: H from the baseline; rate and amplitudes of the recovery from a rate grid on binned data."""
    head = max(float(yb.mean()) - dark, 1e-3) / f_start
    n_bins = min(_N_BINS, yp.size)
    per_bin = yp.size // n_bins
    used = n_bins * per_bin
    tb = t_post[:used].reshape(n_bins, per_bin).mean(axis=1)
    ybin = yp[:used].reshape(n_bins, per_bin).mean(axis=1) - dark
    span = max(float(t_post[-1] - t_post[0]), 1e-6)
    dt = span / max(1, t_post.size - 1)
    rates = (0.1 / span) * np.exp(np.arange(_N_RATES) * (math.log(20.0 * span / dt) / (_N_RATES - 1)))
    e = np.exp(np.maximum(np.multiply.outer(rates, tb[0] - tb), _MIN_EXPONENT))  # (rates, bins)
    se, see, sey = e.sum(axis=1), np.einsum("ij,ij->i", e, e), e @ ybin
    sy = float(ybin.sum())
    det = n_bins * see - se * se
    det[det < 1e-12] = 1e-12
    f_inf = (see * sy - se * sey) / det  # y = f_inf + c E, least squares per rate
    c = (n_bins * sey - se * sy) / det
    best = int(np.argmax(f_inf * sy + c * sey))  # the smallest residual sum of squares
    lam = float(rates[best])
    phi = min(max(float(f_inf[best]) / head, 0.4), 1.0)
    f_b = min(max((float(f_inf[best]) + float(c[best]) * math.exp(lam * tb[0])) / head, 0.0), 1.0)
    q = 1.0 / phi - 1.0
    return np.array([math.log(head), f_b, math.log((1.0 + q) / lam), q])


def _nll(y: np.ndarray, mu: np.ndarray) -> float:
    """Poisson negative log-likelihood without the constant log(y!)."""
    return float(mu.sum() - y @ np.log(mu))


@dataclass
class _Optimum:
    """Where a maximisation ended."""

    theta: np.ndarray
    mu: np.ndarray
    nll: float
    fisher: np.ndarray  # information of the free parameters at theta
    converged: bool
    iterations: int


_NUISANCE = np.array([0, 1, 3])  # everything but log tau


def _maximise(model: _Model, y: np.ndarray, theta: np.ndarray, free: np.ndarray | None, max_iterations: int
              ) -> _Optimum:
    """Fisher scoring with step halving over the free parameters (all when None) from theta."""
    theta = theta.copy()
    mu = model.mean(theta)
    nll = _nll(y, mu) if mu.min() > 0 else math.inf
    jac_t = model.jacobian_t(theta)
    if free is not None:
        jac_t = jac_t[free]
    converged = False
    iterations = 0
    fisher = np.eye(jac_t.shape[0])
    for iterations in range(1, max_iterations + 1):
        weighted = jac_t / mu  # J^T diag(1/mu)
        score = weighted @ (y - mu)
        fisher = weighted @ jac_t.T
        try:
            step = np.linalg.solve(fisher, score)
        except np.linalg.LinAlgError:
            break
        if free is not None:
            full = np.zeros(4)
            full[free] = step
            step = full
            decrement = float(score @ step[free])
        else:
            decrement = float(score @ step)  # Newton decrement: about twice the NLL still to gain
        if not decrement >= 0.0:  # NaN or a singular information
            break
        if decrement < _DECREMENT_TOL:
            # Within a small fraction of an SD of the optimum: the last Newton step lands on it (quadratic
            # convergence), and moves the information and the NLL by far less than their statistical scale.
            theta = theta + step
            nll -= decrement / 2
            converged = True
            break
        factor = 1.0
        for _ in range(40):
            trial = theta + factor * step
            if trial[3] > -0.95 and abs(trial[2]) < 50:
                mu_t = model.mean(trial)
                if mu_t.min() > 0:
                    nll_t = _nll(y, mu_t)
                    if nll_t <= nll + 1e-12 * abs(nll):
                        break
            factor *= 0.5
        else:
            break
        theta, mu, nll = trial, mu_t, nll_t
        jac_t = model.jacobian_t(theta)
        if free is not None:
            jac_t = jac_t[free]
    else:
        fisher = (jac_t / mu) @ jac_t.T
    return _Optimum(theta, mu, nll, fisher, converged, iterations)


def _profile_limit(model: _Model, y: np.ndarray, best: _Optimum, cov: np.ndarray, crit: float, direction: float,
                   reach: float) -> float | None:
    """log tau where the profile deviance 2 (NLL_profile - NLL_min) reaches crit on one side, within `reach` of
    the optimum (None when it does not: the data do not bound tau on that side)."""
    s_hat = float(best.theta[2])
    shift = cov[:, 2] / cov[2, 2]  # the nuisance parameters' regression on log tau: a warm start at each s
    cache: dict[float, float] = {}

    def excess(offset: float) -> float:
        if offset not in cache:
            start = best.theta + shift * (direction * offset)  # log tau itself moves by direction * offset
            start[3] = max(start[3], -0.9)
            opt = _maximise(model, y, start, _NUISANCE, 40)
            cache[offset] = 2.0 * (opt.nll - best.nll) - crit if math.isfinite(opt.nll) else math.inf
        return cache[offset]

    low, high = 0.0, min(math.sqrt(crit * cov[2, 2]), reach)
    while excess(high) < 0.0:
        if high >= reach:
            return None
        low, high = high, min(2.0 * high, reach)
    f_low, f_high = -crit, excess(high)
    for _ in range(30):  # Illinois regula falsi on the offset
        if high - low < _PROFILE_TOL or not math.isfinite(f_high):
            break
        mid = high - f_high * (high - low) / (f_high - f_low) if math.isfinite(f_high) else 0.5 * (low + high)
        f_mid = excess(mid)
        if f_mid < 0.0:
            low, f_low = mid, f_mid
            f_high *= 0.5
        else:
            high, f_high = mid, f_mid
            f_low *= 0.5
    return s_hat + direction * 0.5 * (low + high)


def fit_frap_kinetics(t_base_ms: np.ndarray, base_counts: np.ndarray, t_post_ms: np.ndarray, post_counts: np.ndarray,
                      dark_counts_per_line: float, level: float = 0.95, start_fraction: float = 1.0,
                      max_iterations: int = 60) -> FrapKineticFit:
    """Fit tau and the imaging bleach rate; t_base from light onset, t_post from the bleach.

    `start_fraction` is the unbleached fraction when the light comes on (1 after full recovery).
    """
    t_base = np.asarray(t_base_ms, float)
    t_post = np.asarray(t_post_ms, float)
    yb = np.asarray(base_counts, float)
    yp = np.asarray(post_counts, float)
    if t_post.size < 5 or t_base.size < 1:
        raise ValueError("need at least one baseline and 5 post-bleach lines to fit a recovery")
    y = np.concatenate((yb, yp))
    dark = float(dark_counts_per_line)
    model = _Model(t_base, t_post, dark, float(start_fraction))
    best = _maximise(model, y, _start(yb, t_post, yp, dark, float(start_fraction)), None, max_iterations)
    theta, nll, iterations, converged_numerically = best.theta, best.nll, best.iterations, best.converged
    try:
        cov = np.linalg.inv(best.fisher)
        sd_log_tau = float(math.sqrt(cov[2, 2])) if cov[2, 2] > 0 else math.inf
    except (np.linalg.LinAlgError, ValueError):
        sd_log_tau = math.inf
    z = two_sided_z(level)
    tau_wald = math.exp(theta[2])
    reach = math.log(MAX_INTERVAL_RATIO)
    low_s, high_s = theta[2] - z * sd_log_tau, theta[2] + z * sd_log_tau
    profiled = (converged_numerically and math.isfinite(sd_log_tau) and 2 * z * sd_log_tau < reach
                and (float(t_post[-1]) < PROFILE_BELOW_RECOVERY_TAUS * tau_wald or sd_log_tau > PROFILE_ABOVE_SD))
    if profiled:
        # Outside the design where log tau is near-normal: the profile-likelihood interval (parametrisation-free,
        # k_i and the amplitudes re-fitted at every tau) replaces the Wald one.
        low_s, high_s = (_profile_limit(model, y, best, cov, z * z, d, reach) for d in (-1.0, 1.0))
        if low_s is None or high_s is None:
            sd_log_tau = math.inf
        else:
            sd_log_tau = (high_s - low_s) / (2 * z)
    tau = math.exp(theta[2])
    q = float(theta[3])
    f_b = float(theta[1])
    f_inf = 1.0 / (1.0 + q)
    y_log_y = float(y @ np.log(np.where(y > 0, y, 1.0)))  # sum of y log y, with 0 log 0 = 0
    dev = 2.0 * (nll + y_log_y - float(y.sum()))  # Poisson deviance
    bleached = 1.0 - f_b / float(start_fraction)
    determined = math.isfinite(sd_log_tau) and high_s - low_s < reach
    converged = converged_numerically and determined and bleached > MIN_BLEACHED_FRACTION
    if converged:
        message = "ok"
    elif bleached <= MIN_BLEACHED_FRACTION:
        message = "no bleach visible"
    elif not determined:
        message = "tau not determined by the data (interval wider than a factor %g)" % MAX_INTERVAL_RATIO
    else:
        message = f"the fit did not converge in {iterations} iterations"
    finite = math.isfinite(sd_log_tau)
    lam = (1.0 + q) / tau
    end = f_inf + (f_b - f_inf) * math.exp(-lam * float(t_post[-1]))
    return FrapKineticFit(
        tau_ms=tau,
        tau_low_ms=math.exp(max(low_s, -700.0)) if finite else math.nan,
        tau_high_ms=math.exp(min(high_s, 700.0)) if finite else math.nan,
        imaging_bleach_per_ms=q / tau,
        fraction_bleached=bleached,
        head_counts_per_line=math.exp(theta[0]),
        deviance_per_dof=dev / max(1, y.size - 4),
        converged=converged,
        message=message,
        iterations=iterations,
        log_tau_sd=sd_log_tau,
        end_fraction=end,
        profiled=profiled,
        theta=(float(theta[0]), float(theta[1]), float(theta[2]), float(theta[3])),
    )


def log_tau_sd_at(t_base_ms: np.ndarray, t_post_ms: np.ndarray, dark_counts_per_line: float, start_fraction: float,
                  fit: FrapKineticFit, tau_ms: float, imaging_bleach_per_ms: float) -> float:
    """SD of log tau that this sweep's design gives if the spine's tau and imaging bleach were the given ones
    (H and f_b as fitted).

    From the expected Fisher information (all four parameters free); used to weight sweeps at a common tau,
    since each sweep's own SD grows with its own estimate and would pull a weighted mean down.
    """
    model = _Model(np.asarray(t_base_ms, float), np.asarray(t_post_ms, float), float(dark_counts_per_line),
                   float(start_fraction))
    log_h, f_b, _, _ = fit.theta
    theta = np.array([log_h, f_b, math.log(tau_ms), imaging_bleach_per_ms * tau_ms])
    mu = model.mean(theta)
    jac_t = model.jacobian_t(theta)
    try:
        var = float(np.linalg.inv((jac_t / mu) @ jac_t.T)[2, 2])
    except np.linalg.LinAlgError:
        return math.inf
    return math.sqrt(var) if var > 0 else math.inf
