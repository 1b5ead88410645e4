"""Frame processing on synthetic images with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from rig.analysis.imaging import (
    correct_bleaching,
    darkest_corner,
    estimate_shift,
    footprint_copies,
    line_profile,
    matched_head_weights,
    normalise_by_corner,
    register,
    roi_delta_f_over_f,
    split_by_led,
)
from rig.analysis.kinetics import half_width


def _blob(shape=(80, 80), centre=(40.0, 50.0), sigma=3.0, amp=100.0):
    y, x = np.mgrid[: shape[0], : shape[1]]
    return amp * np.exp(-((y - centre[0]) ** 2 + (x - centre[1]) ** 2) / (2 * sigma**2))


def test_split_uses_the_led_record_even_with_a_dropped_frame():
    leds = np.array(["uv385", "green520"] * 5)
    frames = np.arange(10, dtype=float)[:, None, None] * np.ones((10, 2, 2))
    times = np.arange(10) * 2.0
    keep = np.delete(np.arange(10), 3)  # frame 3 (green) was dropped
    channels = split_by_led(frames[keep], leds[keep], times[keep])
    assert channels["uv385"].frames[:, 0, 0].tolist() == [0, 2, 4, 6, 8]
    assert channels["green520"].frames[:, 0, 0].tolist() == [1, 5, 7, 9]  # assuming alternation would mix them


def test_corner_normalisation_removes_led_drift():
    image = _blob() + 10.0
    drift = np.linspace(1.0, 0.8, 20)
    frames = image[None] * drift[:, None, None]
    corner = darkest_corner(image, 8)
    out = normalise_by_corner(frames, corner)
    assert np.ptp(out[:, 40, 50]) < 1e-9


def test_bleach_correction_flattens_a_decaying_no_stimulus_sweep():
    decay = np.exp(-np.arange(50) / 100.0)[:, None, None] * np.ones((50, 4, 4))
    stim = decay.copy()
    stim[20:25] *= 1.2
    corrected = correct_bleaching(stim, decay, slice(0, 10))
    assert corrected[30, 0, 0] == pytest.approx(corrected[5, 0, 0], rel=1e-9)
    assert corrected[22, 0, 0] == pytest.approx(1.2 * corrected[5, 0, 0], rel=1e-9)


@pytest.mark.parametrize("dy, dx", [(1.5, -2.25), (-3.0, 0.5)])
def test_registration_recovers_a_subpixel_shift(dy, dx):
    ref = _blob() + _blob(centre=(20, 20), sigma=4, amp=50)
    from scipy import ndimage

    moved = ndimage.shift(ref, (dy, dx), order=3)
    est = estimate_shift(ref, moved)
    assert est == pytest.approx((-dy, -dx), abs=0.2)
    stack, applied = register(np.repeat(moved[None], 3, axis=0), ref)
    assert np.abs(stack[0] - ref)[10:70, 10:70].max() < 0.1 * ref.max()


def test_roi_dff_with_background():
    frames = np.full((30, 20, 20), 10.0)  # background 10
    roi = np.zeros((20, 20), bool)
    roi[8:12, 8:12] = True
    bg = np.zeros_like(roi)
    bg[:3, :3] = True
    frames[:, roi] += 40.0
    frames[15:, roi] += 4.0  # +10 % of the background-subtracted ROI signal
    dff = roi_delta_f_over_f(frames, roi, bg, slice(0, 10))
    assert dff[20] == pytest.approx(0.10)
    assert dff[5] == pytest.approx(0.0)


def test_spatial_extent_is_fwhm_along_a_line():
    sigma_px = 1.4
    img = _blob(sigma=sigma_px)
    values, dist = line_profile(img, (40, 30), (40, 70), 401)
    assert half_width(dist, values) == pytest.approx(2.3548 * sigma_px, rel=0.02)


def test_matched_head_weights_follow_the_head_and_beat_a_disc_on_noise():
    """A blurred head beside a dendrite edge: weights follow the head's own light; dF/F is unbiased, with less noise."""
    y, x = np.mgrid[:80, :80]
    dendrite = 40.0 * np.exp(-((x - 30.0) ** 2) / (2 * 4.0**2)) + 20.0  # along the rows: same at every row
    head = _blob(centre=(40.0, 36.0), sigma=1.2, amp=60.0)
    offsets = [(-9, 0), (-6, 0), (6, 0), (9, 0)]
    near = (y - 40.0) ** 2 + (x - 36.0) ** 2 <= 4.0**2
    weights = matched_head_weights(dendrite + head, near, offsets)
    assert weights.max() == 1.0 and weights[40, 36] == 1.0 and weights[~near].sum() == 0.0
    background = footprint_copies(weights, offsets)
    assert background.sum() == pytest.approx(weights.sum()) and background[40, 36] == 0.0
    disc = (y - 40.0) ** 2 + (x - 36.0) ** 2 <= 2.0**2
    rng = np.random.default_rng(3)
    scale = np.r_[np.ones(20), np.full(30, 1.3)]  # a 30 % rise of the head after frame 20
    clean = dendrite[None] + head[None] * scale[:, None, None]
    truth = scale - 1.0
    for w, bg in ((weights, background), (disc, footprint_copies(disc.astype(float), offsets))):
        assert roi_delta_f_over_f(clean, w, bg, slice(0, 20)) == pytest.approx(truth, abs=1e-9)
    pairs = {"matched": (weights, background), "disc": (disc, footprint_copies(disc.astype(float), offsets))}
    errors: dict[str, list[np.ndarray]] = {name: [] for name in pairs}
    for _ in range(40):
        noisy = clean + rng.normal(0.0, 3.0, clean.shape)
        for name, (w, bg) in pairs.items():
            errors[name].append(roi_delta_f_over_f(noisy, w, bg, slice(0, 20)) - truth)
    err = {name: float(np.std(e)) for name, e in errors.items()}
    assert err["matched"] < 0.9 * err["disc"]
