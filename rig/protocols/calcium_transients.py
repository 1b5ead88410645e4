"""Online bookkeeping of calcium transients: traces per condition, a template per condition, amplitudes, successes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rig.analysis.calcium_signal import RatioTrace, matched_amplitude_sd
from rig.analysis.transients import TransientTemplate, fit_template, scale_template


@dataclass
class ConditionTransients:
    """Every sweep's dG/R of one condition, and what its template makes of them."""

    stimulus_ms: float
    traces: list[RatioTrace] = field(default_factory=list)
    sweeps: list[int] = field(default_factory=list)
    template: TransientTemplate | None = None

    def add(self, sweep_index: int, trace: RatioTrace) -> None:
        """Keep one sweep and refit the template to the new average."""
        if self.traces and trace.times_ms.size != self.traces[0].times_ms.size:
            raise ValueError("sweeps of one condition must have the same line layout")
        self.traces.append(trace)
        self.sweeps.append(sweep_index)
        mean = np.mean([t.dg_over_r for t in self.traces], axis=0)
        self.template = fit_template(self.traces[0].times_ms, mean, self.stimulus_ms)

    @property
    def usable(self) -> bool:
        """True when the template fit converged."""
        return self.template is not None and self.template.converged

    def amplitudes(self) -> np.ndarray:
        """Template amplitude of every sweep (dG/R units)."""
        assert self.template is not None
        return np.array([scale_template(self.template, t.times_ms, t.dg_over_r, self.stimulus_ms)[0]
                         for t in self.traces])

    def noise_sd(self) -> np.ndarray:
        """SD of each sweep's amplitude under its own baseline noise (the detection scale)."""
        assert self.template is not None
        out = []
        for t in self.traces:
            base = t.dg_over_r[t.times_ms < self.stimulus_ms]
            out.append(matched_amplitude_sd(self.template.shape(t.times_ms), float(np.std(base, ddof=1))))
        return np.array(out)

    def successes(self, threshold_sd: float) -> np.ndarray:
        """Per sweep: amplitude above threshold_sd x its baseline-noise SD (the 2.5 SD rule, matched filter)."""
        return self.amplitudes() > threshold_sd * self.noise_sd()


def z_of(level: float) -> float:
    """Two-sided normal quantile of a confidence level."""
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


def finite(*values: float) -> bool:
    """True when every value is a finite number."""
    return all(math.isfinite(v) for v in values)
