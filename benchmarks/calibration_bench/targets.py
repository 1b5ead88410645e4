"""The issue-11 targets the table is judged against, by step kind and estimate name.

- Every headline estimate is delivered on >= 95 % of the spines where it is defined: fCaT and head depolarization
  on every non-silent spine; a Ca-silent spine is reported as silent with an upper bound (`fcat_upper_bound` is
  its headline; it has no head depolarization estimate, NOT_DEFINED).
- 95 % intervals cover the truth 90-98 % of the time (a one-sided bound covers when the truth is on its
  side; rows of bounds only need >= 90 %).
- FRAP tau within 2 % (median) at tau 20-1000 ms; R_neck by FRAP within 10 % (on the same spines).
- Head depolarization within 20 % or 3 mV; release probability within 0.05 after 200 sweeps;
  Na half-decay within 15 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DELIVERY_TARGET = 0.95
COVERAGE_TARGET = (0.90, 0.98)
BOUND_COVERAGE_TARGET = 0.90

HEADLINE: dict[str, tuple[str, ...]] = {
    "frap": ("tau_frap_ms", "neck_resistance_MOhm"),
    "fcat": ("fcat", "peak_head_epsp_mV"),
    "quantal": ("release_probability",),
    "na_ca": ("tau_na_ms", "na_half_decay_ms"),
    "vsd": ("head_mV",),
    "paired_ap": ("feller_ratio", "ca_per_ap_nM"),
}


@dataclass(frozen=True)
class Stratum:
    """Spines where a step's mean truth of `truth_name` lies in [low, high) (all spines if no name)."""

    label: str
    truth_name: str | None = None
    low: float = -math.inf
    high: float = math.inf

    def contains(self, step_truth: dict[str, float]) -> bool | None:
        """Whether a step's mean truth puts the spine here; None if that truth is missing."""
        if self.truth_name is None:
            return True
        value = step_truth.get(self.truth_name)
        if value is None or not math.isfinite(value):
            return None
        return self.low <= value < self.high


ALL = Stratum("all spines")
FRAP_RANGE = Stratum("tau 20-1000 ms", "tau_frap_ms", 20.0, 1000.0)
NON_SILENT = Stratum("non-silent (fcat >= 0.05)", "fcat", 0.05)
SILENT = Stratum("silent (fcat < 0.05)", "fcat", high=0.05)
STRATA: dict[str, tuple[Stratum, ...]] = {
    "frap": (ALL, FRAP_RANGE),
    "fcat": (NON_SILENT, SILENT),
}

# (step kind, stratum) -> the headline names there instead of HEADLINE's.
STRATUM_HEADLINE: dict[tuple[str, str], tuple[str, ...]] = {
    ("fcat", SILENT.label): ("fcat_upper_bound",),
}
# (step kind, name, stratum) -> why that quantity is not defined on those spines (no delivery target there).
NOT_DEFINED: dict[tuple[str, str, str], str] = {
    ("fcat", "peak_head_epsp_mV", SILENT.label): "on silent spines (reported as silent with fcat_upper_bound)",
}


@dataclass(frozen=True)
class BiasTarget:
    """A bound on the median bias of one estimate: relative, absolute, or either (the first met passes)."""

    step_kind: str
    name: str
    stratum: str
    relative: float | None = None
    absolute: float | None = None
    min_sweeps: int = 0
    unit: str = ""

    def describe(self, unit: str | None = None) -> str:
        """E.g. '<= 20% or 3 mV' (of |median bias|); `unit` defaults to the target's own."""
        unit = self.unit if unit is None else unit
        suffix = f" {unit}" if unit and unit != "1" else ""
        parts = ([f"{self.relative:.0%}"] if self.relative is not None else []) + \
                ([f"{self.absolute:g}{suffix}"] if self.absolute is not None else [])
        after = f" after {self.min_sweeps} sweeps" if self.min_sweeps else ""
        return f"<= {' or '.join(parts)}{after}"


BIAS_TARGETS: tuple[BiasTarget, ...] = (
    BiasTarget("frap", "tau_frap_ms", FRAP_RANGE.label, relative=0.02),
    BiasTarget("frap", "neck_resistance_MOhm", FRAP_RANGE.label, relative=0.10),
    BiasTarget("fcat", "peak_head_epsp_mV", "non-silent (fcat >= 0.05)", relative=0.20, absolute=3.0,
               unit="mV"),
    BiasTarget("vsd", "head_mV", ALL.label, relative=0.20, absolute=3.0, unit="mV"),
    BiasTarget("quantal", "release_probability", ALL.label, absolute=0.05, min_sweeps=200),
    BiasTarget("na_ca", "na_half_decay_ms", ALL.label, relative=0.15),
)


def strata_for(step_kind: str) -> tuple[Stratum, ...]:
    """The populations a step kind's rows are reported over."""
    return STRATA.get(step_kind, (ALL,))


def bias_target(step_kind: str, name: str, stratum: str) -> BiasTarget | None:
    """The bias target of a row, if the issue sets one."""
    for t in BIAS_TARGETS:
        if (t.step_kind, t.name, t.stratum) == (step_kind, name, stratum):
            return t
    return None


def is_headline(step_kind: str, name: str, stratum: str | None = None) -> bool:
    """Whether the issue asks this estimate to be delivered on >= 95 % of the spines (of `stratum`, if given)."""
    if stratum is not None and (step_kind, stratum) in STRATUM_HEADLINE:
        return name in STRATUM_HEADLINE[(step_kind, stratum)]
    return name in HEADLINE.get(step_kind, ())


def not_defined(step_kind: str, name: str, stratum: str) -> str:
    """Why a headline quantity has no value on a stratum's spines ('' when it is defined there)."""
    return NOT_DEFINED.get((step_kind, name, stratum), "")
