"""Frame scan: a raster galvo SweepPlan over a square field and the pure fold of PMT samples into an image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_meta import FrameScanLayout, SweepMeta
from rig.datatypes.sweep_plan import SweepPlan

_TAIL_SAMPLES = 2


@dataclass(frozen=True)
class FrameSettings:
    """What the operator sets for a frame scan."""

    centre_um: tuple[float, float] = (0.0, 1.0)
    size_um: float = 20.0
    pixels: int = 128
    line_rate_hz: float = 500.0
    fill_fraction: float = 0.8
    power_fraction: float = 0.1
    pmt: str = "red"
    interval_s: float = 0.1


@dataclass(frozen=True)
class FrameLayout:
    """Where each line's pixels sit in the sweep's samples, and the image's place in the sample plane."""

    first_sample: int
    samples_per_line: int
    pixels: int
    origin_um: tuple[float, float]
    pixel_um: float

    @property
    def size_um(self) -> float:
        """Edge length of the (square) field."""
        return self.pixels * self.pixel_um


def frame_layout(settings: FrameSettings) -> FrameLayout:
    """The sample layout a settings object produces."""
    spl = int(round(settings.pixels / settings.fill_fraction))
    half = settings.size_um / 2
    origin = (settings.centre_um[0] - half, settings.centre_um[1] - half)
    return FrameLayout(spl, spl, settings.pixels, origin, settings.size_um / settings.pixels)


def check_frame(settings: FrameSettings, profile: HardwareProfile, scanner: str, laser: str) -> list[str]:
    """Problems of the settings against the profile's scanner, laser and DAQ limits."""
    problems: list[str] = []
    s_lim = profile.scanner(scanner).limits
    l_lim = profile.laser(laser).limits
    if settings.line_rate_hz > s_lim.max_line_rate_hz:
        problems.append(f"line rate {settings.line_rate_hz:g} Hz exceeds {s_lim.max_line_rate_hz:g} Hz")
    if settings.pixels > s_lim.max_pixels_per_line or settings.pixels < 8:
        problems.append(f"pixels must be 8..{s_lim.max_pixels_per_line}")
    edge = max(abs(settings.centre_um[0]), abs(settings.centre_um[1])) + settings.size_um / 2
    if edge > s_lim.field_half_width_um:
        problems.append(f"field reaches {edge:g} um, beyond +-{s_lim.field_half_width_um:g} um")
    if not 0 < settings.power_fraction <= l_lim.max_imaging_power_fraction:
        problems.append(f"power must be in (0, {l_lim.max_imaging_power_fraction:g}]")
    rate = frame_layout(settings).samples_per_line * settings.line_rate_hz
    if rate > profile.daq.max_sample_rate_hz:
        problems.append(f"pixel clock {rate:g} Hz exceeds the DAQ's {profile.daq.max_sample_rate_hz:g} Hz")
    return problems


def frame_scan_plan(settings: FrameSettings, scanner: str, laser: str, shutter: str | None,
                    sweep_in_step: int = 0) -> SweepPlan:
    """A raster: x sweeps each line (with flyback), y steps line by line; light only on line pixels."""
    layout = frame_layout(settings)
    spl, px = layout.samples_per_line, settings.pixels
    lead = layout.first_sample  # one line time of settling before the first line
    n = lead + px * spl + _TAIL_SAMPLES
    frac = (np.arange(px) + 0.5) / px
    fly = np.linspace(1.0, 0.0, spl - px + 2)[1:-1]
    x0, y0 = layout.origin_um
    one_x = x0 + settings.size_um * np.concatenate((frac, fly))
    x = np.full(n, x0 + settings.size_um * frac[0], dtype=np.float32)
    y = np.full(n, y0 + settings.size_um * frac[0], dtype=np.float32)
    power = np.zeros(n, dtype=np.float32)
    for row in range(px):
        a = lead + row * spl
        x[a:a + spl] = one_x
        y[a:a + spl] = y0 + settings.size_um * frac[row]
        power[a:a + px] = settings.power_fraction
    outputs = {f"{scanner}.x": x, f"{scanner}.y": y, f"{laser}.power": power}
    if shutter is not None:
        gate = np.ones(n, dtype=np.float32)
        gate[n - _TAIL_SAMPLES:] = 0.0
        outputs[f"{shutter}.open"] = gate
    return SweepPlan(step_index=0, step_name="frame_scan", kind="frame_scan", sweep_in_step=sweep_in_step,
                     sample_rate_hz=spl * settings.line_rate_hz, n_samples=n, outputs=outputs,
                     inputs=(f"{scanner}.{settings.pmt}",), interval_after_s=settings.interval_s,
                     meta=SweepMeta(frame=FrameScanLayout(**layout.__dict__), pmt_channel=f"{scanner}.{settings.pmt}"))


def fold_frame(samples: np.ndarray, layout: FrameLayout) -> np.ndarray:
    """(rows=y, cols=x) image of the PMT counts; rows not yet acquired are NaN."""
    image = np.full((layout.pixels, layout.pixels), np.nan, dtype=np.float32)
    available = max(0, samples.shape[0] - layout.first_sample)
    rows = min(layout.pixels, available // layout.samples_per_line)
    if rows:
        block = samples[layout.first_sample:layout.first_sample + rows * layout.samples_per_line]
        image[:rows] = block.reshape(rows, layout.samples_per_line)[:, :layout.pixels]
    return image
