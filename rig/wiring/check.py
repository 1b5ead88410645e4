"""The wiring check: each output but the light gets its own test tone, every input is recorded, and the tones
found on each input are compared with where the profile says each signal should come back.

The light is locked out in code, not by request: the plan holds the Pockels power, every shutter and every
LED at zero for the whole sweep (`lock_out_light` refuses any plan that does not), the rig is made safe and
its light devices must report safe before the sweep, and the sweep runs through the real Runner, whose
limits check and safe-on-every-exit path apply as in any run.

Where a signal should come back follows from the devices: the amplifier's command tone on its primary and
secondary outputs (the clamped cell or model cell passes it). Outputs nothing reads back (galvos, triggers)
are listed for a check on the scope. A swap is named when an expected input carries another output's tone
(two outputs' lines crossed) or the expected tone arrives on another input (two inputs' lines crossed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rig.calibrate.acquisition import run_calibration_sweeps
from rig.config.channels import ChannelInfo, logical_channels
from rig.config.device_specs import PatchAmplifierSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.rig import Rig
from rig.wiring.tones import ToneLevel, tone_frequencies, tone_levels

LIGHT_KINDS = ("pockels_laser", "shutter", "led_source")
SAMPLE_RATE_HZ = 20_000.0
DURATION_S = 1.0  # of tones, then 2 samples at rest; the tones are analysed after rig.wiring.tones.SETTLE_S
SIGNIFICANT_SNR = 20.0  # a tone this far above the neighbouring bins' median is there ...
LINE_PURITY = 5.0  # ... if it is also a spectral line: this many times the bins two away (Hann window: ~0 there)


class LightNotLockedOut(RuntimeError):
    """A wiring-check plan would drive a light output, or a light device is not safe: refused before anything moves."""


@dataclass(frozen=True)
class DrivenOutput:
    """An output and the test tone it carries."""

    channel: str
    address: str
    frequency_hz: float
    amplitude: float
    unit: str


@dataclass(frozen=True)
class WiringReport:
    """What was driven, what was recorded, each tone's level on each input, and what that says about the wiring."""

    driven: tuple[DrivenOutput, ...]
    inputs: tuple[ChannelInfo, ...]
    held_off: tuple[ChannelInfo, ...]  # the light outputs, held at zero throughout
    levels: dict[tuple[str, str], ToneLevel]  # (output, input) -> level
    expected: dict[str, tuple[str, ...]]  # output -> inputs it should come back on
    problems: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """No expected return is missing."""
        return not self.problems

    def seen(self, output: str, input_: str) -> bool:
        """The output's tone stands out on the input."""
        return self.levels[(output, input_)].significant(SIGNIFICANT_SNR, LINE_PURITY)


def light_channels(profile: HardwareProfile) -> list[ChannelInfo]:
    """Every output that makes light: Pockels power, shutters, LEDs."""
    return [c for c in logical_channels(profile).values() if c.direction == "out" and c.kind in LIGHT_KINDS]


def expected_returns(profile: HardwareProfile) -> dict[str, tuple[str, ...]]:
    """Inputs each output's signal should come back on: an amplifier's command on its primary and secondary."""
    expected: dict[str, tuple[str, ...]] = {}
    for name, spec in profile.devices.items():
        if isinstance(spec, PatchAmplifierSpec):
            expected[f"{name}.command"] = (f"{name}.primary",) + ((f"{name}.secondary",) if spec.channels.secondary
                                                                 else ())
    return expected


def _test_wave(info: ChannelInfo, profile: HardwareProfile, t_s: np.ndarray, f_hz: float) -> tuple[np.ndarray, float, str]:
    """The tone an output carries, in its own units, well inside its limits."""
    spec = profile.devices[info.device]
    sine = np.sin(2 * np.pi * f_hz * t_s)
    square = (np.sin(2 * np.pi * f_hz * t_s) > 0).astype(np.float64)
    if spec.kind == "patch_amplifier":
        if spec.safe_mode == "VC":
            return spec.safe_holding_mV + 5.0 * sine, 5.0, "mV"
        return spec.safe_holding_pA + 20.0 * sine, 20.0, "pA"
    if spec.kind == "galvo_scanner":
        amplitude = min(5.0, 0.1 * spec.limits.field_half_width_um)
        return amplitude * sine, amplitude, "um"
    if spec.kind == "stimulus_isolator":
        amplitude = min(1.0, spec.limits.max_amplitude_V)
        # pulses no longer than the isolator allows (a square wave's half period may be longer)
        width_s = min(0.5 / f_hz, 0.8 * spec.limits.max_pulse_ms / 1000.0)
        pulses = ((t_s * f_hz) % 1.0 < width_s * f_hz).astype(np.float64)
        return amplitude * pulses, amplitude, "V"
    return square, 1.0, "ttl"


def wiring_plan(profile: HardwareProfile) -> tuple[SweepPlan, list[DrivenOutput]]:
    """One sweep: a distinct tone on every non-light output, zeros on every light output, every input recorded."""
    channels = logical_channels(profile)
    light = {c.name for c in light_channels(profile)}
    driven = [c for c in channels.values() if c.direction == "out" and c.name not in light]
    n = int(round(SAMPLE_RATE_HZ * DURATION_S)) + 2
    t_s = np.arange(n) / SAMPLE_RATE_HZ
    outputs: dict[str, np.ndarray] = {name: np.zeros(n, np.float32) for name in light}
    tones: list[DrivenOutput] = []
    for info, f in zip(driven, tone_frequencies(len(driven), 10.0)):
        wave, amplitude, unit = _test_wave(info, profile, t_s, f)
        end = _rest_value(info, profile)
        wave[-2:] = end  # the sweep ends where the output rests
        outputs[info.name] = wave.astype(np.float32)
        tones.append(DrivenOutput(info.name, info.address, f, amplitude, unit))
    amplifiers = [n for n, s in profile.devices.items() if isinstance(s, PatchAmplifierSpec)]
    mode = profile.amplifier(amplifiers[0]).safe_mode if amplifiers else None
    inputs = tuple(c.name for c in channels.values() if c.direction == "in")
    plan = SweepPlan(step_index=0, step_name="wiring check", kind="wiring_check", sweep_in_step=0,
                     sample_rate_hz=SAMPLE_RATE_HZ, n_samples=n, outputs=outputs, inputs=inputs,
                     amplifier=amplifiers[0] if amplifiers else None, amplifier_mode=mode)
    return plan, tones


def _rest_value(info: ChannelInfo, profile: HardwareProfile) -> float:
    spec = profile.devices[info.device]
    if isinstance(spec, PatchAmplifierSpec):
        return spec.safe_holding_mV if spec.safe_mode == "VC" else spec.safe_holding_pA
    return 0.0


def lock_out_light(plan: SweepPlan, profile: HardwareProfile) -> None:
    """Refuse a plan that does not hold every light output at zero for every sample."""
    for info in light_channels(profile):
        wave = plan.outputs.get(info.name)
        if wave is None or len(wave) != plan.n_samples or np.any(np.asarray(wave) != 0):
            raise LightNotLockedOut(f"{info.name} ({info.address}) is not held at zero for the whole wiring check")


def _light_devices_safe(rig: Rig) -> None:
    light_devices = {c.device for c in light_channels(rig.profile.profile)}
    for report in rig.make_safe():
        if report.device in light_devices and not report.safe:
            raise LightNotLockedOut(f"{report.device} is not safe before the wiring check: {report.detail}")


def analyse(driven: list[DrivenOutput], recorded: dict[str, np.ndarray], profile: HardwareProfile
            ) -> tuple[dict[tuple[str, str], ToneLevel], tuple[str, ...], tuple[str, ...]]:
    """Each tone's level on each input, the problems (missing returns, named swaps) and notes."""
    channels = logical_channels(profile)
    frequencies = [d.frequency_hz for d in driven]
    levels: dict[tuple[str, str], ToneLevel] = {}
    for name, signal in recorded.items():
        for d, level in zip(driven, tone_levels(signal, SAMPLE_RATE_HZ, frequencies)):
            levels[(d.channel, name)] = level
    expected = expected_returns(profile)
    seen = {k for k, v in levels.items() if v.significant(SIGNIFICANT_SNR, LINE_PURITY)}
    by_name = {d.channel: d for d in driven}
    problems: list[str] = []
    notes: list[str] = []

    def where(channel: str) -> str:
        return f"{channel} ({channels[channel].address})"

    crossed_outputs: dict[tuple[str, str], list[str]] = {}  # (output, the output whose tone came instead) -> inputs
    for d in driven:
        inputs = expected.get(d.channel, ())
        if not inputs:
            others = sorted(i for o, i in seen if o == d.channel)
            notes.append(f"{where(d.channel)}: {d.frequency_hz:g} Hz tone, not read back by design"
                         + (f" (seen on {', '.join(others)})" if others else "") + "; check it on a scope")
            continue
        for i in inputs:
            if i not in recorded or (d.channel, i) in seen:
                continue
            impostors = sorted((levels[(o, i)].snr, o) for o in by_name if (o, i) in seen and i not in expected.get(o, ()))
            elsewhere = sorted(j for o, j in seen if o == d.channel and j not in inputs)
            if impostors:
                crossed_outputs.setdefault((d.channel, impostors[-1][1]), []).append(i)
            elif elsewhere:
                problems.append(f"the tone of {where(d.channel)} came back on {where(elsewhere[0])}, expected on "
                                f"{where(i)}: the inputs {channels[i].address} and {channels[elsewhere[0]].address} "
                                "look swapped")
            else:
                problems.append(f"the tone of {where(d.channel)} did not come back on {where(i)}: check that cable")
    for (output, other), crossed in crossed_outputs.items():
        problems.append(f"{', '.join(crossed)} carry the tone sent to {where(other)}, not that of {where(output)}: the "
                        f"outputs {channels[output].address} and {channels[other].address} look swapped")
    return levels, tuple(dict.fromkeys(problems)), tuple(notes)


def check_wiring(rig: Rig) -> WiringReport:
    """Run the wiring check on the rig (light locked out) and analyse what came back where."""
    profile = rig.profile.profile
    plan, driven = wiring_plan(profile)
    lock_out_light(plan, profile)
    _light_devices_safe(rig)
    [recorded] = run_calibration_sweeps(rig, [plan], "check-wiring")
    levels, problems, notes = analyse(driven, recorded, profile)
    channels = logical_channels(profile)
    return WiringReport(tuple(driven), tuple(channels[i] for i in plan.inputs), tuple(light_channels(profile)),
                        levels, expected_returns(profile), problems, notes)
