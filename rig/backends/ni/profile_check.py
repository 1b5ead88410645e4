"""What an NI rig needs from its profile beyond the schema: parseable addresses, port0 timing, calibrations."""

from __future__ import annotations

from rig.config.channels import logical_channels
from rig.config.problems import Problem
from rig.config.profile import HardwareProfile
from rig.devices.signals.addresses import parse_address

NI_BACKENDS = ("ni",)
OTHER_BACKENDS = ("micromanager",)


def device_backend(profile: HardwareProfile, name: str) -> str:
    """A device's backend: its own, else the profile's."""
    return profile.devices[name].backend or profile.backend


def check_ni_profile(profile: HardwareProfile, source: str) -> list[Problem]:
    """Every problem that would stop the NI backend from driving this profile."""
    problems: list[Problem] = []
    daq = profile.daq.device
    used: dict[str, str] = {}
    for name, spec in profile.devices.items():
        backend = device_backend(profile, name)
        if backend not in NI_BACKENDS + OTHER_BACKENDS:
            problems.append(Problem(source, f"devices.{name}.backend", f"backend '{backend}' is not available on an "
                                    f"NI rig (allowed: {', '.join(NI_BACKENDS + OTHER_BACKENDS)})"))
        if spec.kind == "camera" and backend == "ni":
            problems.append(Problem(source, f"devices.{name}.backend", "a camera needs a frame backend: set "
                                    "'backend: micromanager' (its trigger line stays on the DAQ)"))
        if spec.kind == "pockels_laser" and backend == "ni" and spec.calibration is None:
            problems.append(Problem(source, f"devices.{name}.calibration", "the NI backend needs the measured power "
                                    "curve ([volts, power fraction] points) to drive the Pockels cell"))
        telegraph = getattr(spec, "telegraph", None)
        for role in ("mode", "gain"):
            address = getattr(telegraph, role, None) if telegraph is not None else None
            if address is None:
                continue
            try:
                if parse_address(address).io_type != "ai":
                    problems.append(Problem(source, f"devices.{name}.telegraph.{role}", f"'{address}' must be an "
                                            "analog input (e.g. Dev1/ai6)"))
            except ValueError as exc:
                problems.append(Problem(source, f"devices.{name}.telegraph.{role}", str(exc)))
    for channel, info in logical_channels(profile).items():
        field = f"devices.{info.device} ({channel})"
        try:
            physical = parse_address(info.address)
        except ValueError as exc:
            if device_backend(profile, info.device) == "ni":
                problems.append(Problem(source, field, str(exc)))
            continue  # another backend's own address (e.g. a Micro-Manager label)
        if physical.device != daq:
            problems.append(Problem(source, field, f"'{info.address}' is on {physical.device}, but every clocked "
                                    f"channel must be on the master DAQ daq.device = {daq}"))
        if info.direction == "in" and physical.io_type != "ai":
            problems.append(Problem(source, field, f"input '{info.address}' must be an analog input"))
        if info.direction == "out" and physical.io_type not in ("ao", "do"):
            problems.append(Problem(source, field, f"output '{info.address}' must be an AO or a port0 DO line"))
        if physical.io_type == "do" and physical.port != 0:
            problems.append(Problem(source, field, f"'{info.address}': only port0 lines are hardware-timed on "
                                    "X-series boards; move the line to port0"))
        if info.kind in ("galvo_scanner", "pockels_laser", "patch_amplifier") and info.direction == "out" \
                and physical.io_type != "ao":
            problems.append(Problem(source, field, f"'{info.address}' carries an analog command and must be an AO"))
        key = physical.name.lower()
        if key in used:
            problems.append(Problem(source, field, f"'{info.address}' is also used by {used[key]}"))
        used[key] = channel
    from rig.backends.ni.watchdog import check_watchdog

    problems += check_watchdog(profile, source)
    return problems
