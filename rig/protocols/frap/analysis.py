"""Online FRAP analysis: per-sweep recovery fit, combined tau and neck resistance with intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.analysis.confidence import one_sided_z, two_sided_z
from rig.analysis.frap_combine import SweepTau, combine_sweep_taus
from rig.analysis.frap_kinetics import FrapKineticFit, fit_frap_kinetics
from rig.analysis.line_scan import along_line_um, fold_lines, line_times_ms, roi_mask_near
from rig.datatypes.layouts import LineScanLayout
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.model.neck_resistance import Interval, neck_resistance_interval
from rig.protocols.frap.schema import FrapStep
from rig.protocols.shared.common import AnalysisUpdate


def head_counts_per_line(plan: SweepPlan, counts: np.ndarray, roi_radius_um: float
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Photon counts in the head ROI per line slot, each slot's time (ms), and the dark counts per line."""
    assert plan.line_scan is not None and plan.target_um is not None
    return head_counts(plan.line_scan, plan.sample_rate_hz, plan.target_um, counts, roi_radius_um)


def head_counts(layout: LineScanLayout, sample_rate_hz: float, target_um: tuple[float, float], counts: np.ndarray,
                roi_radius_um: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Head-ROI counts per line slot, slot times (ms) and dark counts per line, from a sweep's PMT samples.

    The dark level comes from the flyback samples, where the Pockels cell blanks the beam.
    """
    n = layout.n_slots * layout.samples_per_line
    slots = counts[layout.first_sample:layout.first_sample + n].reshape(layout.n_slots, layout.samples_per_line)
    lines = fold_lines(counts, layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots)
    times = line_times_ms(layout.first_sample, layout.samples_per_line, layout.pixels_per_line, layout.n_slots,
                          sample_rate_hz)
    along = along_line_um(layout.start_um, layout.end_um, layout.line_length_um, target_um)
    mask = roi_mask_near(layout.pixel_positions_um(), along, roi_radius_um)
    imaged = np.setdiff1d(np.arange(layout.n_slots), layout.park_slots)
    dark_per_sample = float(np.mean(slots[imaged, layout.pixels_per_line:])) if layout.samples_per_line > \
        layout.pixels_per_line else 0.0
    return lines[:, mask].sum(axis=1), times, dark_per_sample * int(mask.sum())


def recovery_lines(layout: LineScanLayout, sample_rate_hz: float, bleach_mid_ms: float, times_ms: np.ndarray
                   ) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Baseline and recovery line slices, with their times from light onset and from the bleach (ms)."""
    first_park, last_park = min(layout.park_slots), max(layout.park_slots)
    light_on_ms = layout.first_sample / sample_rate_hz * 1000.0
    base, post = slice(0, first_park), slice(last_park + 1, None)
    return base, post, times_ms[base] - light_on_ms, times_ms[post] - bleach_mid_ms


MIN_RECOVERY_TAUS = 3.0  # recoveries shorter than this many tau are outside the validated design


class FrapAnalysis:
    """Fits each sweep's recovery and keeps the spine estimate of tau and R_neck."""

    def __init__(self, step: FrapStep):
        a = step.analysis
        self.spec = a
        self.assumptions = a.neck_assumptions()
        self._sweeps: list[SweepTau] = []
        self._previous: _SweepEnd | None = None
        self._warned_short = False
        self._warned_unresolved = False

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Fit this sweep and update the combined estimate."""
        update = AnalysisUpdate()
        step = plan.step_name
        channel = plan.meta.pmt_channel
        counts, times, dark = head_counts_per_line(plan, data[channel], self.spec.head_roi_radius_um)
        layout = plan.line_scan
        assert layout is not None
        light_on_ms = layout.first_sample / plan.sample_rate_hz * 1000.0
        start = self._previous.fraction_at(light_on_ms) if self._previous is not None else 1.0
        base, post, t_base, t_post = recovery_lines(layout, plan.sample_rate_hz, plan.events_ms["bleach_mid"], times)
        fit = fit_frap_kinetics(t_base, counts[base], t_post, counts[post], dark,
                                level=self.spec.confidence_level, start_fraction=start)
        self._previous = _SweepEnd.after(plan, fit, float(times[-1]))
        update.features += [
            Feature(sweep_index, step, "tau_ms", fit.tau_ms, fit.tau_low_ms, fit.tau_high_ms, "ms"),
            Feature(sweep_index, step, "fraction_bleached", fit.fraction_bleached, math.nan, math.nan, "1"),
            Feature(sweep_index, step, "imaging_bleach_per_s", fit.imaging_bleach_per_ms * 1000, math.nan, math.nan,
                    "1/s"),
            Feature(sweep_index, step, "start_fraction", start, math.nan, math.nan, "1"),
            Feature(sweep_index, step, "deviance_per_dof", fit.deviance_per_dof, math.nan, math.nan, "1"),
            Feature(sweep_index, step, "head_counts_per_line", fit.head_counts_per_line, math.nan, math.nan, "counts"),
            Feature(sweep_index, step, "dark_counts_per_line", dark, math.nan, math.nan, "counts"),
        ]
        if not fit.converged:
            update.notices.append(Notice("warning", "frap", f"sweep {sweep_index + 1}: recovery fit did not converge "
                                         f"({fit.message}); excluded from the spine estimate", sweep_index))
            return update
        self._sweeps.append(SweepTau(sweep_index, fit, t_base, t_post, dark, start))
        level = self.spec.confidence_level
        tau = combine_sweep_taus(self._sweeps, _z(level), name="tau")
        basis = (f"{tau.n} sweep(s), joint Poisson ML fits of baseline and recovery with the imaging bleach free, "
                 f"weighted at the common tau, Birge ratio {tau.birge_ratio:.2f}")
        recovery_ms = float(times[-1] - plan.events_ms["bleach_mid"])
        if not resolved_by_recovery(tau.high, recovery_ms):
            self._publish_lower_bounds(update, sweep_index, step, recovery_ms, basis)
            return update
        update.estimates.append(Estimate(sweep_index, step, "tau_frap_ms", tau.value, tau.low, tau.high, "ms",
                                         basis, trend=tau.trend))
        if tau.value * MIN_RECOVERY_TAUS > recovery_ms and not self._warned_short:
            self._warned_short = True
            update.notices.append(Notice(
                "warning", "frap", f"tau ({tau.value:.0f} ms) is longer than a third of the recovery "
                f"({recovery_ms:.0f} ms): the fit is validated for recoveries of at least {MIN_RECOVERY_TAUS:g} "
                "tau (at 1 tau the combined interval held the truth in 87-93 % of seeded trials, "
                f"benchmarks/bench_frap_fit.py); set recovery_ms to at least {MIN_RECOVERY_TAUS * tau.value:.0f}",
                sweep_index))
        r = neck_resistance_interval(Interval(tau.value, tau.low, tau.high, "ms"), self.assumptions, _z(level))
        update.estimates.append(Estimate(sweep_index, step, "neck_resistance_MOhm", r.value, r.low, r.high, "MOhm",
                                         "R = rho_i tau D / V; " + self.assumptions.describe(),
                                         trend=tau.trend.replace("tau", "R_neck", 1)))
        return update

    def _publish_lower_bounds(self, update: AnalysisUpdate, sweep_index: int, step: str, recovery_ms: float,
                              basis: str) -> None:
        """tau and R_neck as one-sided lower bounds: the recovery is shorter than the tau it might be."""
        level = self.spec.confidence_level
        one_sided = one_sided_z(level)
        tau = combine_sweep_taus(self._sweeps, one_sided, name="tau")
        update.estimates.append(Estimate(
            sweep_index, step, "tau_frap_lower_bound_ms", tau.value, tau.low, math.nan, "ms",
            f"{basis}; a lower bound (one-sided {level:.0%}): the recovery ({recovery_ms:.0f} ms) is shorter than "
            "the interval's upper end, where a slow exchange and the imaging bleach look alike and the fit reads "
            "low", bound="lower", trend=tau.trend))
        r = neck_resistance_interval(Interval(tau.value, tau.low, tau.high, "ms"), self.assumptions, one_sided)
        update.estimates.append(Estimate(
            sweep_index, step, "neck_resistance_lower_bound_MOhm", r.value, r.low, math.nan, "MOhm",
            f"R >= rho_i tau D / V with tau = tau_frap_lower_bound_ms (one-sided {level:.0%}); "
            + self.assumptions.describe(), bound="lower", trend=tau.trend.replace("tau", "R_neck", 1)))
        if not self._warned_unresolved:
            self._warned_unresolved = True
            update.notices.append(Notice(
                "warning", "frap", f"tau is not resolved by the {recovery_ms:.0f} ms recovery (its interval reaches "
                f"{tau.high:.0f} ms): published as tau_frap_lower_bound_ms and neck_resistance_lower_bound_MOhm; "
                f"set recovery_ms to at least {MIN_RECOVERY_TAUS * tau.value:.0f} for an estimate", sweep_index))


def resolved_by_recovery(tau_high_ms: float, recovery_ms: float) -> bool:
    """Whether a recovery resolves tau: it lasts at least the upper end of tau's interval (there, at 1 tau, the
    combined interval held the truth in 87-93 % of seeded trials, benchmarks/bench_frap_fit.py; beyond it a
    slow exchange and the imaging bleach look alike and the fit read tau 13.2 s as 4.5 s [2.7, 7.5] in a 3 s
    recovery: the data bound tau from below only)."""
    return math.isfinite(tau_high_ms) and tau_high_ms <= recovery_ms


@dataclass(frozen=True)
class _SweepEnd:
    """The head's unbleached fraction when a sweep's light went off, and how fast it recovers in the dark."""

    fraction: float
    tau_ms: float
    dark_ms: float  # dark time from the last line to the end of the plan plus the interval after it

    @staticmethod
    def after(plan: SweepPlan, fit: FrapKineticFit, last_line_ms: float) -> "_SweepEnd | None":
        """The end state of a fitted sweep (None when the fit gave no tau: the next sweep then assumes a full head)."""
        if not (fit.converged and math.isfinite(fit.end_fraction) and fit.tau_ms > 0):
            return None
        dark_ms = plan.n_samples / plan.sample_rate_hz * 1000.0 - last_line_ms + plan.interval_after_s * 1000.0
        return _SweepEnd(min(max(fit.end_fraction, 0.0), 1.0), fit.tau_ms, max(dark_ms, 0.0))

    def fraction_at(self, light_on_ms: float) -> float:
        """Unbleached fraction when the next sweep's light comes on, light_on_ms after its start.

        In the dark the head refills from the dendrite: 1 - f relaxes as exp(-t / tau).
        """
        return 1.0 - (1.0 - self.fraction) * math.exp(-(self.dark_ms + light_on_ms) / self.tau_ms)


def _z(level: float) -> float:
    return two_sided_z(level)
