"""Read a Micro-Manager hardware configuration (.cfg) as text and check it against a profile before any run.

The file is what Micro-Manager's Hardware Configuration Wizard writes: one comma-separated command per line
(`Device,<label>,<library>,<adapter>`, `Property,<label>,<property>,<value>`, `ConfigGroup,...`, ...). Reading it
needs no Micro-Manager installation, so `rig validate` and `rig doctor` can say up front that the profile names a
camera, shutter or controller the configuration does not load, or sets a property the configuration fixes
otherwise at start-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rig.config.device_specs import CameraSpec, LedSourceSpec
from rig.config.problems import Problem
from rig.config.profile import HardwareProfile

# Each command and how many comma-separated fields its line has at least (Micro-Manager's MMCore.cpp writer).
_FIELDS = {"Device": 4, "Property": 3, "Parent": 3, "Delay": 3, "Label": 4, "Group": 2, "Preset": 3,
           "ConfigGroup": 4, "ConfigPixelSize": 5, "PixelSize_um": 3, "PixelSizeAffine": 8, "FocusDirection": 3,
           "Equipment": 3, "ImageSynchro": 2}
_MAX_BYTES = 4_000_000


@dataclass(frozen=True)
class ConfiguredDevice:
    """A `Device` line: the label and which adapter of which library it loads."""

    label: str
    library: str
    adapter: str
    line: int


@dataclass
class MicroManagerConfig:
    """The parts of a .cfg the profile check needs."""

    path: Path
    devices: dict[str, ConfiguredDevice] = field(default_factory=dict)
    startup: dict[tuple[str, str], str] = field(default_factory=dict)  # (label, property) -> value
    problems: list[Problem] = field(default_factory=list)  # lines that do not parse


def read_config(path: Path) -> MicroManagerConfig:
    """Parse a .cfg; lines that are not Micro-Manager commands are listed in `problems` (one per line)."""
    config = MicroManagerConfig(path)
    size = path.stat().st_size
    if size > _MAX_BYTES:
        config.problems.append(Problem(str(path), "", f"{size} bytes; a hardware configuration is at most {_MAX_BYTES} bytes"))
        return config
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        command = parts[0]
        need = _FIELDS.get(command)
        if need is None:
            config.problems.append(Problem(f"{path}:{number}", "", f"unknown command {command!r} (allowed: {', '.join(_FIELDS)})"))
            continue
        if len(parts) < need:
            config.problems.append(Problem(f"{path}:{number}", command, f"needs {need} comma-separated fields, has {len(parts)}"))
            continue
        if command == "Device":
            if parts[1] in config.devices:
                config.problems.append(Problem(f"{path}:{number}", "Device", f"label {parts[1]!r} defined twice (allowed: one Device line per label)"))
            config.devices[parts[1]] = ConfiguredDevice(parts[1], parts[2], parts[3], number)
        elif command == "Property":
            config.startup[(parts[1], parts[2])] = ",".join(parts[3:]) if len(parts) > 3 else ""
        elif command == "ConfigGroup" and parts[1:3] == ["System", "Startup"] and len(parts) >= 6:
            # the System/Startup preset is applied when the configuration loads, like a Property line
            config.startup[(parts[3], parts[4])] = ",".join(parts[5:])
    return config


# Camera trigger properties differ by adapter (TriggerMode, Trigger, TRIGGER SOURCE, TriggerSource, ...); output
# lines (OUTPUT TRIGGER KIND[0], ExposeOutMode, AuxOutSignal, ...) name an output.
_TRIGGER_PROPERTY = re.compile(r"trigger", re.IGNORECASE)
_OUTPUT_PROPERTY = re.compile(r"out", re.IGNORECASE)
_INTERNAL_TRIGGER = {"internal", "software", "off", "free run", "freerun", "internal trigger", "timed", "none",
                     "bulb off", "continuous"}
_OUTPUT_OFF = {"off", "disabled", "none", "low", "0", "false"}
EXTERNAL_TRIGGER = "an external mode (External, Edge Trigger)"
EXPOSURE_OUT = "an exposure signal (e.g. OUTPUT TRIGGER KIND[0]=EXPOSURE, ExposeOutMode=All Rows)"


def profile_problems(profile: HardwareProfile, config: MicroManagerConfig, source: str) -> list[Problem]:
    """One Problem per way the profile relies on something this configuration does not provide."""
    problems = list(config.problems)
    by_label = set(config.devices) | set(profile.micromanager.devices if profile.micromanager else {})
    for name, spec in profile.devices.items():
        ref = getattr(spec, "micromanager", None)
        if ref is None:
            continue
        where = f"devices.{name}.micromanager"
        if ref.device not in by_label:
            known = ", ".join(sorted(by_label)) or "none"
            problems.append(Problem(source, f"{where}.device", f"{ref.device!r} is not loaded by {config.path.name} "
                                    f"(its devices: {known})"))
            continue
        for prop, value in ref.properties.items():
            fixed = config.startup.get((ref.device, prop))
            if fixed is not None and fixed != value:
                problems.append(Problem(source, f"{where}.properties.{prop}", f"the profile sets {value!r} but "
                                        f"{config.path.name} sets {fixed!r} at start-up; make them agree (the "
                                        "profile's is applied after loading)"))
        if isinstance(spec, CameraSpec):
            problems += _camera_problems(profile, name, spec, config, source)
    if profile.micromanager is not None:
        camera_labels = [s.micromanager.device for s in profile.devices.values()
                         if isinstance(s, CameraSpec) and s.micromanager is not None]
        core_camera = config.startup.get(("Core", "Camera"))
        if camera_labels and core_camera is not None and core_camera not in camera_labels:
            problems.append(Problem(source, "micromanager.config_file", f"{config.path.name} makes {core_camera!r} the "
                                    f"core camera, the profile's camera is {camera_labels[0]!r} (allowed: "
                                    f"Property,Core,Camera,{camera_labels[0]})"))
    return problems


def _camera_problems(profile: HardwareProfile, name: str, spec: CameraSpec, config: MicroManagerConfig,
                     source: str) -> list[Problem]:
    """The trigger mode and exposure output the profile relies on, as the camera will have them after loading."""
    assert spec.micromanager is not None
    label = spec.micromanager.device
    effective = {prop: value for (dev, prop), value in config.startup.items() if dev == label}
    effective |= spec.micromanager.properties  # the profile's are applied after the configuration
    where = f"devices.{name}.micromanager.properties"
    problems: list[Problem] = []
    triggers = {p: v for p, v in effective.items() if _TRIGGER_PROPERTY.search(p) and not _OUTPUT_PROPERTY.search(p)}
    if not triggers:
        problems.append(Problem(source, where, f"no trigger mode set for {label!r} (here or in {config.path.name}); "
                                f"allowed: {EXTERNAL_TRIGGER}"))
    for prop, value in triggers.items():
        if value.strip().lower() in _INTERNAL_TRIGGER:
            origin = "the profile" if prop in spec.micromanager.properties else config.path.name
            problems.append(Problem(source, f"{where}.{prop}", f"{origin} sets {value!r} (own clock); "
                                    f"allowed: {EXTERNAL_TRIGGER}"))
    exposure_clocked = [n for n, s in profile.devices.items()
                        if isinstance(s, LedSourceSpec) and s.clock == "camera_exposure"]
    if exposure_clocked:
        outputs = {p: v for p, v in effective.items() if _OUTPUT_PROPERTY.search(p)
                   and re.search(r"trigger|expos|signal", p, re.IGNORECASE)}
        led = exposure_clocked[0]
        if not outputs:
            problems.append(Problem(source, where, f"devices.{led}.clock is camera_exposure but no exposure output is "
                                    f"set for {label!r}; allowed: {EXPOSURE_OUT}"))
        for prop, value in outputs.items():
            if value.strip().lower() in _OUTPUT_OFF:
                problems.append(Problem(source, f"{where}.{prop}", f"{value!r} turns the exposure output off "
                                        f"(devices.{led}.clock is camera_exposure); allowed: {EXPOSURE_OUT}"))
    return problems


def config_file_problems(profile: HardwareProfile, profile_path: Path) -> list[Problem]:
    """Problems of the profile's .cfg against the profile; none when it names no .cfg or the file is absent
    (`rig doctor` reports an absent file: a profile may be validated away from the rig PC)."""
    cfg = config_path(profile, profile_path)
    if cfg is None or not cfg.is_file():
        return []
    return profile_problems(profile, read_config(cfg), str(profile_path))


def config_path(profile: HardwareProfile, profile_path: Path) -> Path | None:
    """The profile's .cfg, relative paths taken from the profile's folder (None when it names none)."""
    if profile.micromanager is None or not profile.micromanager.config_file:
        return None
    cfg = Path(profile.micromanager.config_file)
    return cfg if cfg.is_absolute() else profile_path.parent / cfg
