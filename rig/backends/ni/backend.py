"""Build a real Rig from a profile: the NI-DAQmx clock, the shared device classes on it, Micro-Manager devices where named."""

from __future__ import annotations

import logging
from typing import Any

from rig.backends.ni.clock import NiDaqClock
from rig.backends.ni.driver import NiDriver, NiUnavailable, load_nidaqmx
from rig.backends.ni.profile_check import check_ni_profile, device_backend
from rig.backends.ni.watchdog import NiWatchdog, check_watchdog, light_warnings, plan_watchdog
from rig.config.device_specs import LedSourceSpec
from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
from rig.devices.channel_map import ChannelMap
from rig.devices.driver import DaqDriver
from rig.devices.registry import DEVICE_CLASSES
from rig.devices.roles import LedSource
from rig.engine.rig import Rig

log = logging.getLogger(__name__)


def check_driver(source: str) -> list[Problem]:
    """Problems when the nidaqmx package or the NI-DAQmx driver is missing (hint: `rig doctor`)."""
    try:
        nidaqmx = load_nidaqmx()
        nidaqmx.system.System.local().driver_version  # noqa: B018 - raises when the driver is missing
    except NiUnavailable as exc:
        return [Problem(source, "backend", f"{exc} (run `rig doctor` for details)")]
    except Exception as exc:  # nidaqmx raises its own error classes here (DaqNotFoundError, ...)
        return [Problem(source, "backend", f"NI-DAQmx driver not usable: {exc.__class__.__name__}: {exc} "
                        "(install NI-DAQmx from ni.com or run `python -m nidaqmx installdriver`; `rig doctor` "
                        "checks it)")]
    return []


def _micromanager_core(loaded: LoadedProfile) -> Any | None:
    """A core when any device uses Micro-Manager or the profile configures it."""
    profile = loaded.profile
    wants = profile.micromanager is not None or any(
        device_backend(profile, n) == "micromanager" or getattr(s, "micromanager", None) is not None
        for n, s in profile.devices.items())
    if not wants:
        return None
    from rig.backends.micromanager.session import MicroManagerError, open_core
    from rig.config.profile import MicroManagerSpec

    try:
        return open_core(profile.micromanager or MicroManagerSpec(), loaded.path.parent)
    except MicroManagerError as exc:
        raise InvalidInput([Problem(str(loaded.path), *exc.field_and_message("micromanager"))]) from None


def build_rig(loaded: LoadedProfile, driver: DaqDriver | None = None) -> Rig:
    """Every device of the profile on one NI master clock (plus Micro-Manager devices it names).

    `driver` is the board behind the driver seam: NI-DAQmx (checked to be installed) unless given.
    """
    profile, source = loaded.profile, str(loaded.path)
    problems = check_ni_profile(profile, source) or check_watchdog(profile, source) or (
        check_driver(source) if driver is None else [])
    if problems:
        raise InvalidInput(problems)
    core = _micromanager_core(loaded)
    channels = ChannelMap(profile)
    watchdog_plan = plan_watchdog(profile, channels)
    for warning in light_warnings(watchdog_plan, profile):
        log.warning("hardware watchdog: %s", warning)
    board = driver if driver is not None else NiDriver()
    clock = NiDaqClock(profile, channels, NiWatchdog(watchdog_plan, board), watchdog_plan, board)
    devices: dict[str, Any] = {}
    for name, spec in profile.devices.items():
        if device_backend(profile, name) == "micromanager":
            from rig.backends.micromanager.devices import build_device
            from rig.backends.micromanager.session import MicroManagerError

            try:
                devices[name] = build_device(name, spec, core, clock)
            except MicroManagerError as exc:
                raise InvalidInput([Problem(source, *exc.field_and_message(f"devices.{name}"))]) from None
        elif isinstance(spec, LedSourceSpec) and spec.micromanager is not None:
            from rig.backends.micromanager.devices import MmPropertySetter
            from rig.backends.micromanager.session import MicroManagerError, require_device

            try:
                require_device(core, spec.micromanager.device, f"devices.{name}.micromanager.device")
            except MicroManagerError as exc:
                raise InvalidInput([Problem(source, *exc.field_and_message(f"devices.{name}.micromanager"))]) from None
            devices[name] = LedSource(name, clock, spec, MmPropertySetter(core, spec.micromanager.device))
        else:
            devices[name] = DEVICE_CLASSES[spec.kind](name, clock, spec)
    return Rig(loaded, devices, clock, None, extras={"micromanager_core": core} if core is not None else {})
