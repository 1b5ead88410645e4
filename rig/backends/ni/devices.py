"""NI devices: each drives its channels through static writes on the shared NiDaqClock."""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

from rig.backends.multiclamp.commander import Commander, CommanderError, CommanderReading, check_reading, load_library
from rig.backends.ni import telegraph
from rig.backends.ni.clock import NiDaqClock
from rig.backends.ni.multiclamp import safe_command
from rig.config.profile import PatchAmplifierSpec
from rig.datatypes.sweep_plan import SweepPlan
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)


class PropertySetter(Protocol):
    """Something that sets named properties on a device of another backend (e.g. Micro-Manager)."""

    def apply(self, properties: dict[str, str]) -> None:
        """Set every property."""


class AmplifierStateError(RuntimeError):
    """The amplifier's telegraphs disagree with the plan; the sweep must not start."""


class NiDevice:
    """Common shape: outputs of this device on the clock; zero is safe."""

    kind = ""

    def __init__(self, name: str, clock: NiDaqClock, spec: Any):
        self.name = name
        self.clock = clock
        self.spec = spec

    def _outputs(self) -> list[str]:
        return [c for c, ch in self.clock.channels.channels.items()
                if ch.info.device == self.name and ch.info.direction == "out"]

    def configure(self, plan: SweepPlan) -> None:
        """No static settings by default."""

    def make_safe(self) -> None:
        """Every output to zero."""
        for channel in self._outputs():
            self.clock.write_static(channel, 0.0)

    def safety(self) -> SafetyReport:
        """Safe when every output is known to hold zero."""
        live = {c: self.clock.held[c] for c in self._outputs() if self.clock.held[c] != 0.0}
        return SafetyReport(self.name, not live, "all outputs 0" if not live else f"outputs not at 0: {live}")


class NiAmplifier(NiDevice):
    """MultiClamp 700B class amplifier: command and readouts through the DAQ, mode and gain from telegraphs.

    The DAQ cannot switch the amplifier's mode: `set_mode` records the mode the protocol
    needs, and `configure` reads the telegraphs and refuses the sweep if they disagree.
    """

    kind = "patch_amplifier"
    spec: PatchAmplifierSpec

    def __init__(self, name: str, clock: NiDaqClock, spec: Any, commander_library: Any = None):
        super().__init__(name, clock, spec)
        self._commander_library = commander_library  # a loaded AxMultiClampMsg (tests: a ctypes stand-in)
        self._commander: Commander | None = None
        self._last_reading: CommanderReading | None = None

    def commander(self) -> Commander:
        """The Commander connection with this amplifier's channel selected (opened on first use)."""
        cfg = self.spec.commander
        assert cfg is not None
        if self._commander is None:
            library = self._commander_library or load_library(cfg.dll_path)
            commander = Commander(library, cfg.timeout_ms)
            commander.select(cfg.serial, cfg.channel)
            self._commander = commander
        return self._commander

    def _configure_from_commander(self, plan: SweepPlan) -> None:
        cfg = self.spec.commander
        assert cfg is not None and plan.amplifier_mode is not None
        try:
            reading = self.commander().read()
        except CommanderError as exc:
            raise AmplifierStateError(f"{self.name}: cannot read the amplifier's state from Commander: {exc}") from exc
        problems = check_reading(reading, self.name, plan.amplifier_mode, self._last_reading,
                                 cfg.on_gain_change == "follow")
        if problems:
            raise AmplifierStateError("; ".join(problems))
        if self._last_reading is not None and reading.primary_gain != self._last_reading.primary_gain:
            log.warning("%s: primary gain changed %g -> %g in Commander; scaling with the new gain", self.name,
                        self._last_reading.primary_gain, reading.primary_gain)
        self._last_reading = reading
        self.set_mode(plan.amplifier_mode)
        self.state.primary_gain = reading.primary_gain
        self.state.secondary_gain = reading.secondary_gain

    @property
    def state(self):  # noqa: ANN201 - AmplifierState
        """Mode and gains the backend scales with."""
        return self.clock.channels.amplifiers[self.name]

    def read_telegraphs(self) -> telegraph.TelegraphReading:
        """Decode the wired telegraph lines (None for lines not wired)."""
        spec = self.spec.telegraph
        if spec is None:
            return telegraph.TelegraphReading(None, None)
        mode_V = self.clock.read_static_volts(spec.mode) if spec.mode else None
        gain_V = self.clock.read_static_volts(spec.gain) if spec.gain else None
        return telegraph.decode(spec, mode_V, gain_V)

    def set_mode(self, mode: str) -> None:
        """Record the mode the protocol needs (the amplifier itself is switched in its own software)."""
        self.state.mode = mode  # type: ignore[assignment]

    def set_holding(self, value: float) -> None:
        """Holding (mV in VC, pA in CC) on the command output."""
        self.clock.write_static(f"{self.name}.command", value)

    def configure(self, plan: SweepPlan) -> None:
        """Check mode and gain against the plan through the telegraphs; scale with what they report."""
        if plan.amplifier != self.name or plan.amplifier_mode is None:
            return
        if self.spec.commander is not None:
            self._configure_from_commander(plan)
            return
        reading = self.read_telegraphs()
        problems = telegraph.check_reading(reading, self.name, plan.amplifier_mode, self.spec.scaling.primary_gain)
        if problems:
            raise AmplifierStateError("; ".join(problems))
        self.set_mode(plan.amplifier_mode)
        if reading.gain is not None:
            self.state.primary_gain = reading.gain

    def _actual_mode(self) -> str:
        if self.spec.commander is not None and self._commander is not None:
            try:
                mode = self._commander.read().mode
            except CommanderError as exc:
                log.warning("%s: Commander unreadable (%s); assuming %s", self.name, exc, self.state.mode)
                return self.state.mode
            if mode in ("VC", "CC"):
                self.state.mode = mode
            return self.state.mode
        try:
            reading = self.read_telegraphs()
        except (telegraph.TelegraphError, RuntimeError) as exc:
            log.warning("%s: telegraphs unreadable (%s); assuming %s", self.name, exc, self.state.mode)
            return self.state.mode
        if reading.mode in ("VC", "CC"):
            self.state.mode = reading.mode  # type: ignore[assignment]
        return self.state.mode

    def _safe_value(self) -> float:
        return safe_command(self.state.mode, self.spec.safe_holding_mV, self.spec.safe_holding_pA)

    def make_safe(self) -> None:
        """Safe holding in the unit of the mode the amplifier is really in (never mV scaled as pA)."""
        self._actual_mode()
        self.set_holding(self._safe_value())

    def safety(self) -> SafetyReport:
        """Safe when the command holds the safe holding of its mode."""
        held = self.clock.held[f"{self.name}.command"]
        unit = "mV" if self.state.mode == "VC" else "pA"
        ok = not math.isnan(held) and held == self._safe_value()
        note = "" if self.state.mode == self.spec.safe_mode else f" (safe mode is {self.spec.safe_mode})"
        return SafetyReport(self.name, ok, f"{self.state.mode} holding {held:g} {unit}{note}")


class NiScanner(NiDevice):
    """Galvo scanner; made safe parked at the field centre."""

    kind = "galvo_scanner"

    def park(self, x_um: float, y_um: float) -> None:
        """Move the beam to a point."""
        self.clock.write_static(f"{self.name}.x", x_um)
        self.clock.write_static(f"{self.name}.y", y_um)


class NiPockels(NiDevice):
    """Pockels-gated laser through its power calibration; safe at zero power."""

    kind = "pockels_laser"

    def set_power(self, fraction: float) -> None:
        """Static power fraction."""
        self.clock.write_static(f"{self.name}.power", fraction)


class NiShutter(NiDevice):
    """TTL shutter; safe closed."""

    kind = "shutter"

    def set_open(self, is_open: bool) -> None:
        """Open or close."""
        self.clock.write_static(f"{self.name}.open", 1.0 if is_open else 0.0)


class NiLeds(NiDevice):
    """TTL-switched LEDs; an optional controller (e.g. intensities via Micro-Manager) set when built."""

    kind = "led_source"

    def __init__(self, name: str, clock: NiDaqClock, spec: Any, controller: PropertySetter | None = None):
        super().__init__(name, clock, spec)
        self.controller = controller
        ref = getattr(spec, "micromanager", None)
        if controller is not None and ref is not None and ref.properties:
            controller.apply(dict(ref.properties))

    def set_led(self, led: str, on: bool) -> None:
        """Switch one LED."""
        self.clock.write_static(f"{self.name}.{led}", 1.0 if on else 0.0)

    def make_safe(self) -> None:
        """Every TTL low, then the controller's safe properties."""
        super().make_safe()
        ref = getattr(self.spec, "micromanager", None)
        if self.controller is not None and ref is not None and ref.safe_properties:
            self.controller.apply(dict(ref.safe_properties))


class NiStimulator(NiDevice):
    """Stimulus isolator trigger (TTL) or amplitude (AO); safe idle."""

    kind = "stimulus_isolator"


DEVICE_CLASSES: dict[str, type[NiDevice]] = {
    "patch_amplifier": NiAmplifier,
    "galvo_scanner": NiScanner,
    "pockels_laser": NiPockels,
    "shutter": NiShutter,
    "led_source": NiLeds,
    "stimulus_isolator": NiStimulator,
}  # cameras come from a frame backend (Micro-Manager); only their trigger line is on the DAQ
