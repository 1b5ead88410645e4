"""Test tones: one frequency per output, none an odd harmonic of another (TTL square waves carry 3f, 5f, 7f),
and the amplitude of each tone in a recorded signal (its Fourier coefficient on the sweep's whole number of
periods after the settling time, Hann-windowed so that a step at the start leaks into no other bin, against the
median of the neighbouring bins as the noise floor)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TONE_BASE_HZ = 110.0
TONE_STEP_HZ = 40.0
HARMONICS = (3, 5, 7, 9)


def tone_frequencies(n: int, resolution_hz: float) -> list[float]:
    """`n` distinct frequencies on the sweep's frequency grid, none within 2 bins of another's odd harmonics."""
    chosen: list[float] = []
    f = TONE_BASE_HZ
    while len(chosen) < n:
        f_bin = round(f / resolution_hz) * resolution_hz
        clashes = any(abs(f_bin - h * c) <= 2 * resolution_hz or abs(c - h * f_bin) <= 2 * resolution_hz
                      for c in chosen for h in (1, *HARMONICS))
        if not clashes:
            chosen.append(f_bin)
        f += TONE_STEP_HZ
    return chosen


@dataclass(frozen=True)
class ToneLevel:
    """A tone's amplitude in a signal, how far it stands above the noise floor there, and how pure a line it is."""

    amplitude: float
    snr: float
    purity: float  # amplitude at the tone's bin / the larger of the bins two away (a windowed pure tone: large)

    def significant(self, snr: float, purity: float) -> bool:
        """The tone is there: above the floor, and a spectral line (not a broad peak, e.g. a cell's own rhythm)."""
        return self.snr >= snr and self.purity >= purity


SETTLE_S = 0.2  # the start of the sweep is left out: outputs step from rest to their tones there


def tone_levels(signal: np.ndarray, sample_rate_hz: float, frequencies: list[float]) -> list[ToneLevel]:
    """Amplitude (signal units, peak) and SNR of each frequency in the signal (after SETTLE_S)."""
    x = np.asarray(signal, dtype=np.float64)[int(round(SETTLE_S * sample_rate_hz)):]
    x = x[: len(x) - 2]  # the outputs' return to rest
    x = x - x.mean()
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window)) * 2.0 / window.sum()
    resolution = sample_rate_hz / len(x)
    levels = []
    for f in frequencies:
        k = int(round(f / resolution))  # tones are multiples of 10 Hz: whole periods in the window
        lo, hi = max(1, k - 40), min(len(spectrum), k + 41)
        around = np.concatenate([spectrum[lo:max(lo, k - 3)], spectrum[k + 4:hi]])
        floor = float(np.median(around)) if around.size else 0.0
        amplitude = float(spectrum[k])
        side = float(max(spectrum[k - 2], spectrum[min(k + 2, len(spectrum) - 1)]))
        levels.append(ToneLevel(amplitude, _ratio(amplitude, floor), _ratio(amplitude, side)))
    return levels


def _ratio(value: float, reference: float) -> float:
    if reference > 0:
        return value / reference
    return float("inf") if value > 0 else 0.0
