"""Membrane test: a voltage-clamp test-pulse SweepPlan and the pure analysis giving Rs, Rin and Cm."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.kind_meta import TestPulseMeta
from rig.datatypes.sweep_meta import SweepMeta
from rig.datatypes.sweep_plan import SweepPlan


@dataclass(frozen=True)
class PulseShape:
    """Shape of the VC test pulse: holding, step, timing and sampling."""

    holding_mV: float = -70.0
    step_mV: float = -5.0
    baseline_ms: float = 5.0
    pulse_ms: float = 15.0
    tail_ms: float = 10.0
    sample_rate_hz: float = 50_000.0
    interval_s: float = 0.1

    @property
    def onset_sample(self) -> int:
        """Index of the first sample of the step."""
        return int(round(self.baseline_ms * self.sample_rate_hz / 1000.0))

    @property
    def pulse_samples(self) -> int:
        """Number of samples of the step."""
        return int(round(self.pulse_ms * self.sample_rate_hz / 1000.0))


@dataclass(frozen=True)
class MembraneParameters:
    """Passive parameters from one test pulse."""

    series_resistance_MOhm: float
    input_resistance_MOhm: float
    capacitance_pF: float
    tau_ms: float
    peak_pA: float
    steady_pA: float


def pulse_plan(profile: HardwareProfile, amplifier: str, pulse: PulseShape, sweep_in_step: int = 0) -> SweepPlan:
    """One VC test-pulse sweep on the amplifier (command in mV, primary = current in pA)."""
    n = pulse.onset_sample + pulse.pulse_samples + int(round(pulse.tail_ms * pulse.sample_rate_hz / 1000.0))
    command = np.full(n, pulse.holding_mV, dtype=np.float32)
    command[pulse.onset_sample:pulse.onset_sample + pulse.pulse_samples] += pulse.step_mV
    spec = profile.amplifier(amplifier)
    inputs = [f"{amplifier}.primary"] + ([f"{amplifier}.secondary"] if spec.channels.secondary else [])
    return SweepPlan(step_index=0, step_name="membrane_test", kind="membrane_test", sweep_in_step=sweep_in_step,
                     sample_rate_hz=pulse.sample_rate_hz, n_samples=n,
                     outputs={f"{amplifier}.command": command}, inputs=tuple(inputs), amplifier=amplifier,
                     amplifier_mode="VC", interval_after_s=pulse.interval_s,
                     events_ms={"pulse_start": pulse.baseline_ms, "pulse_end": pulse.baseline_ms + pulse.pulse_ms},
                     meta=SweepMeta(holding=pulse.holding_mV, kind_meta=TestPulseMeta(pulse.holding_mV, pulse.step_mV)))


def analyze_pulse(current_pA: np.ndarray, pulse: PulseShape) -> MembraneParameters:
    """Rs from the instantaneous current (exponential extrapolated to onset), Rin from the steady state,
    Cm from the decay time constant: tau = Cm (Rs || Rin)."""
    i = np.asarray(current_pA, dtype=float)
    on, n_pulse = pulse.onset_sample, pulse.pulse_samples
    if i.shape[0] < on + n_pulse or on < 10 or n_pulse < 20:
        raise ValueError("trace too short for the test pulse")
    baseline = float(np.median(i[int(0.6 * on):on]))  # the end of the baseline: the sweep start may still settle
    step = i[on:on + n_pulse] - baseline
    steady = float(np.mean(step[int(0.7 * n_pulse):]))
    transient = (step - steady) * math.copysign(1.0, pulse.step_mV)
    # The amplifier's filter delays the peak by a few samples: fit the decay from the peak on and
    # extrapolate it back to the step onset, where the whole step falls across Rs.
    peak_at = int(np.argmax(transient[:max(3, n_pulse // 5)]))
    peak = float(transient[peak_at])
    if not peak > 0:
        raise ValueError("no capacitive transient")
    below = np.flatnonzero(transient[peak_at:] < 0.15 * peak)
    stop = peak_at + (int(below[0]) if below.size else n_pulse - peak_at)
    fit_from = peak_at + 1
    if stop - fit_from < 3:
        raise ValueError("transient decays within two samples: sample faster")
    t_ms = np.arange(fit_from, stop) * 1000.0 / pulse.sample_rate_hz
    slope, intercept = np.polyfit(t_ms, np.log(np.maximum(transient[fit_from:stop], 1e-12)), 1)
    if not slope < 0:
        raise ValueError("transient does not decay")
    tau_ms = float(-1.0 / slope)
    amplitude_pA = math.exp(intercept)
    dv = abs(pulse.step_mV)
    rs = dv / (amplitude_pA + abs(steady)) * 1e3  # instantaneous current flows through Rs alone; mV/pA = GOhm
    r_total = dv / abs(steady) * 1e3 if steady != 0 else math.inf
    rin = r_total - rs
    parallel = rs * rin / (rs + rin) if rin > 0 else math.nan
    cm_pF = tau_ms / parallel * 1e3 if parallel > 0 else math.nan  # ms / MOhm = nF
    return MembraneParameters(rs, rin, cm_pF, tau_ms, (amplitude_pA + abs(steady)) * math.copysign(1.0, pulse.step_mV), steady)


@dataclass(frozen=True)
class PulseLevels:
    """The baseline (holding) current and the steady current change of one test pulse."""

    holding_pA: float
    steady_step_pA: float

    def resistance_MOhm(self, step_mV: float) -> float:
        """Total resistance seen by the pulse, step / steady current change (pipette in the bath, seal, or
        Rs + Rin with a cell); inf when the current does not change."""
        return abs(step_mV) / abs(self.steady_step_pA) * 1e3 if self.steady_step_pA != 0 else math.inf


def pulse_levels(current_pA: np.ndarray, pulse: PulseShape) -> PulseLevels:
    """Holding current (median of the late baseline) and the steady step (mean of the last 30 % of the pulse)."""
    i = np.asarray(current_pA, dtype=float)
    on, n_pulse = pulse.onset_sample, pulse.pulse_samples
    if i.shape[0] < on + n_pulse or on < 10 or n_pulse < 20 or not np.isfinite(i[:on + n_pulse]).all():
        raise ValueError("trace too short for the test pulse")
    baseline = float(np.median(i[int(0.6 * on):on]))
    steady = float(np.mean(i[on + int(0.7 * n_pulse):on + n_pulse])) - baseline
    return PulseLevels(baseline, steady)
