"""Stimulus pulses -> transmitter release at each synapse (release probability, facilitation).

Each pulse recruits every stimulated synapse. A synapse releases with probability
p = min(1, p0 * s(Ca_o) * (1 + F)), where F is a facilitation trace that decays with
tau_F and jumps by `increment` after every pulse (residual-Ca facilitation), and
s(Ca_o) = (Ca_o/(Ca_o + K))^4 / (2/(2 + K))^4 is the Dodge-Rahamimoff dependence on
external Ca (p0 is given at 2 mM). A success delivers one quantum of amplitude drawn
from a gamma distribution of mean 1 and the given CV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_DR_K_MM = 1.0  # Dodge-Rahamimoff half-saturation (mM)


def pulse_onsets(trigger_V: np.ndarray, previous_V: float, threshold_V: float) -> np.ndarray:
    """Sample indices where the trigger becomes active (|V| crosses the threshold upward)."""
    active = np.abs(trigger_V) > threshold_V
    before = np.concatenate(([abs(previous_V) > threshold_V], active[:-1]))
    return np.flatnonzero(active & ~before)


def ca_release_scale(external_ca_mM: float) -> float:
    """Release probability relative to 2 mM external Ca (fourth-power cooperativity)."""
    def f(ca: float) -> float:
        return (ca / (ca + _DR_K_MM)) ** 4
    return f(external_ca_mM) / f(2.0)


@dataclass
class ReleaseOutcome:
    """Result of one pulse at every synapse."""

    time_ms: float
    probability: np.ndarray  # release probability of each synapse at this pulse
    released: np.ndarray  # bool per synapse
    amplitude: np.ndarray  # quantal amplitude (0 on failures)


class ReleaseSites:
    """The presynaptic side of every synapse the stimulus electrode recruits."""

    def __init__(self, p0: np.ndarray, recruited: np.ndarray, increment: float, tau_ms: float,
                 quantal_cv: float, rng: np.random.Generator):
        self.p0 = np.asarray(p0, dtype=float)
        self.recruited = np.asarray(recruited, dtype=bool)
        self.increment = increment
        self.tau_ms = tau_ms
        self.quantal_cv = quantal_cv
        self.rng = rng
        self.facilitation = np.zeros(self.p0.size)
        self._last_ms: float | None = None
        self.history: list[ReleaseOutcome] = []

    def _decay_to(self, time_ms: float) -> None:
        if self._last_ms is not None:
            self.facilitation *= np.exp(-(time_ms - self._last_ms) / self.tau_ms)
        self._last_ms = time_ms

    def probability_now(self, time_ms: float, external_ca_mM: float) -> np.ndarray:
        """Release probability each synapse would have at a pulse now."""
        f = self.facilitation.copy()
        if self._last_ms is not None:
            f *= np.exp(-(time_ms - self._last_ms) / self.tau_ms)
        return np.minimum(1.0, self.p0 * ca_release_scale(external_ca_mM) * (1.0 + f)) * self.recruited

    def pulse(self, time_ms: float, external_ca_mM: float) -> ReleaseOutcome:
        """One stimulus pulse: draw successes and quantal amplitudes, then facilitate."""
        p = self.probability_now(time_ms, external_ca_mM)
        self._decay_to(time_ms)
        released = self.rng.random(p.size) < p
        if self.quantal_cv > 0:
            shape = 1.0 / self.quantal_cv**2
            amp = self.rng.gamma(shape, 1.0 / shape, p.size)
        else:
            amp = np.ones(p.size)
        amp = np.where(released, amp, 0.0)
        self.facilitation += self.increment * self.recruited
        outcome = ReleaseOutcome(time_ms, p, released, amp)
        self.history.append(outcome)
        if len(self.history) > 10_000:
            del self.history[:5_000]
        return outcome
