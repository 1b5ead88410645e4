"""Release probability from a failure/release mixture (rig/analysis/quantal_mixture.py) on seeded synthetic
trials: counts when releases stand out, honest intervals when they barely do, no tight interval when they do not."""

from __future__ import annotations

import numpy as np
from scipy import stats

from rig.analysis.quantal_mixture import fit_release_probability


def _trials(rng: np.random.Generator, p: float, mean_per_release: float, n: int = 200, cv: float = 0.3
            ) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes (noise SD 1) of n trials: gamma-distributed quanta released with probability p."""
    released = rng.random(n) < p
    quanta = rng.gamma(1 / cv**2, cv**2 * mean_per_release, n)
    return rng.normal(0.0, 1.0, n) + released * quanta, released


def test_well_separated_releases_give_the_count_and_a_binomial_width_interval():
    rng = np.random.default_rng(3)
    a, released = _trials(rng, 0.3, 10.0)
    fit = fit_release_probability(a, np.ones(a.size))
    exact = stats.binomtest(int(released.sum()), a.size).proportion_ci(method="exact")
    assert abs(fit.value - released.mean()) <= 0.01
    assert abs((fit.high - fit.low) - (exact.high - exact.low)) <= 0.03
    assert fit.resolved and fit.separation > 5


def test_interval_covers_the_true_probability_when_releases_barely_stand_out():
    """40 seeded synapses, mean release 2.5 noise SDs (a 2.5 SD threshold would miss ~half of them): the 95 %
    interval must hold the truth on at least 34 (a 95 % interval fails that with probability 0.5 %)."""
    rng = np.random.default_rng(5)
    covered, errors = 0, []
    for p in np.linspace(0.1, 0.5, 40):
        a, _ = _trials(rng, float(p), 2.5)
        fit = fit_release_probability(a, np.ones(a.size))
        covered += fit.low <= p <= fit.high
        errors.append(fit.value - p)
    assert covered >= 34
    assert abs(float(np.median(errors))) <= 0.05


def test_releases_hidden_in_the_noise_give_no_tight_interval():
    rng = np.random.default_rng(7)
    a, _ = _trials(rng, 0.3, 0.3)
    fit = fit_release_probability(a, np.ones(a.size))
    assert not fit.resolved or fit.high - fit.low > 0.5
    assert fit.low <= 0.3 <= fit.high


def test_small_releases_hidden_among_the_failures_are_flagged():
    """Releases of two sizes (a quarter plateau far out of the noise, the rest at 1 noise SD): the mixture sees
    only the large ones, and says the failures are raised, so the protocol publishes only a lower bound."""
    rng = np.random.default_rng(11)
    n, p = 200, 0.4
    released = rng.random(n) < p
    large = rng.random(n) < 0.25
    a = rng.normal(0.0, 1.0, n) + released * np.where(large, 40.0, 1.0)
    fit = fit_release_probability(a, np.ones(n))
    assert fit.releases_hidden
    assert fit.low <= p
    clean, _ = _trials(rng, p, 40.0)
    assert not fit_release_probability(clean, np.ones(n)).releases_hidden
