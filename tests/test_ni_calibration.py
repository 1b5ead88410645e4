"""Pockels calibration and bleach gate, TTL trains, MultiClamp scaling and telegraph decoding, on values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rig.config.device_specs import AmplifierScaling, PockelsCalibrationSpec, TelegraphSpec
from rig.config.profile import load_profile
from rig.devices.signals import multiclamp, telegraph
from rig.devices.signals.pockels import (
    PockelsCalibration,
    bleach_gate,
    gate_samples,
    line_scan_beam_mask,
    power_waveform,
)
from rig.devices.signals.ttl import alternate_leds, frame_triggers, pulse_train, to_ttl, ttl_volts

ROOT = Path(__file__).resolve().parents[1]


def two_photon():
    return load_profile(ROOT / "hardware_profiles" / "two_photon_rig.yaml").profile


def test_pockels_table_to_volts_and_back():
    cal = PockelsCalibration.from_spec(two_photon().devices["laser"].calibration)
    np.testing.assert_allclose(cal.to_volts([0.0, 0.5, 1.0]), [0.0, 1.0, 2.0])
    assert cal.to_volts(0.1)[()] == pytest.approx(0.25 + (0.1 - 0.0381) / (0.1464 - 0.0381) * 0.25)
    np.testing.assert_allclose(cal.to_power(cal.to_volts(np.linspace(0, 1, 11))), np.linspace(0, 1, 11))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        cal.to_volts([0.2, 1.2])
    assert cal.range_V == (0.0, 2.0)


def test_calibration_table_must_rise_and_span_0_to_1():
    with pytest.raises(ValueError, match="increase"):
        PockelsCalibrationSpec(points=[(0, 0), (1, 0.6), (2, 0.5), (3, 1)])
    with pytest.raises(ValueError, match="span exactly 0 to 1"):
        PockelsCalibrationSpec(points=[(0, 0.02), (2, 1.0)])


def test_bleach_gate_is_sample_exact():
    assert gate_samples(0.5, 50_000) == 25  # the FRAP bleach at the two-photon rig's FRAP rate
    assert gate_samples(0.5, 250_000) == 125
    with pytest.raises(ValueError, match="not a whole number"):
        gate_samples(0.5, 62_500)  # 31.25 samples cannot be a sample-exact 0.5 ms
    gate = bleach_gate(1000, 400, 0.5, 50_000)
    assert gate.sum() == 25 and gate[400] and gate[424] and not gate[399] and not gate[425]
    with pytest.raises(ValueError, match="does not fit"):
        bleach_gate(410, 400, 0.5, 50_000)


def test_power_waveform_blanks_flyback_and_parks_and_gates_the_bleach():
    mask = line_scan_beam_mask(n_samples=520, first_sample=10, samples_per_line=100, active_samples=80, n_slots=5,
                               park_slots=(2,))
    assert mask.sum() == 4 * 80
    assert not mask[:10].any() and mask[10:90].all() and not mask[90:110].any()
    assert not mask[210:310].any()  # parked slot: no imaging light
    gate = bleach_gate(520, 235, 0.5, 50_000)
    power = power_waveform(mask, 0.1, gate, 1.0)
    assert np.count_nonzero(power == 1.0) == 25
    assert np.count_nonzero(power == 0.1) == 320
    assert power[95] == 0.0 and power[300] == 0.0


def test_ttl_checks_and_pulse_trains():
    np.testing.assert_array_equal(to_ttl(np.array([0, 1, 1, 0])), [False, True, True, False])
    with pytest.raises(ValueError, match="only 0 and 1"):
        to_ttl(np.array([0, 0.5]))
    np.testing.assert_allclose(ttl_volts(np.array([True, False]), 5.0), [5.0, 0.0])
    pair = pulse_train(2000, 50_000, start_ms=10, width_ms=0.2, count=2, interval_ms=12)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], pair))) > 0)
    np.testing.assert_array_equal(edges, [500, 1100])  # 10 ms and 22 ms at 50 kHz
    assert pair.sum() == 2 * 10  # 0.2 ms = 10 samples each
    train = pulse_train(10_000, 50_000, 0, 1.0, count=5, interval_ms=10, amplitude=-4.0)
    assert np.count_nonzero(train == -4.0) == 250
    with pytest.raises(ValueError, match="must exceed the pulse width"):
        pulse_train(1000, 50_000, 0, 1.0, count=2, interval_ms=0.5)
    with pytest.raises(ValueError, match="does not fit"):
        pulse_train(100, 50_000, 1.9, 0.2)


def test_led_alternation_and_frame_triggers():
    leds = alternate_leds(["uv385", "green520"], n_samples=1000, first_sample=0, frame_period_samples=100,
                          exposure_samples=80, n_frames=10)
    assert leds["uv385"].sum() == leds["green520"].sum() == 5 * 80
    assert leds["uv385"][0:80].all() and not leds["uv385"][100:200].any() and leds["green520"][100:180].all()
    assert not (leds["uv385"] & leds["green520"]).any()
    trig = frame_triggers(1000, 0, 100, 10, width_samples=2)
    assert trig.sum() == 20 and trig[100] and trig[101] and not trig[102]


def test_multiclamp_scaling():
    s = AmplifierScaling()
    assert multiclamp.command_volts(-70.0, "VC", s)[()] == pytest.approx(-3.5)
    assert multiclamp.command_volts(-400.0, "CC", s)[()] == pytest.approx(-1.0)
    assert multiclamp.command_units(-3.5, "VC", s)[()] == pytest.approx(-70.0)
    with pytest.raises(ValueError, match="outside the command range"):
        multiclamp.command_volts(300.0, "VC", s)  # 15 V
    assert multiclamp.primary_units(np.array([0.5]), "VC", s)[0] == pytest.approx(1000.0)  # 0.5 V = 1 nA
    assert multiclamp.primary_units(np.array([0.5]), "VC", s, gain=10)[0] == pytest.approx(100.0)
    assert multiclamp.primary_units(np.array([-0.7]), "CC", s)[0] == pytest.approx(-70.0)
    assert multiclamp.secondary_units(np.array([-0.7]), "VC", s)[0] == pytest.approx(-70.0)
    assert multiclamp.secondary_units(np.array([0.05]), "CC", s)[0] == pytest.approx(100.0)
    assert multiclamp.safe_command("CC", -70.0, 0.0) == 0.0


def test_telegraph_decoding_and_check():
    spec = two_photon().devices["amplifier"].telegraph
    assert telegraph.decode(spec, 5.9, 2.1) == telegraph.TelegraphReading("VC", 1.0)
    assert telegraph.decode(spec, 2.05, 3.48) == telegraph.TelegraphReading("CC", 10.0)
    assert telegraph.decode(spec, None, None) == telegraph.TelegraphReading(None, None)
    with pytest.raises(telegraph.TelegraphError, match="matches no level"):
        telegraph.decode(spec, 4.6, None)
    wide = TelegraphSpec(mode="Dev1/ai6", mode_levels_V={"VC": 6.0, "CC": 5.5}, tolerance_V=0.3)
    with pytest.raises(telegraph.TelegraphError, match="both"):
        telegraph.decode(wide, 5.75, None)
    ok = telegraph.check_reading(telegraph.TelegraphReading("VC", 1.0), "amp", "VC", 1.0)
    assert ok == []
    bad = telegraph.check_reading(telegraph.TelegraphReading("CC", 5.0), "amp", "VC", 1.0)
    assert len(bad) == 2 and "is in CC" in bad[0] and "gain is 5" in bad[1]
    assert telegraph.mean_volts(np.array([5.9, 6.1])) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="needs mode_levels_V"):
        TelegraphSpec(mode="Dev1/ai6")
