"""The pure fCaT -> head depolarization inversion, the Ca-signal helpers and pharmacology conditions."""

from __future__ import annotations

import numpy as np
import pytest

from rig.analysis.calcium_signal import dg_over_r, matched_amplitude_sd
from rig.analysis.release_mixture import release_ratio
from rig.model.head_depolarization import FcatModel, head_depolarization, predicted_fcat
from rig.model.neck_resistance import Interval
from rig.protocols.fcat.analysis import published_fcat
from rig.protocols.shared.conditions import bath_of


def test_predicted_fcat_rises_with_depolarization_and_starts_at_the_mg_block_ratio():
    model = FcatModel()
    values = [predicted_fcat(model, dv) for dv in (0, 5, 10, 20, 40, 70)]
    assert all(b > a for a, b in zip(values, values[1:]))
    b_rest = 1 / (1 + 1 / 3.57 * np.exp(0.062 * 70))
    b_rev = 1 / (1 + 1 / 3.57)
    assert values[0] == pytest.approx(b_rest * 200 / (b_rev * 130), rel=1e-6)


@pytest.mark.parametrize("peak_mV", [3.0, 12.0, 30.0])
def test_inversion_round_trips_and_its_interval_contains_the_value(peak_mV):
    model = FcatModel(depolarization_tau_rise_ms=5.0, depolarization_tau_decay_ms=40.0)
    f = predicted_fcat(model, peak_mV)
    est = head_depolarization(Interval(f, f * 0.98, f * 1.02, "1"), model)
    assert est.estimate.value == pytest.approx(peak_mV, abs=0.01)
    assert est.estimate.low < peak_mV < est.estimate.high
    assert est.note == ""


def test_fcat_below_the_resting_value_says_so_instead_of_a_nan():
    est = head_depolarization(Interval(0.01, 0.0, 0.02, "1"), FcatModel())
    assert est.estimate.value == 0.0 and est.estimate.low == 0.0
    assert "at or below" in est.note


def test_dg_over_r_subtracts_dark_and_refuses_a_line_off_the_spine():
    t = np.arange(50) * 2.0
    green = np.where(t >= 40, 30.0, 20.0) + 5.0
    red = np.full(50, 15.0)
    trace = dg_over_r(green, red, t, 5.0, 5.0, 40.0)
    assert trace.dg_over_r[-1] == pytest.approx(1.0) and trace.g_over_r_baseline == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no red"):
        dg_over_r(green, np.full(50, 5.0), t, 5.0, 5.0, 40.0)


def test_matched_amplitude_sd_matches_the_spread_of_fitted_noise():
    rng = np.random.default_rng(1)
    shape = np.exp(-np.arange(60) / 15.0)
    design = np.column_stack((np.ones(60), shape))
    amps = [np.linalg.lstsq(design, rng.normal(0, 0.2, 60), rcond=None)[0][1] for _ in range(2000)]
    assert np.std(amps) == pytest.approx(matched_amplitude_sd(shape, 0.2), rel=0.08)


def test_conditions_map_to_blockers_and_unknown_ones_are_named():
    assert bath_of("NBQX+CPP") == {"block_ampa": True, "block_nmda": True}
    assert bath_of("Ca-free") == {"external_ca_mM": 0.0}
    with pytest.raises(ValueError, match="unknown condition aspirin"):
        bath_of("NBQX+aspirin")


def _noise_traces(rng: np.random.Generator, n: int, shape: np.ndarray, amplitudes: np.ndarray):
    from rig.analysis.calcium_signal import RatioTrace

    times = np.arange(shape.size) * 2.0 + 1.0
    return [RatioTrace(times, a * shape + rng.normal(0, 1, shape.size), 1.0, 100.0) for a in amplitudes]


def test_a_condition_keeps_the_borrowed_shape_until_its_detections_beat_false_positives():
    """One noise excursion past 2.5 SD in 30 failures must not give the condition a noise-fitted shape of its own
    (it raised every CC amplitude: fCaT x2-10 high on low-fCaT spines); three large releases do."""
    from rig.analysis.transients import InfluxTemplate
    from rig.protocols.shared.calcium_transients import ConditionTransients

    times = np.arange(150) * 2.0 + 1.0
    borrowed = InfluxTemplate(32.0, 13.0, 70.0, 100.0, "fitted")
    shape = borrowed.shape(times)
    failures = _noise_traces(np.random.default_rng(0), 30, shape, np.zeros(30))
    without_rule = ConditionTransients(30.0)
    without_rule.fallback = borrowed
    for k, trace in enumerate(failures):
        without_rule.add(k, trace)
    assert without_rule.fitted  # this seed's noise fools the plain 2.5 SD rule (9 of 12 seeds do)
    group = ConditionTransients(30.0, own_shape_alpha=0.01)
    group.fallback = borrowed
    for k, trace in enumerate(failures):
        group.add(k, trace)
    assert not group.fitted and group.template is borrowed, group.source
    rng = np.random.default_rng(3)
    for k, trace in enumerate(_noise_traces(rng, 3, shape, np.full(3, 12.0)), start=30):
        group.add(k, trace)
    assert group.fitted and group.successes_used >= 3


def test_release_trend_reports_a_run_down_and_not_quantal_scatter():
    from rig.protocols.fcat.trend import release_trend

    rng = np.random.default_rng(5)
    sweeps = np.arange(20)
    released = np.ones(20, bool)
    sd = np.full(20, 1.0)
    scatter = rng.gamma(16.0, 1 / 16.0, 20)  # quantal CV 0.25
    assert release_trend(sweeps, 20.0 * scatter, sd, released, 1.96, "at the reversal") is None
    falling = 20.0 * scatter * np.linspace(1.0, 0.4, 20)
    trend = release_trend(sweeps, falling, sd, released, 1.96, "at the reversal")
    assert trend is not None and trend.fold < 0.7
    assert trend.sentence.startswith("CaT per release at the reversal fell x") and "over sweeps 1-20" in trend.sentence


def test_published_fcat_is_cut_at_zero_where_noise_takes_the_ratio_below_it():
    """A Ca-silent spine (no CC CaT per release): the mixture ratio of noisy trials falls below 0 on some draws;
    what is published never does, and a ratio above 0 is published unchanged."""
    rng = np.random.default_rng(3)
    raw_negative = 0
    for k in range(12):
        released_a = rng.random(30) < 0.4
        a = released_a * 20.0 * rng.gamma(16.0, 1 / 16.0, 30) + rng.normal(0, 1, 30)
        b = rng.normal(0, 1, 30)  # silent: CC trials are noise only
        ratio = release_ratio(a, np.ones(30), b, np.ones(30), resamples=100, seed=k)
        shown = published_fcat(ratio)
        raw_negative += ratio.value < 0
        assert shown.value >= 0 and shown.low >= 0 and shown.low <= shown.value <= shown.high
        assert shown.high == ratio.high
        if ratio.value >= 0:
            assert shown.value == ratio.value
    assert raw_negative >= 3  # the cut is exercised


def test_a_sweep_that_adds_no_detection_reuses_the_fit_and_a_new_detection_refits():
    """The template fit to a set of detected sweeps is memoised by that set: failures added after it leave the very
    same template (no refit of the same average); a new release changes the set and refits."""
    from rig.analysis.transients import InfluxTemplate
    from rig.protocols.shared.calcium_transients import ConditionTransients

    times = np.arange(150) * 2.0 + 1.0
    shape = InfluxTemplate(32.0, 13.0, 70.0, 100.0, "fitted").shape(times)
    rng = np.random.default_rng(4)
    group = ConditionTransients(30.0, own_shape_alpha=0.01)
    for k, trace in enumerate(_noise_traces(rng, 4, shape, np.full(4, 12.0))):
        group.add(k, trace)
    assert group.fitted
    fitted, used = group.template, group.successes_used
    for k, trace in enumerate(_noise_traces(rng, 5, shape, np.zeros(5)), start=4):
        group.add(k, trace)
        assert group.template is fitted and group.successes_used == used
    group.add(9, _noise_traces(rng, 1, shape, np.array([12.0]))[0])
    assert group.template is not fitted and group.successes_used == used + 1
    fresh = ConditionTransients(30.0, own_shape_alpha=0.01)
    for k, trace in enumerate(group.traces):
        fresh.add(k, trace)
    assert fresh.template == group.template  # the memo gives what fitting afresh gives
