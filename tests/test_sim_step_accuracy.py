"""The cell driver's step choice against a fine-step reference (issue 13 item 1: fast, not different).

`CellDriver.pieces` steps a chunk coarsely where the old absolute rule (fine whenever a current-clamped soma is above
-55 mV or the command changes anywhere in the chunk) stepped it finely, when the state allows it: a soma repolarising
towards a stable rest, the time after a command step once the voltages move slowly. Each scenario is simulated three
ways on the fCaT profile's specimen: with the driver's own step choice, with the old rule, and with every step
REFERENCE_DT_MS (the reference). The new choice must stay within explicit tolerances of the reference, and take
fewer steps than the old rule; a uniform tail step must not (so the tolerances can tell a too coarse step).

Measured (2026-12-04, new vs reference; the old rule vs reference in brackets; `python tests/test_sim_step_accuracy.py`):
- release from a VC hold at +15.7 mV into CC 0 pA (the fCaT protocol's switch; the 600 ms wait after it starts at
  -54.2 mV, just above -55 mV, and repolarises to -80 mV): soma 0.034 mV (0.034), heads 0.034 mV (0.034), head Ca
  0.35 % (0.35 %, the ion step's, whatever the electrical step); 1920 implicit steps (6400); a uniform 0.5 ms step
  errs by 0.49 mV;
- that release, then 65 ms after it a 2 ms 1.5 nA pulse and 72 ms after it a strong synaptic input: 2 spikes at
  68.05 and 76.35 ms
  (reference 68.05, 76.30; old rule the same as new), soma 3 ms away from spikes 0.31 mV (0.34: the fine 0.05 ms
  step's own error after spikes), head Ca 5.0 % of its range (5.0 %); 2350 steps (2440); a uniform 0.5 ms step:
  spikes at 68.4 and 77.1 ms, 12 mV off;
- VC -70 -> -60 -> -70 mV: soma 0.041 mV (0.041), heads 0.030 mV (0.030), clamp current 3.4 pA of a 1641 pA
  transient (3.4); 650 steps (860); a uniform 0.5 ms step errs by 0.78 mV and 65 pA;
- VC -70 -> -50 mV, where this soma escapes the clamp: the old rule's 5 spikes at the same times (reference: 5 spikes,
  the fine 0.05 ms step's own drift 0.85-4 ms by the fifth); 830 steps (860).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import yaml

from simulated_devices.cell import CellDriver
from simulated_devices.specimen import ChunkDrive, ChunkSamples, Specimen
from simulated_devices.specimen_config import SimulationSpec

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "hardware_profiles" / "simulated_fcat.yaml"
REFERENCE_DT_MS = 0.025
SWEEP_DT_MS = 0.05  # 20 kHz, the fCaT protocol's sample interval
REST_DT_MS = 1.0  # the sample interval of the integrated part of a wait (Specimen.rest)
V_TOL_MV = 0.1
CA_RTOL = 0.01
SPIKE_LEVEL_MV = -20.0
HOLD_MV = 15.697  # the reversal holding of the fCaT run in benchmarks/bench_fcat_run.py

Pieces = Callable[[float, str, np.ndarray, np.ndarray], Iterator[tuple[int, int, float]]]


@dataclass
class Run:
    """One scenario's samples (concatenated over its chunks) and the implicit steps it took."""

    v_soma_mV: np.ndarray
    v_head_mV: np.ndarray
    clamp_current_pA: np.ndarray
    ca_free_uM: np.ndarray
    sample_dt_ms: np.ndarray  # per sample
    solved_steps: int


def _uniform(dt_ms: float) -> Pieces:
    """Every chunk in one piece at dt_ms."""
    def pieces(sample_dt_ms: float, mode: str, command: np.ndarray,
               events: np.ndarray) -> Iterator[tuple[int, int, float]]:
        yield 0, command.size, dt_ms
    return pieces


def _old_rule(driver: CellDriver) -> Pieces:
    """The step choice before 2026-12-04: one step per chunk, fine on a command change or a CC soma above -55 mV."""
    def pieces(sample_dt_ms: float, mode: str, command: np.ndarray,
               events: np.ndarray) -> Iterator[tuple[int, int, float]]:
        if driver._old_rule_fine(command, mode):
            yield 0, command.size, driver._fine_dt(sample_dt_ms)
        else:
            yield 0, command.size, driver.coarse_dt_ms if events.size else driver.tail_dt_ms
    return pieces


@dataclass
class Chunk:
    """One chunk of a scenario: sample interval, clamp, command per sample, synaptic events (sample, spine, w)."""

    dt_ms: float
    mode: str
    command: np.ndarray
    events: tuple[tuple[int, int, float], ...] = ()


def _simulate(start: tuple[str, float], chunks: list[Chunk], how: str) -> Run:
    """The scenario from the steady state of the `start` drive, stepped `how` ('new', 'old' or 'reference')."""
    sim = SimulationSpec(**yaml.safe_load(PROFILE.read_text())["simulation"])
    specimen = Specimen(sim)
    if how == "reference":
        specimen.cell.pieces = _uniform(REFERENCE_DT_MS)  # type: ignore[method-assign]
    elif how == "old":
        specimen.cell.pieces = _old_rule(specimen.cell)  # type: ignore[method-assign]
    elif how.startswith("uniform"):
        specimen.cell.pieces = _uniform(float(how.split()[1]))  # type: ignore[method-assign]
    specimen.cell.settle(*start, 0.0)
    s = len(specimen.spines)
    steps0 = specimen.model.n_solved_steps
    out: list[ChunkSamples] = []
    for c in chunks:
        n = c.command.size
        drive = ChunkDrive(c.dt_ms, c.mode, c.command, np.empty(0, dtype=int), np.zeros((n, s)), np.zeros(s))
        specimen._release_events = lambda d, ev=list(c.events): ev  # type: ignore[method-assign]
        specimen._held = (c.mode, float(c.command[-1]))
        out.append(specimen.advance(drive))
    return Run(np.concatenate([o.v_soma_mV for o in out]), np.concatenate([o.v_head_mV for o in out]),
               np.concatenate([o.clamp_current_pA for o in out]), np.concatenate([o.ca_free_uM for o in out]),
               np.concatenate([np.full(c.command.size, c.dt_ms) for c in chunks]),
               specimen.model.n_solved_steps - steps0)


def _deviation(run: Run, ref: Run) -> dict[str, float]:
    """Largest differences from the reference: soma and head mV, relative head Ca, clamp current pA."""
    return {"soma_mV": float(np.max(np.abs(run.v_soma_mV - ref.v_soma_mV))),
            "head_mV": float(np.max(np.abs(run.v_head_mV - ref.v_head_mV))),
            "ca_rel": float(np.max(np.abs(run.ca_free_uM / ref.ca_free_uM - 1.0))),
            "ca_of_range": float(np.max(np.abs(run.ca_free_uM - ref.ca_free_uM)) / max(float(np.ptp(ref.ca_free_uM)),
                                                                                          1e-9)),
            "current_pA": float(np.max(np.abs(run.clamp_current_pA - ref.clamp_current_pA)))}


def _spike_times_ms(run: Run) -> np.ndarray:
    """Times of the soma's upward crossings of SPIKE_LEVEL_MV."""
    t = np.cumsum(run.sample_dt_ms)
    v = run.v_soma_mV
    return t[1:][(v[1:] >= SPIKE_LEVEL_MV) & (v[:-1] < SPIKE_LEVEL_MV)]


def _release() -> list[Chunk]:
    """From a VC hold at HOLD_MV into CC 0 pA: one 20 ms sweep chunk, then a wait's 600 integrated ms."""
    return [Chunk(SWEEP_DT_MS, "CC", np.zeros(400)), Chunk(REST_DT_MS, "CC", np.zeros(600))]


def _release_then_inputs() -> list[Chunk]:
    """The release's 20 ms chunk, 40 quiet ms (the soma repolarising), then a 2 ms 1.5 nA pulse 5 ms into a chunk and
    a strong synaptic input 12 ms into it, then quiet chunks."""
    pulse = np.zeros(400)
    pulse[100:140] = 1500.0  # pA
    quiet = [Chunk(SWEEP_DT_MS, "CC", np.zeros(400)) for _ in range(2)]
    inputs = Chunk(SWEEP_DT_MS, "CC", pulse, tuple((240, j, 40.0) for j in range(3)))
    return [_release()[0], *quiet, inputs] + [Chunk(SWEEP_DT_MS, "CC", np.zeros(400)) for _ in range(3)]


def _vc_steps(level_mV: float = -60.0) -> list[Chunk]:
    """A VC step -70 -> level_mV 5 ms into a chunk, held 50 ms, back to -70 mV mid-chunk."""
    up = np.full(400, level_mV)
    up[:100] = -70.0
    down = np.full(400, level_mV)
    down[200:] = -70.0
    return ([Chunk(SWEEP_DT_MS, "VC", up)] + [Chunk(SWEEP_DT_MS, "VC", np.full(400, level_mV)) for _ in range(2)]
            + [Chunk(SWEEP_DT_MS, "VC", down), Chunk(SWEEP_DT_MS, "VC", np.full(400, -70.0))])


def _vc_escape() -> list[Chunk]:
    """A VC step to -50 mV: this cell's soma escapes the clamp and fires every ~14 ms."""
    return _vc_steps(-50.0)


SCENARIOS: dict[str, tuple[tuple[str, float], Callable[[], list[Chunk]]]] = {
    "release": (("VC", HOLD_MV), _release),
    "release_inputs": (("VC", HOLD_MV), _release_then_inputs),
    "vc_steps": (("VC", -70.0), _vc_steps),
    "vc_escape": (("VC", -70.0), _vc_escape),
}


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], Run]:
    """Every scenario stepped the new way, the old way and at the reference step (and one too coarse)."""
    out = {}
    for name, (start, chunks) in SCENARIOS.items():
        for how in ("new", "old", "reference"):
            out[(name, how)] = _simulate(start, chunks(), how)
    for name in SCENARIOS:
        start, chunks = SCENARIOS[name]
        out[(name, "uniform 0.5")] = _simulate(start, chunks(), "uniform 0.5")
    return out


def test_release_above_the_cut(runs: dict[tuple[str, str], Run]) -> None:
    """A soma released to CC that starts its wait just above -55 mV and repolarises to rest: coarse steps once it
    moves slowly, within tolerance of the reference; a uniform tail step is not."""
    ref, new, old = runs[("release", "reference")], runs[("release", "new")], runs[("release", "old")]
    assert ref.v_soma_mV[400] > -55.0 > ref.v_soma_mV[-1]  # the wait starts above the cut
    dev = _deviation(new, ref)
    assert dev["soma_mV"] < V_TOL_MV and dev["head_mV"] < V_TOL_MV and dev["ca_rel"] < CA_RTOL, dev
    assert new.solved_steps < 0.4 * old.solved_steps
    assert _deviation(runs[("release", "uniform 0.5")], ref)["soma_mV"] > V_TOL_MV  # the test can fail


def test_release_then_ap_and_epsp(runs: dict[tuple[str, str], Run]) -> None:
    """A current pulse and a synaptic input while the soma repolarises: stepped finely, the same spikes at the same
    times. The fine step (the 0.05 ms sample interval) is itself 0.3 mV off the reference after spikes, so here the
    new choice is held to the old rule's deviation plus the tolerances; a uniform tail step fails both checks."""
    ref, new, old, coarse = (runs[("release_inputs", h)] for h in ("reference", "new", "old", "uniform 0.5"))
    spikes_ref = _spike_times_ms(ref)
    assert spikes_ref.size >= 2
    assert _spike_times_ms(new).size == spikes_ref.size == _spike_times_ms(old).size
    np.testing.assert_allclose(_spike_times_ms(new), spikes_ref, atol=0.1)
    t = np.cumsum(ref.sample_dt_ms)
    away = np.all(np.abs(t[:, None] - spikes_ref[None, :]) > 3.0, axis=1)

    def off(run: Run) -> float:
        return float(np.max(np.abs(run.v_soma_mV - ref.v_soma_mV)[away]))
    assert off(new) < off(old) + V_TOL_MV
    assert _deviation(new, ref)["ca_of_range"] < _deviation(old, ref)["ca_of_range"] + CA_RTOL
    assert new.solved_steps <= old.solved_steps
    coarse_spikes = _spike_times_ms(coarse)
    assert (coarse_spikes.size != spikes_ref.size or float(np.max(np.abs(coarse_spikes - spikes_ref))) > 0.1
            or off(coarse) > off(old) + V_TOL_MV)  # the test can fail


def test_vc_command_steps(runs: dict[tuple[str, str], Run]) -> None:
    """Command steps in VC: fine steps around each step, coarse once the voltages settle; within tolerance of the
    reference in voltage, head Ca and the clamp current's transient."""
    ref, new, old = (runs[("vc_steps", h)] for h in ("reference", "new", "old"))
    dev = _deviation(new, ref)
    transient = float(np.ptp(ref.clamp_current_pA))
    assert dev["soma_mV"] < V_TOL_MV and dev["head_mV"] < V_TOL_MV and dev["ca_rel"] < CA_RTOL, dev
    assert dev["current_pA"] < 0.01 * transient, (dev, transient)
    assert new.solved_steps < old.solved_steps
    assert _deviation(runs[("vc_steps", "uniform 0.5")], ref)["soma_mV"] > V_TOL_MV  # the test can fail


if __name__ == "__main__":  # the measured deviations, for the docstring and benchmarks/README.md
    for name, (start, chunks) in SCENARIOS.items():
        reference = _simulate(start, chunks(), "reference")
        t = np.cumsum(reference.sample_dt_ms)
        away = np.all(np.abs(t[:, None] - _spike_times_ms(reference)[None, :]) > 3.0, axis=1)
        for how in ("new", "old", "uniform 0.5"):
            r = _simulate(start, chunks(), how)
            print(name, how, r.solved_steps, {k: round(v, 4) for k, v in _deviation(r, reference).items()},
                  "soma away from spikes", round(float(np.max(np.abs(r.v_soma_mV - reference.v_soma_mV)[away])), 4),
                  "spikes", _spike_times_ms(r).round(2).tolist(), "ref", _spike_times_ms(reference).round(2).tolist(),
                  "transient pA", round(float(np.ptp(reference.clamp_current_pA)), 1))


def test_vc_escape_keeps_the_fine_steps(runs: dict[tuple[str, str], Run]) -> None:
    """A soma escaping the clamp fires as it did under the old rule, spike for spike (the fine step's own error,
    0.85-4 ms by the fifth spike against the reference, is not the step choice's to fix), and as often as at the
    reference step."""
    ref, new, old = (runs[("vc_escape", h)] for h in ("reference", "new", "old"))
    assert _spike_times_ms(ref).size >= 4
    assert _spike_times_ms(new).size == _spike_times_ms(ref).size
    np.testing.assert_allclose(_spike_times_ms(new), _spike_times_ms(old), atol=1e-9)
    assert float(np.max(np.abs(new.v_soma_mV - old.v_soma_mV))) < V_TOL_MV
