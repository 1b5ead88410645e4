"""Camera-frame processing for Na/Ca imaging: split by LED, normalise, correct bleaching, register, ROI dF/F."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize


@dataclass(frozen=True)
class LedChannel:
    """Frames of one excitation LED with their times and their indices in the sweep."""

    led: str
    frames: np.ndarray
    times_ms: np.ndarray
    indices: np.ndarray


def split_by_led(frames: np.ndarray, led_of_frame: np.ndarray, times_ms: np.ndarray) -> dict[str, LedChannel]:
    """Split interleaved frames by the recorded LED of each frame (never by assuming alternation)."""
    leds = np.asarray(led_of_frame)
    if leds.shape[0] != frames.shape[0] or times_ms.shape[0] != frames.shape[0]:
        raise ValueError("one LED record and one time per frame are required")
    out = {}
    for led in dict.fromkeys(leds.tolist()):
        idx = np.flatnonzero(leds == led)
        out[str(led)] = LedChannel(str(led), frames[idx], times_ms[idx], idx)
    return out


def darkest_corner(image: np.ndarray, size_px: int) -> tuple[slice, slice]:
    """The image corner (size_px square) with the lowest mean: the one farthest from the dendrite."""
    h, w = image.shape
    corners = [(slice(0, size_px), slice(0, size_px)), (slice(0, size_px), slice(w - size_px, w)),
               (slice(h - size_px, h), slice(0, size_px)), (slice(h - size_px, h), slice(w - size_px, w))]
    return min(corners, key=lambda c: float(image[c].mean()))


def normalise_by_corner(frames: np.ndarray, corner: tuple[slice, slice]) -> np.ndarray:
    """Divide each frame by its corner intensity (relative to the sweep mean): removes LED intensity drift."""
    level = frames[:, corner[0], corner[1]].mean(axis=(1, 2))
    if np.any(level <= 0):
        raise ValueError("the normalisation corner has no light in some frame")
    return frames / (level / level.mean())[:, None, None]


def correct_bleaching(frames: np.ndarray, no_stimulus_frames: np.ndarray, baseline: slice) -> np.ndarray:
    """Divide by a sweep without stimulation (normalised to its baseline), frame by frame."""
    n = min(frames.shape[0], no_stimulus_frames.shape[0])
    reference = no_stimulus_frames[:n] / no_stimulus_frames[baseline].mean(axis=0, keepdims=True)
    return frames[:n] / reference


def estimate_shift(reference: np.ndarray, image: np.ndarray) -> tuple[float, float]:
    """Translation (dy, dx) in pixels that aligns `image` onto `reference`.

    Integer estimate from phase correlation, refined to sub-pixel by minimising the squared
    difference of the shifted image to the reference.
    """
    ref = reference - reference.mean()
    img = image - image.mean()
    cross = np.fft.fft2(ref) * np.conj(np.fft.fft2(img))
    corr = np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-12)).real
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    start = np.array([p - n if p > n / 2 else p for p, n in zip(peak, corr.shape)], dtype=float)

    def mismatch(shift: np.ndarray) -> float:
        return float(np.sum((ndimage.shift(img, shift, order=1, mode="nearest") - ref) ** 2))

    res = optimize.minimize(mismatch, start, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-9})
    return float(res.x[0]), float(res.x[1])


def register(frames: np.ndarray, reference: np.ndarray, fiducial: tuple[slice, slice] | None = None
             ) -> tuple[np.ndarray, tuple[float, float]]:
    """Shift a sweep's frames so its mean image aligns with the reference (on a fiducial region if given)."""
    mean = frames.mean(axis=0)
    ref, img = (reference, mean) if fiducial is None else (reference[fiducial], mean[fiducial])
    dy, dx = estimate_shift(ref, img)
    shifted = ndimage.shift(frames, (0, dy, dx), order=1, mode="nearest")
    return shifted, (dy, dx)


def roi_delta_f_over_f(frames: np.ndarray, roi: np.ndarray, background: np.ndarray, baseline: slice) -> np.ndarray:
    """dF/F = ((F - B) - (F0 - B0)) / (F0 - B0) for a ROI with a background (boolean masks or pixel weights).

    With weights, F and B are weighted means (each normalised by its own weight sum), so a weighted ROI
    and its translated copies measure F - B per unit of the same footprint.
    """
    signal = weighted_mean(frames, roi) - weighted_mean(frames, background)
    f0 = float(signal[baseline].mean())
    if f0 <= 0:
        raise ValueError("ROI is not brighter than background at baseline")
    return (signal - f0) / f0


def line_profile(image: np.ndarray, start_px: tuple[float, float], end_px: tuple[float, float], n: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Values along a line (row, col coordinates), and the distance of each sample from the start in pixels."""
    rows = np.linspace(start_px[0], end_px[0], n)
    cols = np.linspace(start_px[1], end_px[1], n)
    values = ndimage.map_coordinates(image, [rows, cols], order=1, mode="nearest")
    return values, np.hypot(rows - rows[0], cols - cols[0])


def translated_mask(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The same pixel footprint moved by whole pixels (pixels moved off the image are dropped, none wrap)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    src = mask[max(0, -rows):h - max(0, rows), max(0, -cols):w - max(0, cols)]
    out[max(0, rows):max(0, rows) + src.shape[0], max(0, cols):max(0, cols) + src.shape[1]] = src
    return out


def normalise_by_reference(frames: np.ndarray, reference: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """Divide each frame by the dark-corrected intensity of a reference region (relative to its sweep mean).

    The reference is a structure whose fluorescence the stimulus does not change (e.g. the parent dendrite
    away from the spine); subtracting a dark region (camera offset, far background) first makes the ratio
    follow the LED intensity and the indicator's bleaching rather than the camera's constant offset.
    """
    level = frames[:, reference].mean(axis=1) - frames[:, dark].mean(axis=1)
    if np.any(level <= 0):
        raise ValueError("the reference region is not brighter than the dark region in some frame")
    return frames / (level / level.mean())[:, None, None]


def weighted_mean(frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-frame mean of the pixels, weighted (a boolean mask is equal weights over its pixels)."""
    w = np.asarray(weights, dtype=float)
    total = float(w.sum())
    if total <= 0:
        raise ValueError("an ROI needs positive weight")
    return np.tensordot(frames, w, axes=([1, 2], [0, 1])) / total


def footprint_copies(weights: np.ndarray, offsets_px: list[tuple[int, int]]) -> np.ndarray:
    """Mean of a footprint moved by each (rows, cols) offset, each copy scaled to the footprint's total weight.

    The background of a (weighted) ROI: the same footprint where there is no spine, so it samples the
    dendrite's blurred edge and the haze exactly as the ROI does; more copies average more pixels.
    """
    w = np.asarray(weights, dtype=float)
    copies = []
    for rows, cols in offsets_px:
        moved = translated_mask(w, rows, cols)
        if moved.sum() > 0:
            copies.append(moved * (w.sum() / moved.sum()))
    if not copies:
        raise ValueError("no background copy of the ROI lies inside the image")
    return np.mean(copies, axis=0)


def matched_head_weights(image: np.ndarray, near: np.ndarray, offsets_px: list[tuple[int, int]]) -> np.ndarray:
    """Pixel weights proportional to the head's own light: the image minus its background copies, within `near`.

    `image` is a low-noise mean image (e.g. the no-stimulus sweep); the background at each pixel is the mean
    of the image at the same pixel moved by each offset (where there is no spine). Weights proportional to
    the expected head profile maximise the head signal's SNR when the pixel variance varies little over the
    head (matched filter); a hard disc gives low-signal rim pixels the same weight as the centre.
    """
    background = np.mean([translated_mask(np.asarray(image, float), -r, -c) for r, c in offsets_px], axis=0)
    profile = np.where(near, np.clip(np.asarray(image, float) - background, 0.0, None), 0.0)
    if profile.sum() <= 0:
        raise ValueError("the head is not brighter than its background copies")
    return profile / profile.max()
