"""Ready-made sweeps for exercising the simulated rig directly (tests, benchmarks, notebooks).

These build ordinary SweepPlans (the same data protocols compile to) and run them on a
SimulatedDaq, so everything goes through the DAQ clock, the devices' channels and the
specimen exactly as in a protocol run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from rig.config.profile import LoadedProfile, load_profile
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig, build_rig
from simulated_devices.daq import SimulatedDaq
from simulated_devices.specimen_config import SimulationSpec


@dataclass
class SweepSpec:
    """One sweep: clamp, current/voltage steps, stimulus pulses and an optional line scan."""

    duration_ms: float
    sample_rate_hz: float = 20_000.0
    mode: Literal["VC", "CC"] = "CC"
    holding: float = 0.0  # mV in VC, pA in CC
    steps: Sequence[tuple[float, float, float]] = ()  # (start_ms, width_ms, amplitude) added to holding
    stimuli_ms: Sequence[float] = ()
    stimulus_V: float = -4.0
    stimulus_width_ms: float = 0.2
    line_um: tuple[tuple[float, float], tuple[float, float]] | None = None
    line_rate_hz: float = 500.0
    power_fraction: float = 0.1
    leds_on: Sequence[str] = ()
    extra_inputs: Sequence[str] = field(default_factory=tuple)


def build_plan(spec: SweepSpec, sweep: int = 0) -> SweepPlan:
    """A SweepPlan for the simulated profile's device names (amplifier, scanner, laser, ...)."""
    rate = spec.sample_rate_hz
    n = int(round(spec.duration_ms * rate / 1000.0))
    t_ms = np.arange(n) * 1000.0 / rate
    command = np.full(n, spec.holding)
    for start, width, amp in spec.steps:
        command[(t_ms >= start) & (t_ms < start + width)] += amp
    outputs: dict[str, np.ndarray] = {"amplifier.command": command.astype(np.float32)}
    inputs = ["amplifier.primary", "amplifier.secondary"]
    if spec.stimuli_ms:
        trig = np.zeros(n)
        for s in spec.stimuli_ms:
            trig[(t_ms >= s) & (t_ms < s + spec.stimulus_width_ms)] = spec.stimulus_V
        trig[-1] = 0.0
        outputs["stimulator.trigger"] = trig.astype(np.float32)
    if spec.line_um is not None:
        (sx, sy), (ex, ey) = spec.line_um
        per_line = max(2, int(round(rate / spec.line_rate_hz)))
        frac = (np.arange(n) % per_line) / per_line
        outputs["scanner.x"] = (sx + frac * (ex - sx)).astype(np.float32)
        outputs["scanner.y"] = (sy + frac * (ey - sy)).astype(np.float32)
        power = np.full(n, spec.power_fraction)
        power[-2:] = 0.0
        outputs["laser.power"] = power.astype(np.float32)
        shutter = np.ones(n)
        shutter[-2:] = 0.0
        outputs["shutter.open"] = shutter.astype(np.float32)
        inputs += ["scanner.green", "scanner.red"]
    for led in spec.leds_on:
        on = np.ones(n)
        on[-1] = 0.0
        outputs[f"leds.{led}"] = on.astype(np.float32)
    return SweepPlan(step_index=0, step_name="sim", kind="sim", sweep_in_step=sweep, sample_rate_hz=rate,
                     n_samples=n, outputs=outputs, inputs=tuple(inputs) + tuple(spec.extra_inputs),
                     amplifier="amplifier", amplifier_mode=spec.mode)


@dataclass
class SweepResult:
    """Every input channel of a sweep plus the specimen's own state at each sample."""

    data: dict[str, np.ndarray]
    v_head_mV: np.ndarray
    ca_free_uM: np.ndarray
    na_mM: np.ndarray
    sample_rate_hz: float


def run_sweep(daq: SimulatedDaq, spec: SweepSpec, sweep: int = 0) -> SweepResult:
    """Execute one sweep on the simulated DAQ (mode set as the amplifier device would)."""
    plan = build_plan(spec, sweep)
    daq.amplifier_modes["amplifier"] = spec.mode
    daq.load(plan)
    daq.start()
    chunks: dict[str, list[np.ndarray]] = {c: [] for c in plan.inputs}
    heads, ca, na = [], [], []
    try:
        while (chunk := daq.read()) is not None:
            for c, v in chunk.items():
                chunks[c].append(v)
            assert daq.last_samples is not None
            heads.append(daq.last_samples.v_head_mV)
            ca.append(daq.last_samples.ca_free_uM)
            na.append(daq.last_samples.na_mM)
    finally:
        daq.stop()
    return SweepResult({c: np.concatenate(v) for c, v in chunks.items()}, np.vstack(heads), np.vstack(ca),
                       np.vstack(na), spec.sample_rate_hz)


def simulated_rig(profile_path: Path, **simulation_updates: object) -> Rig:
    """Build the simulated rig of a profile with some `simulation` fields replaced (dicts merge one level)."""
    loaded = load_profile(profile_path)
    sim = loaded.profile.simulation
    assert sim is not None
    data = sim.model_dump()
    for key, value in simulation_updates.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = data[key] | value
        else:
            data[key] = value
    profile = loaded.profile.model_copy(update={"simulation": SimulationSpec.model_validate(data)})
    return build_rig(LoadedProfile(loaded.path, loaded.text, profile))
