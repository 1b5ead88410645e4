"""A FRAP run imports only what it uses (issue 13 item 2): not scipy.stats (~0.4 s of a 1.6 s README run),
whose few functions the combination of sweeps takes from scipy.special instead (bit-identical)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy import special, stats

from conftest import ROOT

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


def test_the_special_functions_are_the_distributions_the_combination_used() -> None:
    for df in (1, 2, 5, 13, 40):
        x = np.array([0.05, 0.7, 2.1, 9.0])
        assert np.array_equal(special.chdtrc(df, x), stats.chi2.sf(x, df))
        assert np.array_equal(special.stdtr(df, -x), stats.t.sf(x, df))
        assert special.stdtrit(df, special.ndtr(1.96)) == stats.t.ppf(stats.norm.cdf(1.96), df)
