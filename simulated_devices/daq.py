"""The simulated DAQ: one master clock that executes SweepPlans against the virtual specimen."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from rig.config.channels import logical_channels
from rig.config.device_specs import PatchAmplifierSpec
from rig.config.profile import HardwareProfile
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.bus import Mode
from rig.devices.channel_map import AmplifierState, ChannelMap
from rig.devices.driver import AnalogChannel
from rig.devices.signals.multiclamp import safe_command
from rig.hal.watchdog import WatchdogExpired
from simulated_devices.driver import NOMINAL_POCKELS, SimulatedDriver, TrueCalibration
from simulated_devices.fluorescence import emitter_weights
from simulated_devices.optics import TwoPhotonOptics, pmt_counts
from simulated_devices.release import pulse_onsets
from simulated_devices.specimen import ChunkDrive, ChunkSamples, Specimen
from simulated_devices.specimen_config import simulation_of
from simulated_devices.watchdog import SimulatedWatchdog

JOURNAL_ENV = "SPINERIG_SIM_JOURNAL"


def journal_from_env() -> Path | None:
    """The hardware journal file SPINERIG_SIM_JOURNAL names, if any."""
    journal = os.environ.get(JOURNAL_ENV)
    return Path(journal) if journal else None


class SimulatedDaq:
    """Executes a SweepPlan chunk by chunk, advancing the specimen on the simulated clock.

    Like a real DAQ, each output holds its last value when a sweep stops or is aborted, so
    safe states must be written explicitly. Every static write and stop is appended to a
    JSON-lines journal when SPINERIG_SIM_JOURNAL names a file (used by the safety tests), and
    so is every change of the light (any guarded output on or all off) at a chunk boundary.

    A watchdog (simulated_devices.watchdog) is armed in `load` before anything moves, fed in
    the read/wait loops, and disarmed once every guarded output holds its safe value; if it
    expires, the guarded outputs hold their safe values and the sweep fails.

    It is the DeviceBus (rig.devices.bus) of the same device classes as an NI rig: every output,
    static or clocked, is scaled to volts by the shared ChannelMap (the profile's calibration and
    limits) and turned back into physics by the simulated board (`driver.to_physical`). `held`
    is what the program commanded, in channel units; `physical` is what the hardware does.
    """

    switches_amplifier_mode = True  # the simulated amplifier follows the program's mode

    def __init__(self, profile: HardwareProfile, specimen: Specimen, optics: TwoPhotonOptics, seed: int,
                 watchdog: SimulatedWatchdog | None = None, calibration: TrueCalibration | None = None):
        self.profile = profile
        self.specimen = specimen
        self.optics = optics
        self.rng = np.random.default_rng(seed)
        self.channels = logical_channels(profile)
        self.channel_map = ChannelMap(profile, "simulated", pockels_default=NOMINAL_POCKELS, skip_unparsed=True)
        self.held: dict[str, float] = {n: 0.0 for n, c in self.channels.items() if c.direction == "out"}
        self.amplifier_modes: dict[str, str] = {}
        for name, spec in profile.devices.items():  # amplifiers are switched on at their safe holding
            if isinstance(spec, PatchAmplifierSpec):
                self.amplifier_modes[name] = spec.safe_mode
                self.held[f"{name}.command"] = safe_command(spec.safe_mode, spec.safe_holding_mV, spec.safe_holding_pA)
        self.driver = SimulatedDriver(profile, self.channel_map, self.amplifier_modes, calibration)
        self.physical = self.driver.physical
        self.physical.update({c: float(self.to_physical(c, np.array([v]))[0]) for c, v in self.held.items()})
        self._plan_physical: dict[str, np.ndarray] = {}
        self._plan: SweepPlan | None = None
        self._position = 0
        self._running = False
        self._wall_start = 0.0
        sim = simulation_of(profile)
        self.pace = sim.pace
        self.chunk_ms = sim.chunk_ms
        # Unpaced, a read delivers several physics segments at once (the program still gets data during the sweep).
        self._segments_per_read = 1 if sim.pace == "realtime" else max(1, int(round(sim.fast_read_ms / sim.chunk_ms)))
        self._threshold_V = sim.stimulation.threshold_V
        self._soma_noise = (sim.soma.current_noise_pA, sim.soma.voltage_noise_mV)
        self._journal_path = journal_from_env()
        self._fault: tuple[int, BaseException] | None = None
        self._reads = 0
        self.observers: list[Callable[["SimulatedDaq"], None]] = []
        self.camera_feeds: dict[str, Any] = {}  # camera name -> CameraFeed
        self._bath_applied = False
        self.last_samples: ChunkSamples | None = None  # the specimen during the last chunk (for tests)
        self.watchdog = watchdog
        self._watchdog_armed_once = False
        self._light_on = False
        self.miswiring: Any = None  # simulated_devices.hidden_calibration.Miswiring: cables crossed vs the profile

    @property
    def position(self) -> int:
        """Samples of the current sweep produced so far."""
        return self._position

    @property
    def plan(self) -> SweepPlan | None:
        """The plan being executed, if any."""
        return self._plan

    def inject_fault(self, after_reads: int, error: BaseException) -> None:
        """Make the read that reaches past `after_reads` more chunk_ms segments raise `error` (fault injection for
        tests; a paced read is one segment, an unpaced one several)."""
        self._fault = (self._reads + after_reads, error)

    # ----- journal ----------------------------------------------------------------
    def journal(self, event: str, **fields: object) -> None:
        """Append one event to the hardware journal, if enabled."""
        if self._journal_path is None:
            return
        entry = {"t": time.time(), "event": event, **fields}
        with self._journal_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()

    # ----- watchdog -----------------------------------------------------------------
    def _safe_values(self) -> dict[str, float]:
        return self.watchdog.safe_values if self.watchdog is not None else {}

    def _feed(self) -> None:
        """Feed the watchdog; after an expiry the guarded outputs hold their safe values (the board forced them)."""
        if self.watchdog is None:
            return
        try:
            self.watchdog.feed()
        except WatchdogExpired:
            for channel, value in self._safe_values().items():
                self.held[channel] = value
                self.physical[channel] = float(self.to_physical(channel, np.array([value]))[0])
            raise

    def _simulating(self, busy: bool) -> None:
        if self.watchdog is not None:
            self.watchdog.simulating(busy)

    def _report(self) -> None:
        """Tell the watchdog what the guarded outputs hold; journal a change of the light at this boundary."""
        safe = self._safe_values()
        if self.watchdog is not None:
            self.watchdog.report(self.held)
        on = any(self.held[c] != v for c, v in safe.items())
        if on != self._light_on:
            self._light_on = on
            self.journal("light", on=on, held={c: self.held[c] for c in safe})

    def _disarm_if_safe(self) -> None:
        if self.watchdog is not None and all(self.held[c] == v for c, v in self._safe_values().items()):
            self.watchdog.disarm()

    # ----- SweepClock interface ------------------------------------------------------
    def load(self, plan: SweepPlan) -> None:
        """Arm the watchdog, then take the plan's waveforms and inputs."""
        if self.watchdog is not None:
            first = not self._watchdog_armed_once
            self.watchdog.arm()
            if first:
                self._watchdog_armed_once = True
                self.journal("watchdog_armed", pid=self.watchdog.pid, timeout_ms=self.watchdog.timeout_ms)
        self._plan = plan
        self._position = 0
        try:
            self._plan_physical = {c: self._as_plan_dtype(self.to_physical(c, w), w) for c, w in plan.outputs.items()}
            self.load_hook()
            for feed in self.camera_feeds.values():
                feed.start_sweep(plan)
        except Exception:
            self._disarm_if_safe()  # nothing moved
            raise

    def start(self) -> None:
        """Start the master clock."""
        if self._plan is None:
            raise RuntimeError("start() before load()")
        self._running = True
        self._wall_start = time.monotonic()
        self.journal("start", step=self._plan.step_name, sweep=self._plan.sweep_in_step)

    def stop(self) -> None:
        """Stop clocked output; every output holds its last value."""
        if self._running:
            self.journal("stop", held=self.held)
        self._running = False
        self._plan = None
        self._plan_physical = {}
        self._disarm_if_safe()

    def write_static(self, channel: str, value: float) -> None:
        """Drive an output to a constant value."""
        if self._running:
            raise RuntimeError(f"static write to {channel} while a sweep is running")
        ch = self.channel_map.channels.get(channel)
        if ch is not None:
            self._sync_amplifier_scaling()
            level = self.channel_map.to_hardware(channel, value)[0]  # refused (ValueError) before anything moves
        try:
            self._feed()
        except WatchdogExpired:  # the program is in control again: clear the expiry so the write takes effect
            if self.watchdog is not None:  # always: only a watchdog raises WatchdogExpired (see _feed)
                self.watchdog.disarm()
        if ch is None:  # not a DAQ address: the command is the physics
            self.physical[channel] = float(value)
        else:
            ch.write_static(self.driver, level)
        self.held[channel] = float(value)
        self.journal("static", channel=channel, value=float(value))
        self._light_on = any(self.held[c] != v for c, v in self._safe_values().items())
        if self.watchdog is not None:
            self.watchdog.report(self.held)
        self._disarm_if_safe()

    def wait(self, duration_s: float, should_stop: Callable[[], bool]) -> None:
        """Advance the specimen through an inter-sweep interval (slept through when paced)."""
        self._feed()
        if self.pace == "realtime":
            end = time.monotonic() + duration_s
            while time.monotonic() < end and not should_stop():
                self._feed()
                time.sleep(min(0.05, max(0.0, end - time.monotonic())))
        self._simulating(True)
        try:
            self.specimen.rest(duration_s * 1000.0)
        finally:
            self._simulating(False)
        self._feed()

    def read(self) -> Mapping[str, np.ndarray] | None:
        """Compute the next chunk of every input; None when the sweep is complete."""
        plan = self._plan
        if plan is None or not self._running or self._position >= plan.n_samples:
            return None
        self._feed()
        start = self._position
        seg = self._segment(plan)
        n = min(plan.n_samples - start, seg * self._segments_per_read)
        self._reads += -(-n // seg)  # counted in segments
        if self._fault is not None and self._reads > self._fault[0]:
            error, self._fault = self._fault[1], None
            raise error
        stop = start + n
        outputs = {ch: (w[start:stop] if (w := self._plan_physical.get(ch)) is not None else np.full(n, v))
                   for ch, v in self.physical.items()}
        physical = self.miswiring.cross(outputs) if self.miswiring is not None else outputs
        self._simulating(True)  # the board's work, not the program's: the watchdog does not count it
        try:
            data = self._simulate(plan, physical, n, 1000.0 / plan.sample_rate_hz)
            if self.miswiring is not None:
                data = self.miswiring.cross(data)
            if self.camera_feeds:
                self._feed_cameras(plan, start, physical)
            if self.pace == "realtime":  # a real read blocks until the chunk is in
                due = self._wall_start + stop / plan.sample_rate_hz
                time.sleep(max(0.0, due - time.monotonic()))
        finally:
            self._simulating(False)
        for ch, w in plan.outputs.items():
            self.held[ch] = float(w[stop - 1])
            self.physical[ch] = float(outputs[ch][-1])
        self._position = stop
        self._report()
        if stop >= plan.n_samples:
            self._disarm_if_safe()  # every sample is out and the light is off: nothing left to guard
        for observer in self.observers:  # instrumentation for tests and fault injection
            observer(self)
        return {ch: data[ch] for ch in plan.inputs}

    def _feed_cameras(self, plan: SweepPlan, start: int, physical: dict[str, np.ndarray]) -> None:
        """Frames for the trigger edges of this read, into the cameras, one physics segment at a time."""
        samples = self.last_samples
        assert samples is not None
        seg, n = self._segment(plan), next(iter(physical.values())).size
        dt_ms = 1000.0 / plan.sample_rate_hz
        for a in range(0, n, seg):
            b = min(a + seg, n)
            part = {ch: w[a:b] for ch, w in physical.items()} if (a, b) != (0, n) else physical
            chunk = samples if (a, b) == (0, n) else ChunkSamples(
                *(None if (v := getattr(samples, f)) is None else v[a:b] for f in ChunkSamples.__dataclass_fields__))  # type: ignore[arg-type]
            for feed in self.camera_feeds.values():
                previous = self.physical[feed.trigger] if a == 0 else float(physical[feed.trigger][a - 1])
                feed.on_chunk(start + a, part, previous, chunk, dt_ms)

    # ----- DeviceBus (rig.devices.bus) and the volts the simulated board receives ----------
    def device_outputs(self, device: str) -> list[str]:
        """The output channels of one device."""
        return [c for c, info in self.channels.items() if info.device == device and info.direction == "out"]

    def amplifier_state(self, device: str) -> AmplifierState:
        """Mode and gains the amplifier's channels are scaled with (its mode is the simulated amplifier's)."""
        self._sync_amplifier_scaling()
        return self.channel_map.amplifiers[device]

    def set_amplifier_mode(self, device: str, mode: Mode) -> None:
        """Switch the simulated amplifier (and the scaling of its channels) to VC or CC."""
        self.amplifier_modes[device] = mode
        self.channel_map.amplifiers[device].mode = mode
        self.journal("mode", device=device, mode=mode)

    def read_static_volts(self, address: str, n_samples: int = 100, rate_hz: float = 10_000.0) -> float:
        """Mean volts of a short recording of an AI address (the simulated amplifier's telegraphs)."""
        return float(np.mean(self.driver.read_analog(AnalogChannel(address.lstrip("/"), "", -10.0, 10.0),
                                                     n_samples, rate_hz)))

    def _sync_amplifier_scaling(self) -> None:
        """Scale amplifier channels for the mode the simulated amplifier is in (its telegraph never lies)."""
        for name, mode in self.amplifier_modes.items():
            self.channel_map.amplifiers[name].mode = "VC" if mode == "VC" else "CC"

    def to_physical(self, channel: str, values: np.ndarray) -> np.ndarray:
        """Channel units -> volts (the program's scaling, limits checked) -> what the simulated hardware does."""
        if channel not in self.channel_map.channels:
            return np.asarray(values)
        self._sync_amplifier_scaling()
        return self.driver.to_physical(channel, self.channel_map.to_hardware(channel, values))

    @staticmethod
    def _as_plan_dtype(physical: np.ndarray, wave: np.ndarray) -> np.ndarray:
        """Physical waveform in the plan's float dtype (a nominal round trip then gives the plan's numbers back)."""
        return physical.astype(wave.dtype, copy=False) if np.issubdtype(wave.dtype, np.floating) else physical

    # ----- physics ----------------------------------------------------------------
    def load_hook(self) -> None:
        """Sweep boundary: apply the plan's bath (pharmacology as data), push plasticity and blockers into the cell."""
        bath = self._plan.meta.bath if self._plan is not None else None
        if bath is not None or self._bath_applied:
            baseline = simulation_of(self.profile).pharmacology.model_dump()
            for field, value in (baseline | (bath.changes() if bath is not None else {})).items():
                setattr(self.specimen.pharmacology, field, value)
            self._bath_applied = bath is not None
        self.specimen.sync_cell()

    def _segment(self, plan: SweepPlan) -> int:
        """Samples of one physics segment (chunk_ms): the unit the specimen is advanced in, from the sweep start."""
        return max(1, int(round(self.chunk_ms * plan.sample_rate_hz / 1000.0)))

    def _simulate(self, plan: SweepPlan, outputs: dict[str, np.ndarray], n: int, dt_ms: float) -> dict[str, np.ndarray]:
        """Advance the specimen over one read (whole chunk_ms segments, each as if read alone) and produce every
        input channel. Noise is drawn segment by segment in the order a one-segment read draws it, so the samples
        do not depend on how many segments a read holds."""
        data: dict[str, np.ndarray] = {}
        devices = self.profile.devices
        light = np.ones(n)
        for name, spec in devices.items():
            if spec.kind == "shutter":
                light = light * outputs[f"{name}.open"]
        power = np.zeros(n)
        wavelength = 810.0
        for name, spec in devices.items():
            if spec.kind == "pockels_laser":
                power = power + outputs[f"{name}.power"] * light
                wavelength = spec.wavelength_nm
        seg = self._segment(plan)
        bounds = [(a, min(a + seg, n)) for a in range(0, n, seg)]
        led_on = np.zeros(n)
        for name, spec in devices.items():
            if spec.kind == "led_source":
                for led in spec.leds:
                    led_on += outputs[f"{name}.{led}"] != 0
        n_spines = len(self.specimen.spines)
        scanners = self.profile.devices_of_kind("galvo_scanner")
        x = y = np.zeros(n)
        if scanners:
            sname = next(iter(scanners))
            x, y = outputs[f"{sname}.x"].astype(float), outputs[f"{sname}.y"].astype(float)
            overlap = self.optics.head_overlap(x, y)
        else:
            overlap = np.zeros((n, n_spines))
        mode, command = "CC", np.zeros(n)
        amps = self.profile.devices_of_kind("patch_amplifier")
        if amps:
            aname, aspec = next(iter(amps.items()))
            mode = self.amplifier_modes.get(aname, aspec.safe_mode)
            command = outputs[f"{aname}.command"].astype(float)
        onsets = np.empty(0, dtype=int)
        for name, spec in devices.items():
            if spec.kind == "stimulus_isolator":
                onsets = np.union1d(onsets, pulse_onsets(outputs[f"{name}.trigger"], self.physical[f"{name}.trigger"],
                                                         self._threshold_V))
        bleach = self.optics.bleach_rate(overlap, power)
        dose = power[:, None] ** 2 * overlap
        drives = [ChunkDrive(dt_ms, mode, command[a:b], onsets[(onsets >= a) & (onsets < b)] - a, bleach[a:b],
                             dose[a:b].sum(axis=0) * dt_ms, float(led_on[a:b].sum()) * dt_ms)
                  for a, b in bounds]
        samples = self.specimen.advance_segments(drives)
        rates: dict[str, np.ndarray] = {}
        dark = 0.0
        if scanners:
            sname, sspec = next(iter(scanners.items()))
            dendrite = self.optics.dendrite_profile(x, y)
            dark = self.optics.optics.dark_counts_per_s
            for pmt, pmt_spec in sspec.pmts.items():
                w = emitter_weights(self.specimen, samples, pmt_spec.emission, wavelength)
                rates[f"{sname}.{pmt}"] = self.optics.photon_rate(dendrite, power, overlap, w.dendrite, w.heads)
                data[f"{sname}.{pmt}"] = np.empty(n, dtype=np.float32)
        current_noise_pA, voltage_noise_mV = self._soma_noise
        amp_names = list(amps)
        noise = {name: (np.empty(n), np.empty(n)) for name in amp_names}
        for a, b in bounds:
            for channel, rate in rates.items():
                data[channel][a:b] = pmt_counts(self.rng, rate[a:b], dark, dt_ms)
            for name in amp_names:
                noise[name][0][a:b] = self.rng.normal(0, current_noise_pA, b - a)
                noise[name][1][a:b] = self.rng.normal(0, voltage_noise_mV, b - a)
        for name, spec in amps.items():
            amp_mode = self.amplifier_modes.get(name, spec.safe_mode)
            i_meas = (samples.clamp_current_pA + noise[name][0]).astype(np.float32)
            v_meas = (samples.v_soma_mV + noise[name][1]).astype(np.float32)
            data[f"{name}.primary"] = i_meas if amp_mode == "VC" else v_meas
            data[f"{name}.secondary"] = v_meas if amp_mode == "VC" else i_meas
        self.last_samples = samples
        return data
