"""What one sweep costs the spine it targets: two-photon light, LED light and time held depolarized (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan


@dataclass(frozen=True)
class Dose:
    """Light and depolarization one or more sweeps deliver.

    `two_photon_fraction2_s`: the integral of the Pockels power fraction squared over time (two-photon
    excitation and its damage scale with intensity squared), in s. `led_mJ`: each LED's on-time times its power
    (the profile's `power_mW`; 1 mW when not given, so the figure is then on-time in ms / 1000). `depolarized_s`:
    time the cell is voltage-clamped above the budget's threshold, the interval after a sweep included when the
    sweep ends there (the holding stays until the next sweep).
    """

    two_photon_fraction2_s: float = 0.0
    led_mJ: float = 0.0
    depolarized_s: float = 0.0

    def __add__(self, other: "Dose") -> "Dose":
        return Dose(self.two_photon_fraction2_s + other.two_photon_fraction2_s, self.led_mJ + other.led_mJ,
                    self.depolarized_s + other.depolarized_s)


def spine_dose_p2ms(plan: SweepPlan, target_um: tuple[float, float], radius_um: float = 0.5,
                    n_samples: int | None = None) -> float:
    """Sum of power^2 x dt over samples with the beam within radius of the target and the shutter open."""
    n = plan.n_samples if n_samples is None else min(n_samples, plan.n_samples)
    power = np.zeros(n)
    x = y = None
    gate = np.ones(n)
    for name, wave in plan.outputs.items():
        role = name.rpartition(".")[2]
        if role == "power":
            power = power + np.asarray(wave[:n], dtype=float)
        elif role == "open":
            gate = gate * np.asarray(wave[:n], dtype=float)
        elif role == "x":
            x = np.asarray(wave[:n], dtype=float)
        elif role == "y":
            y = np.asarray(wave[:n], dtype=float)
    if x is None or y is None:
        return 0.0
    near = np.hypot(x - target_um[0], y - target_um[1]) <= radius_um
    return float(np.sum((power * gate) ** 2 * near) * 1000.0 / plan.sample_rate_hz)


def sweep_dose(plan: SweepPlan, profile: HardwareProfile, depolarized_above_mV: float,
               target_um: tuple[float, float] | None = None) -> Dose:
    """The dose of one planned sweep on the spine at `target_um`, from its output waveforms.

    Two-photon light counts where the beam is on the spine with the shutter open (`spine_dose_p2ms`, the
    window's meter); with no target (sweeps charged to the whole cell) every sample of the Pockels command."""
    dt_s = 1.0 / plan.sample_rate_hz
    two_photon = led = depolarized = 0.0
    for channel, wave in plan.outputs.items():
        device, _, role = channel.partition(".")
        spec = profile.devices.get(device)
        if spec is None:
            continue
        samples = np.asarray(wave, dtype=np.float64)
        if spec.kind == "pockels_laser" and target_um is None:
            two_photon += float(np.sum(samples * samples)) * dt_s
        elif spec.kind == "led_source" and role in spec.leds:
            power_mW = spec.leds[role].power_mW
            power = power_mW if power_mW is not None else 1.0
            led += float(np.count_nonzero(samples > 0.5)) * dt_s * power  # mW x s = mJ
        elif spec.kind == "patch_amplifier" and role == "command" and plan.amplifier_mode == "VC" \
                and plan.amplifier == device:
            above = samples > depolarized_above_mV
            depolarized += float(np.count_nonzero(above)) * dt_s
            if samples.size and above[-1]:
                depolarized += plan.interval_after_s
    if target_um is not None:
        two_photon = spine_dose_p2ms(plan, target_um) / 1000.0
    return Dose(two_photon, led, depolarized)
