"""The population plot's points: which estimates count as R_neck or tau, bounds included (pure, no window)."""

from rig.datatypes.records import Estimate
from rig.gui.population import StepSpine, population_points


def test_a_long_frap_tau_published_as_a_bound_is_a_tau_point():
    """A recovery too slow for its sweep gives tau_frap_lower_bound_ms: the plot must still show that spine."""
    step = StepSpine(0, "frap", "frap", (1.0, 0.0))
    latest = {(0, "frap", "tau_frap_lower_bound_ms"): Estimate(3, "frap", "tau_frap_lower_bound_ms", 900.0, 700.0,
                                                                 float("nan"), "ms", bound="lower"),
              (0, "frap", "neck_resistance_lower_bound_MOhm"): Estimate(3, "frap", "neck_resistance_lower_bound_MOhm",
                                                                         2000.0, 1500.0, float("nan"), "MOhm",
                                                                         bound="lower"),
              (0, "frap", "fcat"): Estimate(3, "frap", "fcat", 0.3, 0.2, 0.4, "1")}
    points = population_points(latest, {(0, "frap"): step})
    assert sorted((p.quantity, p.estimate.name) for p in points) == [
        ("R_neck", "neck_resistance_lower_bound_MOhm"), ("tau", "tau_frap_lower_bound_ms")]
    assert all(p.drawable and p.estimate.bound == "lower" for p in points)
