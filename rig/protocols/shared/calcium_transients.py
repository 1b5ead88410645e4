"""Online bookkeeping of calcium transients: traces per condition, a fixed-shape template, amplitudes, successes.

The template is built robustly for synapses that fail most of the time (release probability 0.1-0.5): its
shape is an influx time course (the NMDA conductance) convolved with one Ca decay, first with a prior decay,
then fitted to the average of the *detected successes* (2.5 SD rule, SCIENCE.md), so failures neither hide
the response nor distort its shape. Every trial, failures included, is then scaled by that shape (linear:
the mean amplitude over trials is the amplitude of the mean trace, unbiased by the detection).

A shape refitted to "successes" that are noise excursions fits the noise: it raises the selected trials'
amplitudes and, through the shape, every trial's (fCaT read x2-10 high on spines whose CC response is below
the noise, issue 11). With `own_shape_alpha` set, a condition fits its own shape only when its detections are
more than false positives explain (binomial test at that level against the threshold's one-sided normal tail);
until then it keeps the fallback (the other condition's) shape or the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from scipy import stats

from rig.analysis.calcium_signal import RatioTrace, matched_amplitude_sd
from rig.analysis.confidence import two_sided_z
from rig.analysis.release_mixture import DETECTION_SD
from rig.analysis.transients import InfluxTemplate, fit_calcium_decay_known_influx, fit_template, scale_shape

PRIOR_ONSET_DELAY_MS = 2.0  # stimulus to CaT onset assumed before any success is seen


class Shape(Protocol):
    """A unit-peak template on a time axis, with its decay time constant."""

    @property
    def tau_decay_ms(self) -> float:
        """Decay time constant of the template."""

    def shape(self, t_ms: np.ndarray) -> np.ndarray:
        """The unit-peak template on a time axis."""


@dataclass
class ConditionTransients:
    """Every sweep's dG/R of one condition, the template made from its successes, amplitudes and noise."""

    stimulus_ms: float
    influx_rise_ms: float = 13.0
    influx_decay_ms: float = 70.0
    prior_decay_ms: float = 100.0
    threshold_sd: float = DETECTION_SD
    model: Literal["influx", "free"] = "influx"  # influx: known influx * one decay; free: two exponentials
    traces: list[RatioTrace] = field(default_factory=list)
    sweeps: list[int] = field(default_factory=list)
    template: Shape | None = None
    source: str = ""  # how the template was found (for the estimates' basis)
    fallback: Shape | None = None  # shape to use while this condition has no success of its own
    successes_used: int = 0  # detected successes the template was fitted to (0: a starting shape)
    own_shape_alpha: float | None = None  # fit an own shape only when detections beat false positives at this level
    # The fit to the average of a set of sweeps (by index) is a pure function of that set: a sweep that adds no
    # detection (most sweeps of a failing synapse) reuses it instead of refitting the same average.
    _fits: dict[tuple[int, ...], Shape | None] = field(default_factory=dict, repr=False)

    def detections_significant(self, detected: int) -> bool:
        """True when `detected` of this condition's sweeps are more than noise excursions past the threshold
        explain (always True without `own_shape_alpha`)."""
        if self.own_shape_alpha is None:
            return detected > 0
        false_rate = float(stats.norm.sf(self.threshold_sd))
        return detected > 0 and float(stats.binom.sf(detected - 1, len(self.traces), false_rate)) < self.own_shape_alpha

    def add(self, sweep_index: int, trace: RatioTrace) -> None:
        """Keep one sweep and rebuild the template from the successes so far."""
        if self.traces and trace.times_ms.size != self.traces[0].times_ms.size:
            raise ValueError("sweeps of one condition must have the same line layout")
        self.traces.append(trace)
        self.sweeps.append(sweep_index)
        self.refresh()

    def prior(self) -> tuple[Shape, str]:
        """The shape before any success: the fallback (another condition's), else the prior decay."""
        if self.fallback is not None:
            return self.fallback, "shape of the other condition (no success of its own yet)"
        onset = self.stimulus_ms + PRIOR_ONSET_DELAY_MS
        return (InfluxTemplate(onset, self.influx_rise_ms, self.influx_decay_ms, self.prior_decay_ms, "prior"),
                f"prior shape (Ca decay {self.prior_decay_ms:g} ms)")

    def _fit(self, mean: np.ndarray) -> Shape | None:
        times = self.traces[0].times_ms
        if self.model == "free":
            free = fit_template(times, mean, self.stimulus_ms, min_decay_to_rise=1.5)
            return free if free.converged else None
        fit = fit_calcium_decay_known_influx(times, mean, self.stimulus_ms, self.influx_rise_ms, self.influx_decay_ms)
        if not fit.converged:
            return None
        return InfluxTemplate(fit.onset_ms, self.influx_rise_ms, self.influx_decay_ms, fit.tau_ms, "fitted")

    def refresh(self) -> None:
        """Detect successes with a starting shape, refit the shape to their average, twice (converges fast).

        Starting shapes, the first that detects a success wins: the fit to the average of every sweep (fine
        when releases are frequent), then the prior (or the other condition's) shape.
        """
        if not self.traces:
            return
        previous = (self.template, self.source) if self.successes_used > 0 and self.template is not None else None
        self.successes_used = 0
        if previous is not None and self._detect_and_fit(*previous, rounds=1):
            return  # the last fit as the start: one round suffices while the successes hardly change
        everything = self._fit(np.mean([t.dg_over_r for t in self.traces], axis=0))
        starts = ([(everything, f"average of all {len(self.traces)} sweeps")] if everything is not None else [])
        starts.append(self.prior())
        self.template, self.source = starts[-1]
        for template, source in starts:
            if self._detect_and_fit(template, source):
                return

    def _detect_and_fit(self, template: Shape, source: str, rounds: int = 2) -> bool:
        """Detect successes with a shape and refit it to their average (rounds times); True when any is found."""
        found = False
        for _ in range(rounds):
            hits = self._amplitudes(template) > self.threshold_sd * self._noise(template)
            if not self.detections_significant(int(hits.sum())):
                break
            chosen = tuple(int(k) for k in np.flatnonzero(hits))
            if chosen not in self._fits:
                self._fits[chosen] = self._fit(np.mean(self._matrix()[:, hits], axis=1))
            fitted = self._fits[chosen]
            if fitted is None:
                break
            found, template = True, fitted
            source, self.successes_used = f"average of {int(hits.sum())} detected successes", int(hits.sum())
        if found:
            self.template, self.source = template, source
        return found

    @property
    def usable(self) -> bool:
        """True when there are sweeps (a template always exists: fitted, or the prior shape)."""
        return self.template is not None

    @property
    def fitted(self) -> bool:
        """True when the template was fitted to this condition's own detected successes."""
        return self.successes_used > 0

    def _matrix(self) -> np.ndarray:
        """Every sweep's dG/R as the columns of one array (lines x sweeps)."""
        if getattr(self, "_cached", (0, None))[0] != len(self.traces):
            self._cached = (len(self.traces), np.column_stack([t.dg_over_r for t in self.traces]))
        return self._cached[1]

    def _amplitudes(self, template: Shape) -> np.ndarray:
        shape = template.shape(self.traces[0].times_ms)
        return scale_shape(shape, self._matrix())

    def _noise(self, template: Shape) -> np.ndarray:
        times = self.traces[0].times_ms
        shape = template.shape(times)
        base = times < self.stimulus_ms
        sd = np.std(self._matrix()[base], axis=0, ddof=1)
        return matched_amplitude_sd(shape, 1.0) * sd

    def amplitudes(self) -> np.ndarray:
        """Template amplitude (peak dG/R of the fitted shape) of every sweep, failures included."""
        assert self.template is not None
        return self._amplitudes(self.template)

    def noise_sd(self) -> np.ndarray:
        """SD of each sweep's amplitude under its own baseline noise (the detection scale)."""
        assert self.template is not None
        return self._noise(self.template)

    def successes(self, threshold_sd: float) -> np.ndarray:
        """Per sweep: amplitude above threshold_sd x its baseline-noise SD (the 2.5 SD rule, matched filter)."""
        return self.amplitudes() > threshold_sd * self.noise_sd()

    def mean_of_successes(self, threshold_sd: float) -> np.ndarray | None:
        """The average dG/R trace of the detected successes (None without any)."""
        hits = self.successes(threshold_sd)
        if not hits.any():
            return None
        return np.mean([t.dg_over_r for t, h in zip(self.traces, hits) if h], axis=0)


def z_of(level: float) -> float:
    """Two-sided normal quantile of a confidence level."""
    return two_sided_z(level)


def finite(*values: float) -> bool:
    """True when every value is a finite number."""
    return all(math.isfinite(v) for v in values)
