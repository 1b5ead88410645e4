"""The patch amplifier (MultiClamp 700B class): command through the DAQ, mode and gain checked before a sweep.

On a real rig the DAQ cannot switch the amplifier's mode (it is switched in MultiClamp Commander):
`set_mode` sets the mode the channels are scaled for, and `configure` reads the telegraphs (or
Commander) and refuses the sweep if they disagree with the plan. A rig that switches the mode
itself (the simulated amplifier: `bus.switches_amplifier_mode`) is also put back in its safe mode.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from rig.backends.multiclamp.commander import Commander, CommanderError, CommanderReading, check_reading, load_library
from rig.config.device_specs import PatchAmplifierSpec
from rig.datatypes.sweep_plan import SweepPlan
from rig.devices.base import DaqDevice
from rig.devices.bus import DeviceBus, Mode
from rig.devices.channel_map import AmplifierState
from rig.devices.signals import telegraph
from rig.devices.signals.multiclamp import safe_command
from rig.hal.interfaces import SafetyReport

log = logging.getLogger(__name__)


class AmplifierStateError(RuntimeError):
    """The amplifier's telegraphs disagree with the plan; the sweep must not start."""


class PatchAmplifier(DaqDevice[PatchAmplifierSpec]):
    """Whole-cell amplifier: VC/CC mode, holding on the command output, readouts scaled by mode and gain."""

    kind = "patch_amplifier"

    def __init__(self, name: str, bus: DeviceBus, spec: PatchAmplifierSpec, commander_library: Any = None):
        super().__init__(name, bus, spec)
        self._commander_library = commander_library  # a loaded AxMultiClampMsg (tests: a ctypes stand-in)
        self._commander: Commander | None = None
        self._last_reading: CommanderReading | None = None

    @property
    def state(self) -> AmplifierState:
        """Mode and gains the channels are scaled with."""
        return self.bus.amplifier_state(self.name)

    @property
    def mode(self) -> str:
        """The clamp mode the channels are scaled for."""
        return self.state.mode

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

    def read_telegraphs(self) -> telegraph.TelegraphReading:
        """Decode the wired telegraph lines (None for lines not wired)."""
        spec = self.spec.telegraph
        if spec is None:
            return telegraph.TelegraphReading(None, None)
        mode_V = self.bus.read_static_volts(spec.mode) if spec.mode else None
        gain_V = self.bus.read_static_volts(spec.gain) if spec.gain else None
        return telegraph.decode(spec, mode_V, gain_V)

    def set_mode(self, mode: Mode) -> None:
        """Scale for a mode (the rig switches the amplifier itself only where it can)."""
        self.bus.set_amplifier_mode(self.name, mode)

    def set_holding(self, value: float) -> None:
        """Holding (mV in VC, pA in CC) on the command output."""
        self.bus.write_static(f"{self.name}.command", value)

    def configure(self, plan: SweepPlan) -> None:
        """Check mode and gain against the plan (telegraphs or Commander); scale with what they report."""
        if plan.amplifier != self.name or plan.amplifier_mode is None:
            return
        if self.spec.commander is not None:
            self._configure_from_commander(plan.amplifier_mode)
            return
        reading = self.read_telegraphs()
        problems = telegraph.check_reading(reading, self.name, plan.amplifier_mode, self.spec.scaling.primary_gain)
        if problems:
            raise AmplifierStateError("; ".join(problems))
        self.set_mode(plan.amplifier_mode)
        if reading.gain is not None:
            self.state.primary_gain = reading.gain

    def _configure_from_commander(self, mode: Mode) -> None:
        cfg = self.spec.commander
        assert cfg is not None
        try:
            reading = self.commander().read()
        except CommanderError as exc:
            raise AmplifierStateError(f"{self.name}: cannot read the amplifier's state from Commander: {exc}") from exc
        problems = check_reading(reading, self.name, mode, self._last_reading, cfg.on_gain_change == "follow")
        if problems:
            raise AmplifierStateError("; ".join(problems))
        if self._last_reading is not None and reading.primary_gain != self._last_reading.primary_gain:
            log.warning("%s: primary gain changed %g -> %g in Commander; scaling with the new gain", self.name,
                        self._last_reading.primary_gain, reading.primary_gain)
        self._last_reading = reading
        self.set_mode(mode)
        self.state.primary_gain = reading.primary_gain
        self.state.secondary_gain = reading.secondary_gain

    def _actual_mode(self) -> Mode:
        """The mode the amplifier is really in (Commander, else telegraphs, else the last known); scaled for it."""
        state = self.state
        reported: str | None
        if self.spec.commander is not None and self._commander is not None:
            try:
                reported = self._commander.read().mode
            except CommanderError as exc:
                log.warning("%s: Commander unreadable (%s); assuming %s", self.name, exc, state.mode)
                return state.mode
        else:
            try:
                reported = self.read_telegraphs().mode
            except (telegraph.TelegraphError, RuntimeError) as exc:
                log.warning("%s: telegraphs unreadable (%s); assuming %s", self.name, exc, state.mode)
                return state.mode
        if reported in ("VC", "CC") and reported != state.mode:
            self.set_mode("VC" if reported == "VC" else "CC")
        return self.state.mode

    def _safe_value(self) -> float:
        return safe_command(self.state.mode, self.spec.safe_holding_mV, self.spec.safe_holding_pA)

    def make_safe(self) -> None:
        """Safe mode where the rig switches it; then safe holding in the unit of the mode it is really in."""
        if self.bus.switches_amplifier_mode:
            self.set_mode(self.spec.safe_mode)
        self._actual_mode()
        self.set_holding(self._safe_value())  # never mV scaled as pA

    def safety(self) -> SafetyReport:
        """Safe when the command holds the safe holding of its mode (and the safe mode, where the rig sets it)."""
        held = self.bus.held[f"{self.name}.command"]
        mode = self.state.mode
        unit = "mV" if mode == "VC" else "pA"
        ok = not math.isnan(held) and held == self._safe_value() and (
            mode == self.spec.safe_mode or not self.bus.switches_amplifier_mode)
        note = "" if mode == self.spec.safe_mode else f" (safe mode is {self.spec.safe_mode})"
        return SafetyReport(self.name, ok, f"{mode} holding {held:g} {unit}{note}")
