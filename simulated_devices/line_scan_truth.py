"""Noise-free head dG/R of a line-scan sweep: the signal the calcium analyses read, without photon noise.

The truth of an estimate measured in dG/R (an amplitude, a decay, a ratio of levels) is the same measurement on
this trace: the plan's own beam path (galvo x/y, Pockels power gated by the shutter) through the optics' PSF
(`TwoPhotonOptics.photon_rate`), every fluorophore weighted as the simulated PMTs weight it
(`fluorescence.emitter_weights`), the targeted head's free Ca following a given trace and every other head at rest,
expected photons plus expected dark counts per sample, then the analysis' own ROI code
(`rig.analysis.calcium_signal.line_ratio_trace`). Dyes are taken unbleached (the sweep-start bleach state is not
part of `truth.SpineState`; within a sweep at imaging power it changes G and R by a few per cent at most).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rig.analysis.calcium_signal import RatioTrace, line_ratio_trace
from rig.datatypes.sweep_plan import SweepPlan
from simulated_devices.fluorescence import emitter_weights
from simulated_devices.optics import TwoPhotonOptics
from simulated_devices.specimen import ChunkSamples

if TYPE_CHECKING:
    from simulated_devices.specimen import Specimen

# The PMT emission filters of the simulated profiles (SCIENCE.md, section 2): green 525/50, red 610/75.
GREEN_BAND, RED_BAND = "525/50", "610/75"
TWO_PHOTON_NM = 810.0  # every indicator's 2P excitation is flat over 700-1100 nm (indicators.Indicator.excitation)


def _beam(plan: SweepPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, power) per sample of a line-scan plan: the scanner of its green channel, laser power x shutter."""
    scanner = plan.meta.green_channel.split(".")[0]
    x = np.asarray(plan.outputs[f"{scanner}.x"], dtype=float)
    y = np.asarray(plan.outputs[f"{scanner}.y"], dtype=float)
    power = sum((np.asarray(v, dtype=float) for k, v in plan.outputs.items() if k.endswith(".power")),
                np.zeros(x.size))
    for k, v in plan.outputs.items():
        if k.endswith(".open"):
            power = power * np.asarray(v, dtype=float)
    return x, y, power


def expected_ratio_trace(specimen: "Specimen", plan: SweepPlan, index: int, t_ms: np.ndarray,
                         head_free_uM: np.ndarray, rest_free_uM: float) -> RatioTrace:
    """Noise-free head dG/R per line of a line-scan sweep with spine `index`'s free Ca following (t_ms, uM).

    Before the first time of the trace the head is at rest_free_uM; the ROI radius and the baseline end are the
    plan's (`head_roi_radius_um`, `baseline_end_ms` of its metadata)."""
    if plan.line_scan is None or plan.target_um is None:
        raise ValueError("the plan has no line scan through a target")
    sim = specimen.sim
    x, y, power = _beam(plan)
    n, spines = x.size, len(specimen.spines)
    dt_ms = 1000.0 / plan.sample_rate_hz
    t_sample = (np.arange(n) + 0.5) * dt_ms
    ca = np.full((n, spines), sim.calcium.rest_uM)
    ca[:, index] = np.interp(t_sample, np.asarray(t_ms, float), np.asarray(head_free_uM, float), left=rest_free_uM)
    ones = np.ones((n, spines))
    samples = ChunkSamples(np.full(n, sim.soma.resting_mV), np.zeros(n), np.full((n, spines), sim.soma.resting_mV),
                           ca, np.full((n, spines), sim.sodium.rest_mM), ones, ones)
    optics = TwoPhotonOptics(specimen, sim)
    dendrite, overlap = optics.dendrite_profile(x, y), optics.head_overlap(x, y)
    dark = optics.optics.dark_counts_per_s * dt_ms / 1000.0
    counts = []
    for band in (GREEN_BAND, RED_BAND):
        w = emitter_weights(specimen, samples, band, TWO_PHOTON_NM)
        counts.append(optics.photon_rate(dendrite, power, overlap, w.dendrite, w.heads) * dt_ms + dark)
    m = plan.meta
    if m.head_roi_radius_um is None or m.baseline_end_ms is None:
        raise ValueError("the plan names no head ROI radius or baseline end")
    return line_ratio_trace(counts[0], counts[1], plan.line_scan, plan.target_um, m.head_roi_radius_um,
                            plan.sample_rate_hz, m.baseline_end_ms)
