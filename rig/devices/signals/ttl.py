"""TTL lines: validation, pulse trains for the stimulus isolator, LED alternation frame by frame."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rig.devices.signals.pockels import gate_samples


def to_ttl(wave: np.ndarray, name: str = "ttl") -> np.ndarray:
    """A 0/1 waveform as booleans; ValueError for any other value."""
    w = np.asarray(wave)
    if not np.all((w == 0) | (w == 1)):
        raise ValueError(f"{name}: a TTL waveform must hold only 0 and 1")
    return w.astype(bool)


def ttl_volts(ttl: np.ndarray, high_V: float) -> np.ndarray:
    """Booleans -> volts for a TTL wired to an analog output."""
    return np.where(np.asarray(ttl, dtype=bool), float(high_V), 0.0)


def ms_to_sample(time_ms: float, sample_rate_hz: float) -> int:
    """Index of the sample at time_ms (rounded to the nearest sample)."""
    return int(round(time_ms * 1e-3 * sample_rate_hz))


def pulse_train(n_samples: int, sample_rate_hz: float, start_ms: float, width_ms: float, count: int = 1,
                interval_ms: float = 0.0, amplitude: float = 1.0) -> np.ndarray:
    """Pulses of exactly width_ms (whole samples) every interval_ms from start_ms: single, pairs, trains."""
    width = gate_samples(width_ms, sample_rate_hz)
    if count > 1 and ms_to_sample(interval_ms, sample_rate_hz) <= width:
        raise ValueError(f"interval {interval_ms:g} ms must exceed the pulse width {width_ms:g} ms")
    wave = np.zeros(n_samples)
    for k in range(count):
        a = ms_to_sample(start_ms + k * interval_ms, sample_rate_hz)
        if a < 0 or a + width > n_samples:
            raise ValueError(f"pulse {k + 1} at {start_ms + k * interval_ms:g} ms does not fit in the sweep")
        wave[a:a + width] = amplitude
    return wave


def alternate_leds(leds: Sequence[str], n_samples: int, first_sample: int, frame_period_samples: int,
                   exposure_samples: int, n_frames: int) -> dict[str, np.ndarray]:
    """LED TTLs alternating frame by frame (frame k lit by leds[k % len]) during each exposure."""
    if exposure_samples > frame_period_samples:
        raise ValueError("exposure longer than the frame period")
    out = {led: np.zeros(n_samples, dtype=bool) for led in leds}
    for k in range(n_frames):
        a = first_sample + k * frame_period_samples
        if a + exposure_samples > n_samples:
            raise ValueError(f"frame {k + 1} does not fit in {n_samples} samples")
        out[leds[k % len(leds)]][a:a + exposure_samples] = True
    return out


def frame_triggers(n_samples: int, first_sample: int, frame_period_samples: int, n_frames: int,
                   width_samples: int = 1) -> np.ndarray:
    """Camera frame-trigger TTL: one rising edge per frame."""
    out = np.zeros(n_samples, dtype=bool)
    for k in range(n_frames):
        a = first_sample + k * frame_period_samples
        out[a:a + width_samples] = True
    return out


def led_states_per_frame(trigger: np.ndarray, led_waves: dict[str, np.ndarray]) -> np.ndarray:
    """(n_leds, n_frames) booleans: each LED's state just after every rising edge of the frame trigger.

    This is what an LED line clocked by the camera's exposure-out must output: one sample per frame.
    """
    high = np.asarray(trigger) > 0.5
    edges = np.flatnonzero(high & ~np.concatenate(([False], high[:-1])))
    if edges.size == 0:
        raise ValueError("the plan sends no frame trigger: LEDs clocked by the camera would never switch")
    at = np.minimum(edges + 1, high.size - 1)
    return np.stack([np.asarray(w)[at] > 0.5 for w in led_waves.values()])
