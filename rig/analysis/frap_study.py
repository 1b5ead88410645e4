"""Seeded synthetic study of the FRAP fit: Poisson sweeps drawn from the rig's FRAP model, fitted and scored.

The sweeps look like the rig's line scans (2 ms lines, 100 ms baseline from light onset, a bleach to
about a third, imaging bleach at the rate the simulated rig's imaging power gives), so the bias and
coverage printed by `benchmarks/bench_frap_fit.py` and held by `tests/test_frap_study.py` are those of
the per-sweep fit and of sweeps combined as the online analysis combines them (`rig.analysis.frap_combine`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.analysis.confidence import Z_95
from rig.analysis.frap_kinetics import FrapKineticFit, fit_frap_kinetics


@dataclass(frozen=True)
class SweepDesign:
    """One synthetic FRAP condition: the spine's tau, brightness and the imaging conditions."""

    tau_ms: float
    head_photons_per_line: float
    imaging_bleach_per_ms: float = 2.2e-4
    bleached_to: float = 0.35  # unbleached fraction just after the bleach
    line_ms: float = 2.0
    baseline_ms: float = 100.0
    recovery_ms: float | None = None  # default: 4 tau, within 400-3000 ms
    dark_counts_per_line: float = 0.12
    first_line_after_bleach_ms: float = 1.5

    def recovery(self) -> float:
        """Recovery duration (ms) of the sweep."""
        return self.recovery_ms if self.recovery_ms is not None else float(np.clip(4 * self.tau_ms, 400, 3000))

    def line_times(self) -> tuple[np.ndarray, np.ndarray]:
        """Baseline line times from light onset and post-bleach line times from the bleach (ms)."""
        n_base = int(round(self.baseline_ms / self.line_ms))
        n_post = int(round(self.recovery() / self.line_ms))
        t_post = np.arange(n_post) * self.line_ms + self.first_line_after_bleach_ms
        return (np.arange(n_base) + 0.5) * self.line_ms, t_post

    def mean_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts per baseline and post-bleach line."""
        t_base, t_post = self.line_times()
        lam = 1.0 / self.tau_ms + self.imaging_bleach_per_ms
        f_inf = (1.0 / self.tau_ms) / lam
        base = f_inf + (1.0 - f_inf) * np.exp(-lam * t_base)
        post = f_inf + (self.bleached_to - f_inf) * np.exp(-lam * t_post)
        h, d = self.head_photons_per_line, self.dark_counts_per_line
        return d + h * base, d + h * post


@dataclass(frozen=True)
class StudyRow:
    """Bias and coverage of one condition, per sweep and for sweeps combined in groups."""

    tau_ms: float
    head_photons_per_line: float
    recovery_ms: float
    draws: int
    delivered: float
    median_rel_bias: float
    coverage: float
    median_rel_width: float
    combined_groups: int
    combined_coverage: float
    combined_median_rel_bias: float


def draw_sweeps(design: SweepDesign, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts of `draws` sweeps: (draws, n_base) and (draws, n_post)."""
    base, post = design.mean_counts()
    return (rng.poisson(base, size=(draws, base.size)).astype(float),
            rng.poisson(post, size=(draws, post.size)).astype(float))


def fit_sweeps(design: SweepDesign, base: np.ndarray, post: np.ndarray, level: float = 0.95) -> list[FrapKineticFit]:
    """Fit every drawn sweep."""
    t_base, t_post = design.line_times()
    return [fit_frap_kinetics(t_base, b, t_post, p, design.dark_counts_per_line, level) for b, p in zip(base, post)]


def score(design: SweepDesign, fits: list[FrapKineticFit], group: int = 10, z: float = Z_95) -> StudyRow:
    """Per-sweep bias and coverage of the delivered fits, and coverage of groups of `group` sweeps combined
    as the online analysis combines them (rig.analysis.frap_combine)."""
    from rig.analysis.frap_combine import SweepTau, combine_sweep_taus

    tau = design.tau_ms
    t_base, t_post = design.line_times()
    ok = [f for f in fits if f.converged]
    est = np.array([f.tau_ms for f in ok])
    low = np.array([f.tau_low_ms for f in ok])
    high = np.array([f.tau_high_ms for f in ok])
    hits = (low <= tau) & (tau <= high)
    n_groups = len(ok) // group
    combined_hits, combined_values = [], []
    for g in range(n_groups):
        members = [SweepTau(i, f, t_base, t_post, design.dark_counts_per_line, 1.0)
                   for i, f in enumerate(ok[g * group:(g + 1) * group])]
        c = combine_sweep_taus(members, z)
        combined_hits.append(c.low <= tau <= c.high)
        combined_values.append(c.value / tau - 1.0)
    return StudyRow(tau, design.head_photons_per_line, design.recovery(), len(fits), len(ok) / max(1, len(fits)),
                    float(np.median(est / tau - 1.0)) if ok else float("nan"),
                    float(np.mean(hits)) if ok else float("nan"),
                    float(np.median((high - low) / est)) if ok else float("nan"),
                    n_groups, float(np.mean(combined_hits)) if n_groups else float("nan"),
                    float(np.median(combined_values)) if n_groups else float("nan"))


def run_study(taus_ms: tuple[float, ...], photons: tuple[float, ...], draws: int, seed: int, group: int = 10
              ) -> list[StudyRow]:
    """Score the fit over a grid of tau and brightness (recovery 4 tau within 400-3000 ms)."""
    return run_designs([SweepDesign(tau, h) for tau in taus_ms for h in photons], draws, seed, group)


def run_designs(designs: list[SweepDesign], draws: int, seed: int, group: int = 10) -> list[StudyRow]:
    """Score the fit on each design, each from its own seeded stream."""
    rows = []
    for i, design in enumerate(designs):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        base, post = draw_sweeps(design, draws, rng)
        rows.append(score(design, fit_sweeps(design, base, post), group))
    return rows
