"""A FRAP run imports only what it uses (issue 13 item 2): not scipy.stats (~0.4 s of a 1.6 s README run),
whose few functions the combination of sweeps takes from scipy.special instead (bit-identical)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy import special, stats

from conftest import ROOT
from rig.model import combine

RUN = """
import sys, tempfile
from pathlib import Path
from rig.api import execute, prepare_run
with tempfile.TemporaryDirectory() as d:
    prepared = prepare_run(Path("protocols/frap.yaml"), Path("hardware_profiles/simulated.yaml"), sweeps=2)
    result = execute(prepared, Path(d))
print(result.outcome.status, "scipy.stats" in sys.modules)
"""


def test_a_frap_run_does_not_import_scipy_stats() -> None:
    out = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["completed", "False"], out.stdout + out.stderr


def test_the_combination_reads_the_distributions_scipy_stats_gives() -> None:
    """The slope test and the segment test of rig.model.combine, on seeded sweeps, against the same formulas
    written with scipy.stats: equal to the last bit (the move to scipy.special changed no number)."""
    rng = np.random.default_rng(7)
    for n in (3, 5, 10, 30):
        x = np.arange(n, dtype=float)
        y = 1.0 + 0.02 * x + rng.normal(0.0, 0.1, n)
        w = 1.0 / rng.uniform(0.05, 0.2, n) ** 2
        line = combine._fit_line(x, y, w)
        slope, p = combine._slope_p(x, y, w)
        t = abs(line.slope) / (line.slope_se * max(1.0, line.birge))
        assert slope == line.slope and p == 2.0 * float(stats.t.sf(t, n - 2))
        chi2 = line.birge**2 * (n - 2)
        assert combine._segment_ok(x, y, w) == (n <= 2 or float(stats.chi2.sf(chi2, n - 2)) >= combine.SEGMENT_ALPHA)
    for df in (1, 2, 5, 13, 40):  # combine_normal's and _combine's critical value
        assert special.stdtrit(df, special.ndtr(1.96)) == stats.t.ppf(stats.norm.cdf(1.96), df)
