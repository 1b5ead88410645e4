"""Release probability when release sizes are right-skewed and spread (CV 0.5, as the simulated spines' CaTs
are behind low-resistance necks: 0.15 +- 0.07 dG/R against a noise SD of 0.03 at 50 MOhm): the mixture must not
count noise as releases (a Gaussian release component read a 50 MOhm spine's p 0.24 as 0.36 [0.27, 0.47])."""

from __future__ import annotations

import numpy as np

from rig.analysis.quantal_mixture import fit_release_probability


def test_skewed_release_sizes_give_the_realized_count_and_covering_intervals():
    """40 seeded synapses at p 0.1-0.5, gamma release sizes of CV 0.5 and mean 3.5 noise SDs: the median error
    against the realized fraction of releases stays within 0.01 and the mean within 0.015 (a Gaussian release
    component's: +0.016 and +0.026 on these synapses), and the 95 % interval holds the true p on at least 34 (a 95 % interval fails that with p 0.5 %)."""
    rng = np.random.default_rng(23)
    cv, mean = 0.5, 3.5
    errors, covered = [], 0
    for p in np.linspace(0.1, 0.5, 40):
        released = rng.random(200) < p
        sizes = rng.gamma(1 / cv**2, cv**2 * mean, 200)
        a = rng.normal(0.0, 1.0, 200) + released * sizes
        fit = fit_release_probability(a, np.ones(200))
        errors.append(fit.value - released.mean())
        covered += fit.low <= p <= fit.high
    assert abs(float(np.median(errors))) <= 0.01
    assert abs(float(np.mean(errors))) <= 0.015
    assert covered >= 34
