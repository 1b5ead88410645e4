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
    """dF/F = ((F - B) - (F0 - B0)) / (F0 - B0) for a ROI mask with a background mask."""
    f = frames[:, roi].mean(axis=1)
    b = frames[:, background].mean(axis=1)
    signal = f - b
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
