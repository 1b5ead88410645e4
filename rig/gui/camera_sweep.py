"""Live view of a camera protocol sweep (Na/Ca imaging) as its frames arrive: per-LED head dF/F and a kymograph.

A display, not the analysis: the head signal is the mean of the head disc minus the mean of the
background disc of each frame (rois.head_um, rois.background_um, rois.radius_um), dF/F against the
frames of the same LED before the first stimulus; the kymograph samples each frame of the first
LED along rois.profile_start_um -> profile_end_um. The online analysis (rig.protocols.na_ca)
registers, bleach-corrects and normalises; its estimates are the numbers that count.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rig.analysis.imaging import line_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.na_ca.analysis import disc_mask, frame_leds

_PROFILE_POINTS = 48


def _point(value: Sequence[float]) -> tuple[float, float]:
    x, y = value
    return float(x), float(y)


class CameraSweep:
    """The frames of the current camera sweep reduced to head and background means and a profile per frame."""

    def __init__(self) -> None:
        self.plan: SweepPlan | None = None
        self.version = 0
        self._head: np.ndarray | None = None
        self._background: np.ndarray | None = None
        self._profile_px: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.profile_length_um = 0.0
        self.signal: list[float] = []    # head minus background, one per frame received
        self.profiles: list[np.ndarray] = []
        self.numbers: list[int] = []

    @property
    def active(self) -> bool:
        """True while the current sweep is a camera sweep with ROIs."""
        return self.plan is not None

    def start(self, plan: SweepPlan) -> None:
        """A new sweep: camera sweeps with `rois` parameters are followed, others switch the view off."""
        rois = plan.meta.rois
        self.signal, self.profiles, self.numbers = [], [], []
        self.version += 1
        if plan.camera is None or rois is None:
            self.plan = None
            return
        self.plan = plan
        radius = rois.radius_um
        self._head = disc_mask(plan, _point(rois.head_um), radius)
        bg = rois.background_um
        self._background = disc_mask(plan, _point(bg), radius) if bg is not None else None
        start, end = rois.profile_start_um, rois.profile_end_um
        if start is not None and end is not None:
            a, b = _point(start), _point(end)
            self._profile_px = (plan.camera.um_to_pixel(a), plan.camera.um_to_pixel(b))
            self.profile_length_um = float(np.hypot(b[0] - a[0], b[1] - a[1]))
        else:
            self._profile_px, self.profile_length_um = None, 0.0

    def add_frames(self, frames: np.ndarray) -> None:
        """Frames delivered in order (a DataChunk of '<camera>.frames')."""
        if self.plan is None or self._head is None:
            return
        for frame in np.asarray(frames, dtype=np.float32):
            dark = float(frame[self._background].mean()) if self._background is not None and \
                self._background.any() else 0.0
            self.signal.append(float(frame[self._head].mean()) - dark if self._head.any() else np.nan)
            if self._profile_px is not None:
                self.profiles.append(line_profile(frame - dark, *self._profile_px, _PROFILE_POINTS)[0])
        self.version += 1

    def add_numbers(self, numbers: np.ndarray) -> None:
        """Frame numbers of the frames delivered (a DataChunk of '<camera>.frame_number')."""
        if self.plan is not None:
            self.numbers.extend(int(k) for k in np.asarray(numbers).ravel())
            self.version += 1

    def _leds(self) -> tuple[np.ndarray, np.ndarray, int]:
        n = min(len(self.signal), len(self.numbers))
        if self.plan is None or n == 0:
            return np.zeros(0, dtype=object), np.zeros(0), 0
        try:
            leds, times = frame_leds(self.plan, np.asarray(self.numbers[:n]))
        except ValueError:  # a frame number beyond the triggers: the analysis reports it; the view shows nothing
            return np.zeros(0, dtype=object), np.zeros(0), 0
        return leds, times, n

    def traces(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """LED -> (frame time ms, head dF/F) of the frames so far (baseline: that LED's frames before stimulus 1)."""
        leds, times, n = self._leds()
        if n == 0:
            return {}
        assert self.plan is not None
        first_stim = min(self.plan.events_ms.values(), default=np.inf)
        signal = np.asarray(self.signal[:n])
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for led in dict.fromkeys(x for x in leds if x is not None):
            mine = leds == led
            t, f = times[mine], signal[mine]
            base = f[t < first_stim]
            f0 = float(np.mean(base)) if base.size else float(f[0])
            out[str(led)] = (t, f / f0 - 1.0 if f0 > 0 else np.full(f.shape, np.nan))
        return out

    def kymograph(self) -> tuple[np.ndarray, str, float, float] | None:
        """(profile points x frames of the first LED) counts above background, that LED, and the first and last
        of those frames' times (ms); None before frames."""
        leds, times, n = self._leds()
        if n == 0 or not self.profiles:
            return None
        first = next((x for x in leds if x is not None), None)
        mine = [k for k in range(min(n, len(self.profiles))) if leds[k] == first]
        if not mine:
            return None
        return np.vstack([self.profiles[k] for k in mine]).T, str(first), float(times[mine[0]]), \
            float(times[mine[-1]])
