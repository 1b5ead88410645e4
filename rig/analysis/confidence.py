"""Confidence quantiles and the least-squares covariance, one source each (pure)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import special  # ndtri and stdtrit: what stats.norm.ppf and stats.t.ppf call, without stats' import


@lru_cache(maxsize=64)
def two_sided_z(level: float) -> float:
    """Normal quantile z with P(|Z| <= z) = level: norm.ppf(0.5 + level / 2) (1.95996... at 0.95)."""
    return float(special.ndtri(0.5 + level / 2))


Z_95 = two_sided_z(0.95)
"""The two-sided 95 % normal quantile, 1.959963984540054: the default where a caller passes no level."""


@lru_cache(maxsize=64)
def one_sided_z(level: float) -> float:
    """Normal quantile z with P(Z <= z) = level: the multiplier of a one-sided bound (1.645 at 0.95)."""
    return float(special.ndtri(level))


def two_sided_t(level: float, dof: float) -> float:
    """Student t quantile with P(|T| <= t) = level on dof degrees of freedom: t.ppf(0.5 + level / 2, dof)."""
    return float(special.stdtrit(dof, 0.5 + level / 2))


def least_squares_covariance(jacobian: npt.NDArray[np.float64], residual_variance: float) -> npt.NDArray[np.float64]:
    """Asymptotic parameter covariance of a least-squares fit: (J^T J)^-1 s^2, J the residuals' Jacobian.

    The Gauss-Newton (Wald) approximation: Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its
    Applications, Wiley, ch. 2; s^2 the residual variance on the fit's degrees of freedom. Raises
    numpy.linalg.LinAlgError when J^T J is singular.
    """
    return np.linalg.inv(jacobian.T @ jacobian) * residual_variance
