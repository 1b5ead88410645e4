"""The simulated rig's hidden true calibration: what the devices really do with the volts the profile asks for.

A real rig's galvos, Pockels cell, LEDs and telegraphs never match the profile's numbers exactly; that is
why `rig calibrate` exists. Here the simulated hardware has a true calibration (from the profile's
`simulation.hidden_calibration`: given ratios, or ratios drawn from a seed) and the physics sees a command
the way real hardware would: profile units -> volts by the profile's NOMINAL calibration (what the
program writes), volts -> physical units by the TRUE calibration (what the hardware does). Without
`hidden_calibration` settings every conversion is the identity and returns its input unchanged.

Also here: the simulated power meter under the objective and the simulated telegraph outputs, both read
through the true calibration, and the calibration slides (a grid, a uniform dye layer) the optics image
instead of the cell when asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from rig.calibrate.nominal import nominal_pockels_table
from rig.config.device_specs import GalvoScannerSpec, LedSourceSpec, PatchAmplifierSpec, PockelsLaserSpec, ShutterSpec
from rig.config.hidden_calibration import HiddenCalibrationSpec
from rig.config.profile import HardwareProfile
from simulated_devices.specimen_config import SimulationSpec

if TYPE_CHECKING:
    from simulated_devices.daq import SimulatedDaq


@dataclass(frozen=True)
class GalvoTruth:
    """One scanner: the profile's volts per um and offset, and the true um per volt of each axis."""

    volts_per_um: tuple[float, float]
    offset_V: tuple[float, float]
    true_um_per_V: tuple[float, float]

    def true_um(self, axis: int, commanded_um: np.ndarray) -> np.ndarray:
        """Where the beam lands for a command in profile um (via the volts the program writes)."""
        volts = commanded_um * self.volts_per_um[axis] + self.offset_V[axis]
        return (volts - self.offset_V[axis]) * self.true_um_per_V[axis]


@dataclass(frozen=True)
class PockelsTruth:
    """One laser: its nominal table (volts, fraction) and the true sin^2 transmission of its cell.

    True power fraction at V: sin^2(pi/2 (V - V_lo) / V_pi) / sin^2(pi/2 (V_hi - V_lo) / V_pi), the
    Pockels cell between crossed polarizers (Saleh & Teich, Fundamentals of Photonics, ch. 20),
    normalized over the table's volts [V_lo, V_hi] as the profile's fractions are.
    """

    volts: tuple[float, ...]
    fraction: tuple[float, ...]
    v_pi_V: float
    max_power_mW: float

    def nominal_volts(self, commanded_fraction: np.ndarray) -> np.ndarray:
        """The volts the program writes for a power fraction (the profile's table, linear in between)."""
        return np.interp(commanded_fraction, self.fraction, self.volts)

    def true_fraction_at(self, volts: np.ndarray) -> np.ndarray:
        """Power fraction the cell really passes at control volts (clamped to the table's volts)."""
        lo, hi = self.volts[0], self.volts[-1]
        v = np.clip(np.asarray(volts, dtype=np.float64), lo, hi)
        top = math.sin(math.pi / 2 * (hi - lo) / self.v_pi_V) ** 2
        return np.sin(np.pi / 2 * (v - lo) / self.v_pi_V) ** 2 / top


@dataclass(frozen=True)
class TelegraphTruth:
    """One amplifier: the volts its telegraph outputs really give for each mode and primary gain."""

    mode_levels_V: dict[str, float]
    gain_levels_V: dict[float, float]


@dataclass
class HiddenCalibration:
    """Every device's true calibration; `identity` when the profile asks for none (conversions return inputs)."""

    spec: HiddenCalibrationSpec
    identity: bool
    galvos: dict[str, GalvoTruth] = field(default_factory=dict)
    lasers: dict[str, PockelsTruth] = field(default_factory=dict)
    leds_mW: dict[str, float] = field(default_factory=dict)  # "<source>.<led>" -> true power when on
    ttl_high_V: float = 5.0
    telegraphs: dict[str, TelegraphTruth] = field(default_factory=dict)
    pockels_identity: bool = True

    # ----- the physics side: commands in profile units -> what the hardware does ------------------------
    def beam_um(self, x_um: np.ndarray, y_um: np.ndarray, scanner: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """True beam position for commanded positions (the first scanner's calibration by default)."""
        if self.identity or not self.galvos:
            return x_um, y_um
        galvo = self.galvos[scanner] if scanner is not None else next(iter(self.galvos.values()))
        return galvo.true_um(0, np.asarray(x_um, dtype=np.float64)), galvo.true_um(1, np.asarray(y_um, dtype=np.float64))

    def beam_power(self, power: np.ndarray, laser: str | None = None) -> np.ndarray:
        """True power fraction for a commanded one (the first laser's cell by default)."""
        if self.pockels_identity or not self.lasers:
            return power
        truth = self.lasers[laser] if laser is not None else next(iter(self.lasers.values()))
        return truth.true_fraction_at(truth.nominal_volts(np.asarray(power, dtype=np.float64)))

    def led_power_mW(self, source: str, led: str) -> float:
        """True power at the sample of one LED when its line is high."""
        return self.leds_mW[f"{source}.{led}"]

    def telegraph_volts(self, amplifier: str, role: Literal["mode", "gain"], mode: str, gain: float) -> float:
        """The true volts a telegraph output gives in this mode / at this primary gain."""
        truth = self.telegraphs[amplifier]
        if role == "mode":
            return truth.mode_levels_V[mode]
        return truth.gain_levels_V[gain]

    # ----- the same from volts (the devices branch's simulated_devices/driver.py TrueCalibration protocol) -----
    def galvo_um(self, device: str, axis: str, volts: np.ndarray) -> np.ndarray | None:
        """True beam position on one axis for galvo command volts; None: the profile's calibration holds."""
        if self.identity or device not in self.galvos:
            return None
        galvo = self.galvos[device]
        i = 0 if axis == "x" else 1
        return (np.asarray(volts, dtype=np.float64) - galvo.offset_V[i]) * galvo.true_um_per_V[i]

    def pockels_power(self, device: str, volts: np.ndarray) -> np.ndarray | None:
        """True power fraction for Pockels command volts; None: the profile's calibration holds."""
        if self.pockels_identity or device not in self.lasers:
            return None
        return self.lasers[device].true_fraction_at(volts)

    # ----- the truth a calibration should recover, in the profile's terms ---------------------------------
    def true_volts_per_um(self, scanner: str) -> tuple[float, float]:
        """The volts_per_um (x, y) a perfect calibration writes into the profile."""
        galvo = self.galvos[scanner]
        return 1.0 / galvo.true_um_per_V[0], 1.0 / galvo.true_um_per_V[1]

    def true_power_fraction(self, laser: str, volts: np.ndarray) -> np.ndarray:
        """The power fraction a perfect calibration assigns to control volts."""
        truth = self.lasers[laser]
        if self.pockels_identity:
            return np.interp(volts, truth.volts, truth.fraction)
        return truth.true_fraction_at(volts)


def _ratio(given: float | None, rng: np.random.Generator | None, spec: HiddenCalibrationSpec,
           positive: bool = False) -> float:
    """A true/profile ratio: the given one, else drawn from the seed (|error| in [min, max]), else 1."""
    if rng is None:
        return 1.0 if given is None else given
    magnitude = rng.uniform(spec.min_error_fraction, spec.max_error_fraction)
    sign = 1.0 if positive or rng.random() < 0.5 else -1.0
    return given if given is not None else 1.0 + sign * magnitude


def hidden_calibration(profile: HardwareProfile) -> HiddenCalibration:
    """The true calibration of a simulated profile's devices (identity unless `hidden_calibration` asks)."""
    sim = profile.simulation
    spec = sim.hidden_calibration if isinstance(sim, SimulationSpec) else HiddenCalibrationSpec()
    given = [spec.galvo_x_ratio, spec.galvo_y_ratio, spec.pockels_v_pi_ratio, spec.led_power_ratio,
             spec.telegraph_ratio]
    rng = np.random.default_rng(spec.seed) if spec.seed is not None else None
    # every draw happens in a fixed order whether or not a ratio is given, so one ratio never shifts another
    gx, gy = _ratio(spec.galvo_x_ratio, rng, spec), _ratio(spec.galvo_y_ratio, rng, spec)
    pockels = _ratio(spec.pockels_v_pi_ratio, rng, spec, positive=True)
    led_ratio, telegraph = _ratio(spec.led_power_ratio, rng, spec), _ratio(spec.telegraph_ratio, rng, spec)
    absolute = spec.galvo_um_per_V is not None or spec.pockels_v_pi_V is not None
    identity = rng is None and all(g is None for g in given) and not absolute
    out = HiddenCalibration(spec, identity, ttl_high_V=profile.daq.timing.ttl_high_V,
                            pockels_identity=identity or (rng is None and spec.pockels_v_pi_ratio is None
                                                          and spec.pockels_v_pi_V is None))
    for name, device in profile.devices.items():
        if isinstance(device, GalvoScannerSpec):
            vx = device.volts_per_um
            vy = device.volts_per_um_y if device.volts_per_um_y is not None else vx
            true_um_per_V = spec.galvo_um_per_V if spec.galvo_um_per_V is not None else (gx / vx, gy / vy)
            out.galvos[name] = GalvoTruth((vx, vy), device.offset_V, true_um_per_V)
        elif isinstance(device, PockelsLaserSpec):
            volts, fraction = nominal_pockels_table(device)
            v_pi = spec.pockels_v_pi_V if spec.pockels_v_pi_V is not None else pockels * (volts[-1] - volts[0])
            out.lasers[name] = PockelsTruth(volts, fraction, v_pi, spec.laser_max_power_mW)
        elif isinstance(device, LedSourceSpec):
            for led, led_spec in device.leds.items():
                nominal = led_spec.power_mW if led_spec.power_mW is not None else spec.led_power_mW
                # each LED differs a little from the source's ratio (drawn from the seed and the LED's name)
                spread = 1.0 if rng is None or spec.led_power_ratio is not None else float(np.random.default_rng(
                    [spec.seed or 0, *map(ord, f"{name}.{led}")]).uniform(0.97, 1.03))
                out.leds_mW[f"{name}.{led}"] = nominal * led_ratio * spread
        elif isinstance(device, PatchAmplifierSpec) and device.telegraph is not None:
            t = device.telegraph
            out.telegraphs[name] = TelegraphTruth({m: v * telegraph for m, v in t.mode_levels_V.items()},
                                                  {g: v * telegraph for g, v in t.gain_levels_V})
    return out


def shutters_open(profile: HardwareProfile, held: dict[str, float]) -> bool:
    """True when every shutter of the light path is open (no shutter: always open)."""
    return all(held.get(f"{n}.open", 0.0) >= 0.5 for n, d in profile.devices.items() if isinstance(d, ShutterSpec))


class SimulatedPowerMeter:
    """A thermal power meter under the objective: the light the held outputs really deliver, in mW.

    The meter sits where the sample would be, so it sees the laser through the shutter and the
    Pockels cell's true transmission, and every LED that is on, with a small reading noise.
    """

    def __init__(self, daq: "SimulatedDaq", truth: HiddenCalibration, seed: int):
        self.daq = daq
        self.truth = truth
        self.rng = np.random.default_rng(seed)

    def read_mW(self) -> float:
        """One settled reading of the power at the sample (mW)."""
        profile, held = self.daq.profile, self.daq.held
        total = 0.0
        if shutters_open(profile, held):
            for name in profile.devices_of_kind("pockels_laser"):
                commanded = np.asarray([held[f"{name}.power"]])
                fraction = float(self.truth.beam_power(commanded, name)[0])
                total += self.truth.lasers[name].max_power_mW * fraction
        for name, device in profile.devices_of_type(LedSourceSpec).items():
            for led in device.leds:
                if held[f"{name}.{led}"] >= 0.5:
                    total += self.truth.led_power_mW(name, led)
        noise = self.truth.spec.power_meter_noise_fraction
        return total * (1.0 + self.rng.normal(0.0, noise)) if noise > 0 else total


class SimulatedTelegraphs:
    """The telegraph outputs of the simulated amplifiers: mode and primary gain as true volts on the wired AIs.

    The simulated amplifier's mode is the DAQ's; its primary gain is the knob `set_gain` turns (Commander's
    gain on a 700B). A calibration steps both and reads the volts with `read_volts(address)`.
    """

    def __init__(self, daq: "SimulatedDaq", truth: HiddenCalibration, seed: int):
        self.daq = daq
        self.truth = truth
        self.rng = np.random.default_rng(seed)
        self.gains: dict[str, float] = {}
        self.addresses: dict[str, tuple[str, Literal["mode", "gain"]]] = {}
        for name, device in daq.profile.devices_of_type(PatchAmplifierSpec).items():
            telegraph = device.telegraph
            if telegraph is None:
                continue
            self.gains[name] = device.scaling.primary_gain
            if telegraph.mode:
                self.addresses[telegraph.mode] = (name, "mode")
            if telegraph.gain:
                self.addresses[telegraph.gain] = (name, "gain")

    def set_gain(self, amplifier: str, gain: float) -> None:
        """Turn the amplifier's primary output gain."""
        self.gains[amplifier] = gain

    def read_volts(self, address: str, n_samples: int = 100) -> float:
        """Mean of `n_samples` readings of a telegraph input (ValueError: nothing is wired there)."""
        if address not in self.addresses:
            raise ValueError(f"no simulated telegraph output is wired to {address}")
        amplifier, role = self.addresses[address]
        mode = self.daq.amplifier_modes.get(amplifier, "VC")
        level = self.truth.telegraph_volts(amplifier, role, mode, self.gains[amplifier])
        noise = self.truth.spec.telegraph_noise_V
        return level + (float(self.rng.normal(0.0, noise, n_samples).mean()) if noise > 0 else 0.0)


def slide_excitation(spec: HiddenCalibrationSpec, x_um: np.ndarray, y_um: np.ndarray, psf_sigma_um: float,
                     peak: float) -> np.ndarray:
    """Excitation of a calibration slide at true beam positions (weight-1 units, `peak` on a grid line).

    The grid: lines along x and y every `grid_pitch_um` through the origin, each `grid_line_width_um` wide,
    seen through the PSF (a Gaussian of variance sigma^2 + width^2 / 12 across each line). A uniform slide
    excites `peak` everywhere.
    """
    if spec.sample == "uniform_slide":
        return np.full(np.shape(x_um), peak)
    pitch = spec.grid_pitch_um
    sigma2 = psf_sigma_um**2 + spec.grid_line_width_um**2 / 12.0
    dx = (np.asarray(x_um) + pitch / 2) % pitch - pitch / 2
    dy = (np.asarray(y_um) + pitch / 2) % pitch - pitch / 2
    lines = np.exp(-dx**2 / (2 * sigma2)) + np.exp(-dy**2 / (2 * sigma2))
    return peak * np.minimum(lines, 1.0)


class Miswiring:
    """Cables crossed relative to the profile: the two outputs (or inputs) of each pair trade signals."""

    def __init__(self, profile: HardwareProfile):
        from rig.config.channels import logical_channels

        sim = profile.simulation
        pairs = sim.hidden_calibration.swapped_channels if isinstance(sim, SimulationSpec) else []
        by_address = {info.address: name for name, info in logical_channels(profile).items()}
        self.pairs: list[tuple[str, str]] = []
        for a, b in pairs:
            if a not in by_address or b not in by_address:
                raise ValueError(f"simulation.hidden_calibration.swapped_channels: {a} / {b} is not an address of "
                                 "the profile's channels")
            self.pairs.append((by_address[a], by_address[b]))

    def cross(self, signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The signals as the hardware really gets (outputs) or gives (inputs) them; the same dict when none cross."""
        if not self.pairs:
            return signals
        crossed = dict(signals)
        for a, b in self.pairs:
            if a in signals and b in signals:
                crossed[a], crossed[b] = signals[b], signals[a]
        return crossed
