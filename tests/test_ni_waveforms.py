"""Galvo line/frame waveforms, PMT reconstruction and scanner calibration, checked on values."""

from __future__ import annotations

import numpy as np
import pytest

from rig.devices.signals.reconstruction import fold_frames, fold_lines, phase_samples, pmt_signal
from rig.devices.signals.scanner_calibration import ImageGeometry, ScannerCalibration, image_line_to_volts
from rig.engine.galvo_waveforms import (
    FrameScanSpec,
    ScanLineSpec,
    frame_waveform_um,
    hermite,
    line_fraction,
    line_waveform_um,
)


def test_line_geometry_from_fill_fraction_and_binning():
    spec = ScanLineSpec((0, 0), (4, 0), pixels_per_line=80, fill_fraction=0.8)
    assert (spec.active_samples, spec.samples_per_line, spec.turnaround_samples) == (80, 100, 20)
    assert spec.line_rate_hz(50_000) == 500
    binned = ScanLineSpec((0, 0), (4, 0), pixels_per_line=80, samples_per_pixel=2, fill_fraction=0.8)
    assert (binned.active_samples, binned.samples_per_line, binned.turnaround_samples) == (160, 200, 40)
    with pytest.raises(ValueError, match="fill_fraction"):
        ScanLineSpec((0, 0), (1, 0), 10, fill_fraction=1.5)
    with pytest.raises(ValueError, match="turnaround"):
        ScanLineSpec((0, 0), (1, 0), 100, fill_fraction=0.999)


def test_hermite_values():
    np.testing.assert_allclose(hermite(0.0, 0.0, 1.0, 0.0, 1), [0.5])  # midpoint of a smooth step
    np.testing.assert_allclose(hermite(0.0, 1.0, 4.0, 1.0, 3), [1.0, 2.0, 3.0])  # a straight line stays straight


def test_unidirectional_line_active_ramp_and_turnaround_samples():
    spec = ScanLineSpec((0, 0), (4, 0), pixels_per_line=80, fill_fraction=0.8)
    f = line_fraction(spec, 2)
    assert f.shape == (200,)
    np.testing.assert_allclose(f[:80], (np.arange(80) + 0.5) / 80)  # pixel centres
    np.testing.assert_allclose(f[100:200], f[:100])  # every line identical
    turn = f[80:100]
    v = 1 / 80
    s = np.arange(1, 21) / 21  # the cubic through (79.5/80, slope v) and (0.5/80, slope v) over 21 steps
    p0, p1, m = 79.5 / 80, 0.5 / 80, v * 21
    expected = (2 * s**3 - 3 * s**2 + 1) * p0 + (s**3 - 2 * s**2 + s) * m + (3 * s**2 - 2 * s**3) * p1 \
        + (s**3 - s**2) * m
    np.testing.assert_allclose(turn, expected)
    assert turn[0] == pytest.approx(f[79] + v, rel=0.02)  # leaves the line at scan velocity
    np.testing.assert_allclose(turn + turn[::-1], p0 + p1)  # point-symmetric flyback
    assert turn.max() > f[79] and turn.min() < f[0]  # overshoots at both ends rather than jerk
    assert np.max(np.abs(np.diff(f, 2))) < 0.05  # no velocity step anywhere (smooth flyback)
    x, y = line_waveform_um(spec, 1)
    np.testing.assert_allclose(x[:80], 4 * (np.arange(80) + 0.5) / 80)
    np.testing.assert_allclose(y, 0.0)


def test_bidirectional_lines_reverse_and_turn_symmetrically():
    spec = ScanLineSpec((0, 0), (1, 0), pixels_per_line=80, fill_fraction=0.8, bidirectional=True)
    f = line_fraction(spec, 3)
    assert f.shape == (300,)
    np.testing.assert_allclose(f[100:180], f[:80][::-1])  # second line scanned backwards
    np.testing.assert_allclose(f[200:280], f[:80])
    top, bottom = f[80:100], f[180:200]
    assert top.max() > f[79] and bottom.min() < f[0]  # turns beyond the line ends
    np.testing.assert_allclose(top, top[::-1])  # symmetric reversal
    np.testing.assert_allclose(top - f[79], -(bottom - f[0]))


def test_frame_waveform_rows_and_flyback():
    spec = FrameScanSpec((1.0, 2.0), width_um=8.0, height_um=4.0, pixels_per_line=16, lines=4,
                         fill_fraction=0.8, flyback_lines=1)
    x, y = frame_waveform_um(spec, n_frames=2)
    spl = 20
    assert spec.samples_per_frame == 100 and x.shape == y.shape == (200,)
    rows = spec.row_positions_um()
    np.testing.assert_allclose(rows, [0.5, 1.5, 2.5, 3.5])
    for k in range(4):
        np.testing.assert_allclose(y[k * spl:k * spl + 16], rows[k])  # y still while the line is scanned
    np.testing.assert_allclose(x[:16], 1.0 - 4.0 + 8.0 * (np.arange(16) + 0.5) / 16)
    assert y[3 * spl + 16: 100].max() <= rows[-1] + 1e-12
    assert abs(y[99] - rows[0]) < abs(y[3 * spl + 16] - rows[0])  # flyback heads back to the first row
    np.testing.assert_allclose(x[100:], x[:100])


def test_fold_lines_with_phase_and_binning():
    spec = ScanLineSpec((0, 0), (1, 0), pixels_per_line=4, samples_per_pixel=2, fill_fraction=0.8)
    assert spec.samples_per_line == 10
    line = np.array([1, 3, 5, 7, 9, 11, 13, 15, -1, -1], dtype=float)
    samples = np.concatenate((np.zeros(3), np.tile(line, 2), np.zeros(5)))  # 3-sample lag
    np.testing.assert_allclose(fold_lines(samples, spec, 2, phase=3), [[2, 6, 10, 14]] * 2)
    np.testing.assert_allclose(fold_lines(samples, spec, 2, phase=3, reduce="sum"), [[4, 12, 20, 28]] * 2)
    assert not np.allclose(fold_lines(samples, spec, 2, phase=0), [[2, 6, 10, 14]] * 2)
    with pytest.raises(ValueError, match="record has"):
        fold_lines(samples, spec, 3, phase=3)


def test_fold_bidirectional_lines_rights_the_backward_rows():
    spec = ScanLineSpec((0, 0), (1, 0), pixels_per_line=80, fill_fraction=0.8, bidirectional=True)
    position = line_fraction(spec, 4)  # a sample that records where the beam is
    rows = fold_lines(position, spec, 4)
    np.testing.assert_allclose(rows, np.tile((np.arange(80) + 0.5) / 80, (4, 1)))


def test_fold_frames_recovers_the_rows():
    spec = FrameScanSpec((0.0, 0.0), 8.0, 4.0, pixels_per_line=16, lines=4, flyback_lines=2)
    _, y = frame_waveform_um(spec, 3)
    images = fold_frames(y, spec, 3)
    assert images.shape == (3, 4, 16)
    np.testing.assert_allclose(images[2, :, 0], spec.row_positions_um())


def test_pmt_signal_and_phase():
    np.testing.assert_allclose(pmt_signal(np.array([-0.5, 0.1]), invert=True, dark_offset_V=0.1), [0.6, 0.0])
    assert phase_samples(20.0, 250_000) == 5
    assert phase_samples(0.0, 50_000) == 0


def test_scanner_calibration_volts_and_limits():
    cal = ScannerCalibration(0.0125, 0.01, (0.1, -0.2), 5.0)
    vx, vy = cal.to_volts(np.array([0.0, 40.0]), np.array([10.0, 0.0]))
    np.testing.assert_allclose(vx, [0.1, 0.6])
    np.testing.assert_allclose(vy, [-0.1, -0.2])
    bx, by = cal.to_um(vx, vy)
    np.testing.assert_allclose(bx, [0, 40])
    np.testing.assert_allclose(by, [10, 0])
    with pytest.raises(ValueError, match="beyond the"):
        cal.to_volts(500.0, 0.0)


def test_scan_line_drawn_on_an_image_maps_to_galvo_volts():
    geometry = ImageGeometry(centre_um=(10.0, -5.0), pixel_size_um=0.5, shape=(64, 64))
    assert geometry.pixel_to_um(31.5, 31.5) == (10.0, -5.0)
    cal = ScannerCalibration(0.01, 0.02, (0.0, 0.0), 10.0)
    start, end = image_line_to_volts(geometry, (31.5, 31.5), (41.5, 31.5), cal)
    assert start == pytest.approx((0.1, -0.1))
    assert end == pytest.approx((0.15, -0.1))  # 10 px * 0.5 um * 0.01 V/um further in x
