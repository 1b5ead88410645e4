"""Read a Micro-Manager hardware configuration (.cfg) as text and check it against a profile before any run.

The file is what Micro-Manager's Hardware Configuration Wizard writes: one comma-separated command per line
(`Device,<label>,<library>,<adapter>`, `Property,<label>,<property>,<value>`, `ConfigGroup,...`, ...). Reading it
needs no Micro-Manager installation, so `rig validate` and `rig doctor` can say up front that the profile names a
camera, shutter or controller the configuration does not load, or sets a property the configuration fixes
otherwise at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
    problems: list[str] = field(default_factory=list)  # lines that do not parse


def read_config(path: Path) -> MicroManagerConfig:
    """Parse a .cfg; lines that are not Micro-Manager commands are listed in `problems` (one per line)."""
    config = MicroManagerConfig(path)
    size = path.stat().st_size
    if size > _MAX_BYTES:
        config.problems.append(f"{path}: {size} bytes; a hardware configuration is at most {_MAX_BYTES} bytes")
        return config
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        command = parts[0]
        need = _FIELDS.get(command)
        if need is None:
            config.problems.append(f"{path}:{number}: unknown command {command!r}")
            continue
        if len(parts) < need:
            config.problems.append(f"{path}:{number}: {command} needs {need} fields, has {len(parts)}")
            continue
        if command == "Device":
            if parts[1] in config.devices:
                config.problems.append(f"{path}:{number}: device label {parts[1]!r} defined twice")
            config.devices[parts[1]] = ConfiguredDevice(parts[1], parts[2], parts[3], number)
        elif command == "Property":
            config.startup[(parts[1], parts[2])] = ",".join(parts[3:]) if len(parts) > 3 else ""
    return config


def profile_problems(profile: HardwareProfile, config: MicroManagerConfig, source: str) -> list[str]:
    """One line per way the profile relies on something this configuration does not provide."""
    problems = list(config.problems)
    by_label = set(config.devices) | set(profile.micromanager.devices if profile.micromanager else {})
    for name, spec in profile.devices.items():
        ref = getattr(spec, "micromanager", None)
        if ref is None:
            continue
        where = f"{source}: devices.{name}.micromanager"
        if ref.device not in by_label:
            known = ", ".join(sorted(by_label)) or "none"
            problems.append(f"{where}.device: {ref.device!r} is not loaded by {config.path.name} (its devices: "
                            f"{known})")
            continue
        for prop, value in ref.properties.items():
            fixed = config.startup.get((ref.device, prop))
            if fixed is not None and fixed != value:
                problems.append(f"{where}.properties.{prop}: the profile sets {value!r} but {config.path.name} sets "
                                f"{fixed!r} at start-up; make them agree (the profile's is applied after loading)")
    if profile.micromanager is not None:
        camera_labels = [getattr(s, "micromanager").device for s in profile.devices.values()
                         if s.kind == "camera" and getattr(s, "micromanager", None) is not None]
        core_camera = config.startup.get(("Core", "Camera"))
        if camera_labels and core_camera is not None and core_camera not in camera_labels:
            problems.append(f"{source}: {config.path.name} makes {core_camera!r} the core camera, the profile's camera "
                            f"is {camera_labels[0]!r}")
    return problems


def config_path(profile: HardwareProfile, profile_path: Path) -> Path | None:
    """The profile's .cfg, relative paths taken from the profile's folder (None when it names none)."""
    if profile.micromanager is None or not profile.micromanager.config_file:
        return None
    cfg = Path(profile.micromanager.config_file)
    return cfg if cfg.is_absolute() else profile_path.parent / cfg
