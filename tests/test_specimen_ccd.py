"""CCD frames of the specimen: geometry, LED drift, bleaching, slice drift, wavelength-dependent excitation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROFILE
from simulated_devices.ccd import CcdSpec, frame_weights, render_frames, scene_from_specimen
from simulated_devices.specimen import ChunkSamples
from simulated_devices.sweeps import SweepSpec, run_sweep, simulated_rig

QUIET = CcdSpec(read_noise_e=0.0, led_drift_per_sweep=0.0, bleach_per_ms=0.0, drift_um_per_sweep=(0.0, 0.0),
                drift_jitter_um=0.0, photons_per_ms=1e6)


def _scene():
    rig = simulated_rig(PROFILE, calcium={"indicator": "bis-fura-2", "indicator_uM": 300.0},
                        sodium={"indicator": "ANG-2", "indicator_uM": 300.0})
    return rig, rig.extras["specimen"], scene_from_specimen(rig.extras["specimen"])


def test_frames_show_the_dendrite_and_the_spine_head() -> None:
    """With the sensor centred on spine 'fast', the head pixel and the dendrite outshine a far corner."""
    _, spec, scene = _scene()
    head = spec.spines[0].head_center_um
    cam = QUIET.__class__(**(QUIET.__dict__ | {"center_um": head}))
    frames = render_frames(scene, cam, np.ones(2), np.ones((2, 3)), np.ones(2), 2.0, np.random.default_rng(0))
    img = frames[0] - cam.offset_counts
    assert frames.shape == (2, 80, 80)
    centre, dendrite_col = img[40, 40], img[40, 40 - int(round(head[0] / cam.pixel_size_um))]
    corner = img[2, 78]
    assert centre > 5 * corner and dendrite_col > 5 * corner


def test_led_intensity_drifts_within_a_sweep_and_indicator_bleaches() -> None:
    """First vs last of 100 frames: -4 % LED drift; bleaching lowers it further."""
    _, _, scene = _scene()
    cam = QUIET.__class__(**(QUIET.__dict__ | {"led_drift_per_sweep": -0.04}))
    f = render_frames(scene, cam, np.ones(100), np.ones((100, 3)), np.ones(100), 2.0, np.random.default_rng(0))
    total = (f - cam.offset_counts).sum(axis=(1, 2))
    assert total[-1] / total[0] == pytest.approx(0.96, rel=1e-3)
    bleaching = QUIET.__class__(**(QUIET.__dict__ | {"bleach_per_ms": 1e-3}))
    g = render_frames(scene, bleaching, np.ones(100), np.ones((100, 3)), np.ones(100), 2.0, np.random.default_rng(0))
    total_b = (g - cam.offset_counts).sum(axis=(1, 2))
    assert total_b[-1] / total_b[0] == pytest.approx(np.exp(-1e-3 * 2.0 * 99), rel=1e-3)


def test_slice_drifts_between_sweeps() -> None:
    """The dendrite's column moves by the drift per sweep (0.4 um = 1 px over 8 sweeps at 0.05 um/sweep)."""
    _, _, scene = _scene()
    cam = QUIET.__class__(**(QUIET.__dict__ | {"drift_um_per_sweep": (0.05, 0.0)}))

    def centroid(sweep: int) -> float:
        f = render_frames(scene, cam, np.ones(1), np.zeros((1, 3)), np.ones(1), 2.0, np.random.default_rng(0),
                          sweep_index=sweep)[0] - cam.offset_counts
        profile = f.sum(axis=0)
        return float((profile * np.arange(80)).sum() / profile.sum())

    assert centroid(8) - centroid(0) == pytest.approx(1.0, abs=0.05)


def test_noise_has_shot_and_read_components() -> None:
    """Pixel variance (in electrons) = mean electrons + read noise^2."""
    _, _, scene = _scene()
    cam = CcdSpec(led_drift_per_sweep=0.0, bleach_per_ms=0.0, drift_jitter_um=0.0, drift_um_per_sweep=(0.0, 0.0),
                  gain_counts_per_e=1.0, quantum_efficiency=1.0)
    f = render_frames(scene, cam, np.ones(400), np.ones((400, 3)), np.ones(400), 2.0, np.random.default_rng(1))
    e = f - cam.offset_counts
    mean, var = e.mean(axis=0), e.var(axis=0)
    assert np.median(var / (mean + cam.read_noise_e**2)) == pytest.approx(1.0, abs=0.05)


def test_excitation_depends_on_led_and_bis_fura_dims_with_calcium() -> None:
    """bis-fura-2 (385 nm) + ANG-2 (520 nm) in one band: a bAP's Ca lowers the 385 nm head signal,
    and the two LEDs give different images of the same specimen."""
    rig, spec, _ = _scene()
    r = run_sweep(rig.clock, SweepSpec(duration_ms=60, sample_rate_hz=10_000, mode="CC", steps=[(10, 2, 1500)]))
    samples = ChunkSamples(r.data["amplifier.primary"], r.data["amplifier.secondary"], r.v_head_mV, r.ca_free_uM,
                           r.na_mM, np.ones_like(r.ca_free_uM), np.ones_like(r.ca_free_uM))
    idx = np.array([50, 200, 50, 200])  # 5 ms (rest) and 20 ms (after the bAP)
    d, h = frame_weights(spec, samples, idx, np.array([385, 385, 520, 520]), "540/50")
    assert h[1, 0] < 0.98 * h[0, 0]  # bis-fura-2 at 385 nm: Ca binding dims it
    assert h[0, 0] != pytest.approx(h[2, 0], rel=0.05)  # the LEDs excite different indicators


def test_camera_is_opened_only_when_a_plan_images_with_it() -> None:
    """A rig whose runs never image (FRAP) leaves the Micro-Manager camera unopened, and safe: make_safe drives
    the trigger low and reports idle; asking for anything the real camera has opens it (issue 13: no
    pymmcore-plus import for line-scan runs)."""
    from rig.config.profile import load_profile
    from rig.engine.rig import build_rig

    rig = build_rig(load_profile(PROFILE))
    camera = rig.devices["camera"]
    assert camera.opened is False  # type: ignore[attr-defined]
    reports = {r.device: r for r in rig.make_safe()}
    assert reports["camera"].safe and "idle" in reports["camera"].detail
    assert rig.clock.held["camera.trigger"] == 0.0  # type: ignore[attr-defined]
    assert camera.read_frames() is None and camera.opened is False  # type: ignore[attr-defined]
    assert camera.label == "SimCCD" and camera.opened is True  # type: ignore[attr-defined]
    assert camera.safety().safe
