"""The one-source formulas (rig/model/biophysics.py, rig/analysis/confidence.py, calibration, line_scan) against
independent derivations, and the simulator using the same functions as the analysis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from rig.analysis.calibration import (
    bound_fraction,
    calcium_per_ap_from_ratio,
    feller_calcium_change,
    feller_ratio,
    grynkiewicz_concentration,
)
from rig.analysis.confidence import Z_95, least_squares_covariance, one_sided_z, two_sided_t, two_sided_z
from rig.analysis.line_scan import along_line_um
from rig.model.biophysics import (
    MG_BLOCK_MM,
    neck_diffusion_tau_ms,
    neck_geometry_resistance_MOhm,
    neck_radius_for_resistance_um,
    neck_resistance_MOhm,
    nmda_unblocked_fraction,
)


def test_mg_block_halves_at_0_mV_with_3_57_mM_and_follows_the_exponential() -> None:
    assert float(nmda_unblocked_fraction(0.0, MG_BLOCK_MM)) == pytest.approx(0.5, rel=1e-15)
    assert float(nmda_unblocked_fraction(-70.0, 0.0)) == 1.0
    v = np.array([-80.0, -40.0, 0.0, 40.0])
    b = nmda_unblocked_fraction(v, 1.0)
    # the odds blocked/unblocked are [Mg]/3.57 exp(-0.062 V): their log is linear in V with slope -0.062 / mV
    log_odds = np.log((1.0 - b) / b)
    assert np.diff(log_odds) / np.diff(v) == pytest.approx(np.full(3, -0.062), rel=1e-9)


def test_neck_resistance_from_tau_equals_the_geometric_resistance() -> None:
    rho, d, volume, length, radius = 150.0, 0.12, 0.3, 0.8, 0.07
    area = math.pi * radius**2
    tau = neck_diffusion_tau_ms(volume, length, area, d)
    assert neck_resistance_MOhm(tau, rho, d, volume) == pytest.approx(
        neck_geometry_resistance_MOhm(rho, length, area), rel=1e-12)
    # 150 ohm cm through 0.8 um of a 0.14 um wide neck: 1.5e6 ohm um * 0.8 um / 0.0154 um2 = 78 MOhm
    assert neck_geometry_resistance_MOhm(rho, length, area) == pytest.approx(1.5e6 * 0.8 / area / 1e6, rel=1e-12)
    r = neck_geometry_resistance_MOhm(rho, length, area)
    assert neck_radius_for_resistance_um(rho, length, r) == pytest.approx(radius, rel=1e-12)


def test_grynkiewicz_inverts_the_binding_curve() -> None:
    kd, f_min, f_max = 0.8, 1.0, 15.0
    for conc in (0.05, 0.8, 5.0):
        f = f_min + (f_max - f_min) * float(bound_fraction(conc, kd))
        assert grynkiewicz_concentration(f, f_min, f_max, kd) == pytest.approx(conc, rel=1e-12)


def test_feller_recovers_equal_calcium_steps_on_a_saturating_indicator() -> None:
    rest, kd, step = 0.05, 0.8, 0.3
    f0, f1, f2, f3 = (float(bound_fraction(rest + k * step, kd)) for k in (0, 1, 1, 2))
    a = feller_ratio(f0, f1, f2, f3)
    assert 0 < a < 1
    assert calcium_per_ap_from_ratio(a, rest, kd) == pytest.approx(step, rel=1e-12)
    assert feller_calcium_change(f0, f1, f2, f3, rest, kd) == pytest.approx(step, rel=1e-12)
    with pytest.raises(ValueError, match="must lie in"):
        calcium_per_ap_from_ratio(1.0, rest, kd)


def test_confidence_quantiles_give_their_coverage() -> None:
    rng = np.random.default_rng(3)
    z = rng.standard_normal(200_000)
    for level in (0.68, 0.9, 0.95):
        assert np.mean(np.abs(z) <= two_sided_z(level)) == pytest.approx(level, abs=0.004)
        assert np.mean(z <= one_sided_z(level)) == pytest.approx(level, abs=0.004)
    t = rng.standard_t(4, 200_000)
    assert np.mean(np.abs(t) <= two_sided_t(0.95, 4)) == pytest.approx(0.95, abs=0.004)
    assert Z_95 == two_sided_z(0.95) == pytest.approx(1.959963984540054, rel=1e-15)


def test_least_squares_covariance_matches_curve_fit() -> None:
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 10.0, 40)
    y = 2.0 * np.exp(-x / 3.0) + 0.5 + rng.normal(0.0, 0.05, x.size)

    def model(x: np.ndarray, a: float, tau: float, c: float) -> np.ndarray:
        return a * np.exp(-x / tau) + c

    def jacobian(x: np.ndarray, a: float, tau: float, c: float) -> np.ndarray:
        e = np.exp(-x / tau)
        return np.column_stack((e, a * x / tau**2 * e, np.ones_like(x)))

    popt, pcov = optimize.curve_fit(model, x, y, p0=(1.0, 2.0, 0.0), jac=jacobian, method="trf")
    s2 = float(np.sum((model(x, *popt) - y) ** 2)) / (x.size - 3)
    assert least_squares_covariance(jacobian(x, *popt), s2) == pytest.approx(pcov, rel=1e-8)


def test_along_line_is_the_projection_onto_the_scan_line() -> None:
    start, end = (1.0, 1.0), (4.0, 5.0)  # length 5, direction (0.6, 0.8)
    assert along_line_um(start, end, 5.0, (4.0, 5.0)) == pytest.approx(5.0)
    # a point 2 um off the line, beside its middle, projects onto the middle
    middle = (2.5, 3.0)
    off = (middle[0] + 2 * 0.8, middle[1] - 2 * 0.6)
    assert along_line_um(start, end, 5.0, off) == pytest.approx(2.5)


def test_the_simulator_runs_the_formulas_the_analysis_inverts() -> None:
    from simulated_devices.electrical import mg_block
    from simulated_devices.indicators import indicator

    assert mg_block is nmda_unblocked_fraction
    fluo = indicator("fluo-5F")
    assert float(fluo.bound_fraction(0.8)) == float(bound_fraction(0.8, fluo.kd_uM))
