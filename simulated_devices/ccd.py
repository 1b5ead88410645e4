"""Widefield CCD frames of the specimen (NeuroCCD-SMQ class): pure functions, no device state.

Each frame k is the sum over emitters of a spatial template (dendrite cylinder or head
sphere blurred by the widefield PSF, integrated over 0.4 um pixels) times that emitter's
brightness in the frame (from `fluorescence.emitter_weights` at the frame's LED
wavelength), plus out-of-focus haze (a broad blur of the same objects), scaled by the
LED intensity (which drifts within a sweep), the exposure, and an indicator bleaching
factor exp(-k_b * cumulative exposure). Slice drift between sweeps shifts the scene.
Noise: shot noise (Gaussian approximation of Poisson, exact in mean and variance) and
camera read noise; counts = offset + gain * electrons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from simulated_devices.fluorescence import emitter_weights
from simulated_devices.specimen import ChunkSamples, Specimen


@dataclass(frozen=True)
class CcdSpec:
    """Camera and widefield optics."""

    sensor_px: tuple[int, int] = (80, 80)  # (ny, nx)
    pixel_size_um: float = 0.4
    center_um: tuple[float, float] = (0.0, 0.0)  # sample-plane point at the sensor centre
    psf_sigma_um: float = 0.25
    haze_sigma_um: float = 3.0
    haze_fraction: float = 0.4  # out-of-focus light relative to in-focus
    photons_per_ms: float = 60.0  # per um^3-equivalent of weight-1 emitter at full LED intensity
    quantum_efficiency: float = 0.8
    read_noise_e: float = 10.0
    gain_counts_per_e: float = 0.5
    offset_counts: float = 100.0
    led_drift_per_sweep: float = -0.04  # fractional LED intensity change from first to last frame
    bleach_per_ms: float = 2e-4  # indicator bleaching per ms of full-intensity exposure
    drift_um_per_sweep: tuple[float, float] = (0.05, -0.03)
    drift_jitter_um: float = 0.03


@dataclass(frozen=True)
class CcdScene:
    """Geometry of what the camera sees (sample-plane um)."""

    dendrite_x_um: float
    dendrite_radius_um: float
    dendrite_half_length_um: float
    head_centers_um: np.ndarray  # (s, 2)
    head_radii_um: np.ndarray  # (s,)
    head_volumes_um3: np.ndarray  # (s,)


def scene_from_specimen(specimen: Specimen) -> CcdScene:
    """The specimen's dendrite and heads."""
    d = specimen.sim.dendrite
    return CcdScene(d.x_um, d.diameter_um / 2, d.length_um / 2,
                    np.array([s.head_center_um for s in specimen.spines], dtype=float),
                    np.array([s.head_radius_um for s in specimen.spines]),
                    np.array([s.head_volume_um3 for s in specimen.spines]))


def _pixel_edges(n: int, size: float, centre: float) -> np.ndarray:
    return centre + (np.arange(n + 1) - n / 2) * size


def _box_gauss(edges: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Integral of unit Gaussians over pixel intervals: shape (len(mu), n_pixels)."""
    z = (edges[None, :] - mu[:, None]) / (math.sqrt(2.0) * sigma[:, None])
    c = 0.5 * (1.0 + erf(z))
    return np.diff(c, axis=1)


def templates(scene: CcdScene, cam: CcdSpec, offset_um: tuple[float, float], sigma_um: float) -> np.ndarray:
    """Photon templates (emitters x ny x nx): dendrite first (per um length x area), then heads."""
    ny, nx = cam.sensor_px
    xe = _pixel_edges(nx, cam.pixel_size_um, cam.center_um[0] - offset_um[0])
    ye = _pixel_edges(ny, cam.pixel_size_um, cam.center_um[1] - offset_um[1])
    r_d = scene.dendrite_radius_um
    sx_d = math.sqrt(sigma_um**2 + r_d**2 / 4)
    px = _box_gauss(xe, np.array([scene.dendrite_x_um]), np.array([sx_d]))[0]
    a, b = -scene.dendrite_half_length_um, scene.dendrite_half_length_um
    s = math.sqrt(2.0) * sigma_um
    # Along the dendrite: uniform segment [a, b] blurred by the PSF, integrated per pixel row.
    def seg_cdf(y: np.ndarray) -> np.ndarray:
        def g(u: np.ndarray) -> np.ndarray:
            return u * erf(u / s) + s / math.sqrt(math.pi) * np.exp(-(u / s) ** 2)
        return 0.5 * (g(y - a) - g(y - b))
    py = np.diff(seg_cdf(ye)) * math.pi * r_d**2  # um^3 of dendrite per pixel row
    dend = py[:, None] * px[None, :]
    sig = np.sqrt(sigma_um**2 + scene.head_radii_um**2 / 5)
    hx = _box_gauss(xe, scene.head_centers_um[:, 0], sig)
    hy = _box_gauss(ye, scene.head_centers_um[:, 1], sig)
    heads = scene.head_volumes_um3[:, None, None] * hy[:, :, None] * hx[:, None, :]
    return np.concatenate((dend[None], heads), axis=0)


def sweep_offset_um(cam: CcdSpec, sweep_index: int, rng: np.random.Generator) -> tuple[float, float]:
    """Slow slice drift: a steady drift per sweep plus jitter."""
    jx, jy = rng.normal(0.0, cam.drift_jitter_um, 2)
    return (cam.drift_um_per_sweep[0] * sweep_index + jx, cam.drift_um_per_sweep[1] * sweep_index + jy)


def sweep_templates(scene: CcdScene, cam: CcdSpec, sweep_index: int, rng: np.random.Generator) -> np.ndarray:
    """Photon templates (emitters x pixels) of one sweep: in-focus plus haze, shifted by that sweep's drift."""
    offset = sweep_offset_um(cam, sweep_index, rng)
    focus = templates(scene, cam, offset, cam.psf_sigma_um)
    haze = templates(scene, cam, offset, cam.haze_sigma_um)
    return (focus + cam.haze_fraction * haze).reshape(focus.shape[0], -1).astype(np.float32)


def frames_from_templates(tmpl: np.ndarray, cam: CcdSpec, dendrite_weight: np.ndarray, head_weight: np.ndarray,
                          intensity: np.ndarray, exposure_ms: float, rng: np.random.Generator,
                          prior_exposure_ms: float = 0.0) -> np.ndarray:
    """Frames (k, ny, nx) in counts from templates, emitter weights and the LED intensity of each frame."""
    k = dendrite_weight.shape[0]
    intensity = np.asarray(intensity, dtype=float)
    exposure = prior_exposure_ms + np.cumsum(intensity * exposure_ms) - intensity * exposure_ms
    bleach = np.exp(-cam.bleach_per_ms * exposure)
    w = np.concatenate((dendrite_weight[:, None], head_weight), axis=1) * (intensity * bleach)[:, None]
    w *= cam.photons_per_ms * exposure_ms * cam.quantum_efficiency
    electrons = w.astype(np.float32) @ tmpl  # mean photoelectrons per pixel
    sigma = np.sqrt(electrons + np.float32(cam.read_noise_e**2))
    frames = rng.standard_normal(electrons.shape, dtype=np.float32)
    frames *= sigma
    frames += electrons
    frames *= np.float32(cam.gain_counts_per_e)
    frames += np.float32(cam.offset_counts)
    return frames.reshape(k, *cam.sensor_px)


def render_frames(scene: CcdScene, cam: CcdSpec, dendrite_weight: np.ndarray, head_weight: np.ndarray,
                  led_intensity: np.ndarray, exposure_ms: float, rng: np.random.Generator,
                  sweep_index: int = 0, prior_exposure_ms: float = 0.0) -> np.ndarray:
    """Frames (k, ny, nx) in camera counts (float32) for a whole sweep at once.

    dendrite_weight (k,) and head_weight (k, s): emitter brightness per frame at that frame's
    LED wavelength (fluorescence.emitter_weights); led_intensity (k,): nominal 0..1 per frame.
    """
    k = dendrite_weight.shape[0]
    tmpl = sweep_templates(scene, cam, sweep_index, rng)
    drift = 1.0 + cam.led_drift_per_sweep * (np.arange(k) / max(k - 1, 1))
    return frames_from_templates(tmpl, cam, dendrite_weight, head_weight, np.asarray(led_intensity) * drift,
                                 exposure_ms, rng, prior_exposure_ms)


def frame_weights(specimen: Specimen, samples: ChunkSamples, sample_index: np.ndarray, led_nm: np.ndarray,
                  band: str) -> tuple[np.ndarray, np.ndarray]:
    """Emitter weights at given samples (frame mid-exposure), each frame at its LED wavelength."""
    k = sample_index.size
    dend = np.zeros(k)
    heads = np.zeros((k, len(specimen.spines)))
    for nm in np.unique(led_nm):
        sel = np.flatnonzero(led_nm == nm)
        picked = ChunkSamples(*(None if (v := getattr(samples, f)) is None else v[sample_index[sel]]
                                for f in samples.__dataclass_fields__))
        w = emitter_weights(specimen, picked, band, float(nm))
        dend[sel], heads[sel] = w.dendrite, w.heads
    return dend, heads
