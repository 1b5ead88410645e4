"""combine_log_normal on synthetic, seeded populations: a stable spine is combined as before (coverage 90-98 %),
a changing spine is reported as changing and its interval covers the present (last sweep's) truth; combine_normal,
the same rules on a linear scale (values that can be zero or negative), likewise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rig.model.combine import combine_log_normal, combine_normal, trend_test

Z = 1.96


def _sweeps(rng: np.random.Generator, log_truth: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """Per-sweep estimates with honest 95 % log-normal intervals of random width (SD 0.05-0.3 in log)."""
    sd = rng.uniform(0.05, 0.3, log_truth.size)
    y = log_truth + rng.normal(0.0, sd)
    return list(np.exp(y)), list(np.exp(y - Z * sd)), list(np.exp(y + Z * sd))


def _reference(values: list[float], lows: list[float], highs: list[float]) -> tuple[float, float, float]:
    """The combination as it was before trends existed (inverse variance in log space, Birge-widened)."""
    y = np.log(values)
    sd = (np.log(highs) - np.log(lows)) / (2 * Z)
    w = 1 / sd**2
    mean = float(np.sum(w * y) / np.sum(w))
    s = math.sqrt(1 / np.sum(w)) * max(1.0, math.sqrt(float(np.sum(w * (y - mean) ** 2)) / (len(y) - 1)))
    return math.exp(mean), math.exp(mean - Z * s), math.exp(mean + Z * s)


def test_stable_spine_is_combined_as_before_with_honest_coverage() -> None:
    """2000 stable spines, 3-10 sweeps: coverage 90-98 %, trend false alarms <= 2 %, untrended results unchanged."""
    rng = np.random.default_rng(11)
    covered = alarms = 0
    trials = 2000
    for _ in range(trials):
        truth = math.log(rng.uniform(10, 1000))
        n = int(rng.integers(3, 11))
        c = combine_log_normal(*_sweeps(rng, np.full(n, truth)))
        covered += c.low <= math.exp(truth) <= c.high
        if c.trend:
            alarms += 1
        else:
            assert c.n == n
    print(f"stable: coverage {covered / trials:.3f}, trend false alarms {alarms / trials:.3f}")
    assert 0.90 <= covered / trials <= 0.98
    assert alarms / trials <= 0.02


def test_untrended_result_equals_the_previous_combination() -> None:
    """Stable data: value and interval are exactly those of the inverse-variance, Birge-widened mean."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        values, lows, highs = _sweeps(rng, np.full(6, math.log(40.0)))
        c = combine_log_normal(values, lows, highs)
        if c.trend:
            continue
        assert (c.value, c.low, c.high) == pytest.approx(_reference(values, lows, highs), rel=1e-12)
    single = combine_log_normal([50.0], [40.0], [62.5])
    assert single.trend == "" and single.value == pytest.approx(50.0) and single.n == 1


@pytest.mark.parametrize("shape", ["log_linear", "rise_then_plateau", "falling"])
def test_changing_spine_is_reported_and_covers_the_present_truth(shape: str) -> None:
    """x3 rise over 8 sweeps, x5 in 4 sweeps then 6 on a plateau, or a run-down to 1/3: the trend is reported
    (>= 90 % of spines; >= 80 % for the plateau, whose line fits badly), the interval then covers the last
    sweep's truth as often as it says, and every spine either says it is changing or covers the present truth
    (>= 95 %)."""
    rng = np.random.default_rng({"log_linear": 1, "rise_then_plateau": 2, "falling": 3}[shape])
    trials, covered, reported, either, widths = 600, 0, 0, 0, []
    for _ in range(trials):
        base = math.log(rng.uniform(20, 200))
        if shape == "log_linear":
            log_truth = base + np.linspace(0, math.log(3.0), 8)
        elif shape == "rise_then_plateau":
            log_truth = base + np.concatenate((np.linspace(0, math.log(5.0), 4), np.full(6, math.log(5.0))))
        else:
            log_truth = base - np.linspace(0, math.log(3.0), 8)
        c = combine_log_normal(*_sweeps(rng, log_truth), name="tau")
        hit = c.low <= math.exp(log_truth[-1]) <= c.high
        reported += bool(c.trend)
        covered += hit and bool(c.trend)
        either += hit or bool(c.trend)
        widths.append(math.log(c.high / c.low))
    print(f"{shape}: trend reported {reported / trials:.3f}, present truth covered when reported "
          f"{covered / max(reported, 1):.3f}, reported or covered {either / trials:.3f}, "
          f"median log width {np.median(widths):.2f}")
    assert reported / trials >= (0.8 if shape == "rise_then_plateau" else 0.9)
    assert 0.90 <= covered / reported <= 0.995
    assert either / trials >= 0.95


def test_trend_sentence_names_quantity_direction_fold_and_sweeps() -> None:
    """A clean x3 rise over sweeps 1-8 reads 'tau rose x3.0 over sweeps 1-8'; a fall says 'fell'."""
    truth = np.linspace(0, math.log(3.0), 8) + math.log(30.0)
    values = list(np.exp(truth))
    lows = [v / 1.2 for v in values]
    highs = [v * 1.2 for v in values]
    c = combine_log_normal(values, lows, highs, name="tau")
    assert c.trend == "tau rose x3.0 over sweeps 1-8"
    assert c.low <= values[-1] <= c.high
    fell = combine_log_normal(values[::-1], lows[::-1], highs[::-1], name="tau", sweeps=range(4, 12))
    assert fell.trend == "tau fell x3.0 over sweeps 5-12"
    fold, p = trend_test(values, lows, highs)
    assert fold == pytest.approx(3.0) and p < 1e-3


@pytest.mark.parametrize("change", [0.0, -0.5])
def test_linear_scale_stable_and_run_down(change: float) -> None:
    """Peaks of 4 mM (SD 0.2-0.6 mM) over 8 sweeps, stable or run down by half (photodamage):
    a stable spine covers its truth 90-98 % with <= 3 % false trends; a run-down is reported on >= 90 % of spines
    and then covers the last sweep's truth 90-99.5 % of the time."""
    rng = np.random.default_rng(21 if change else 22)
    trials, covered, reported = 800, 0, 0
    for _ in range(trials):
        truth = 4.0 * (1.0 + change * np.linspace(0, 1, 8))
        sd = rng.uniform(0.2, 0.6, truth.size)
        c = combine_normal(list(truth + rng.normal(0.0, sd)), list(sd), Z, name="na_peak_mM", sweeps=range(1, 9))
        reported += bool(c.trend)
        target = truth[-1] if c.trend else float(np.mean(truth))
        covered += c.low <= target <= c.high and (bool(c.trend) or not change)
    if change:
        assert reported / trials >= 0.9
        assert 0.90 <= covered / reported <= 0.995
    else:
        assert reported / trials <= 0.03
        assert 0.90 <= covered / trials <= 0.98


def test_linear_scale_sentence_says_by_how_much() -> None:
    """A clean fall from 4 to 2 mM over sweeps 2-9 reads 'na_peak_mM fell by 2 over sweeps 2-9', value the last."""
    truth = np.linspace(4.0, 2.0, 8)
    c = combine_normal(list(truth), [0.1] * 8, Z, name="na_peak_mM", sweeps=range(1, 9))
    assert c.trend == "na_peak_mM fell by 2 over sweeps 2-9"
    assert c.value == pytest.approx(2.0) and c.low < 2.0 < c.high
    flat = combine_normal([0.5, -0.2, 0.1], [0.3, 0.3, 0.3], Z)
    assert flat.trend == "" and flat.value == pytest.approx(0.4 / 3)


def test_expected_drift_gives_the_present_value_without_a_significant_trend() -> None:
    """Peaks run down by 40 % over 8 sweeps with SD 0.6-1.2 mM (too noisy to show a trend in most spines): with
    drift_expected the interval covers the last sweep's truth 90-98.5 % of the time (the average would not); on a
    stable spine it still covers the truth 90-98 %."""
    for change, seed in ((-0.4, 31), (0.0, 32)):
        rng = np.random.default_rng(seed)
        trials, covered, averaged = 800, 0, 0
        for _ in range(trials):
            truth = 4.0 * (1.0 + change * np.linspace(0, 1, 8))
            sd = rng.uniform(0.6, 1.2, truth.size)
            values = list(truth + rng.normal(0.0, sd))
            c = combine_normal(values, list(sd), Z, drift_expected=True)
            covered += c.low <= truth[-1] <= c.high
            plain = combine_normal(values, list(sd), Z)
            averaged += plain.low <= truth[-1] <= plain.high
        assert 0.90 <= covered / trials <= 0.985, (change, covered / trials)
        if change:
            assert averaged / trials < 0.8  # the average of a run-down misses the present
