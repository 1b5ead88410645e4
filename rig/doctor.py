"""`rig doctor`: what is installed and reachable (NI-DAQmx, Micro-Manager, each profile device), with hints."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from rig.config.problems import InvalidInput

if TYPE_CHECKING:
    from rig.config.device_specs import CommanderSpec


@dataclass
class Finding:
    """One line of the report: what was checked, whether it is fine, and a hint when it is not."""

    subject: str
    ok: bool
    detail: str
    hint: str = ""
    needed: bool = True


@dataclass
class Report:
    """Findings in order; a problem is a finding that is not ok and is needed."""

    findings: list[Finding] = field(default_factory=list)

    def add(self, subject: str, ok: bool, detail: str, hint: str = "", needed: bool = True) -> None:
        """Record one finding."""
        self.findings.append(Finding(subject, ok, detail, hint, needed))

    @property
    def problems(self) -> list[Finding]:
        """Findings that need fixing."""
        return [f for f in self.findings if not f.ok and f.needed]


@dataclass
class NiStatus:
    """What NI-DAQmx offers on this machine."""

    driver_ok: bool = False
    devices: dict[str, str] = field(default_factory=dict)  # name -> product type


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_nidaqmx(report: Report, needed: bool) -> NiStatus:
    """The nidaqmx package, the NI-DAQmx driver and its devices."""
    status = NiStatus()
    version = _version("nidaqmx")
    if version is None:
        report.add("nidaqmx package", False, "not installed", "pip install nidaqmx", needed)
        return status
    report.add("nidaqmx package", True, f"version {version}")
    try:
        import nidaqmx.system

        system = nidaqmx.system.System.local()
        driver = system.driver_version
        report.add("NI-DAQmx driver", True, f"version {driver.major_version}.{driver.minor_version}."
                                            f"{driver.update_version}")
        status.driver_ok = True
        for device in system.devices:
            status.devices[device.name] = str(device.product_type)
    except Exception as exc:  # nidaqmx raises DaqNotFoundError/DaqNotSupportedError/DaqError here
        report.add("NI-DAQmx driver", False, f"not usable ({exc.__class__.__name__}: {_first_line(exc)})",
                   "install NI-DAQmx from ni.com (Windows, or the supported Linux distributions), "
                   "or run `python -m nidaqmx installdriver`", needed)
        return status
    if status.devices:
        listed = ", ".join(f"{n} ({t})" for n, t in sorted(status.devices.items()))
        report.add("NI devices", True, listed)
    else:
        report.add("NI devices", False, "the driver sees no device", "check the board in NI MAX (is it "
                   "installed, powered, and named as in the profile's daq.device?)", needed)
    return status


def check_micromanager(report: Report, needed: bool) -> Path | None:
    """The pymmcore-plus package and a Micro-Manager installation with device adapters."""
    version = _version("pymmcore-plus")
    if version is None:
        report.add("pymmcore-plus package", False, "not installed", "pip install pymmcore-plus", needed)
        return None
    report.add("pymmcore-plus package", True, f"version {version}")
    try:
        import logging

        from pymmcore_plus import find_micromanager

        logger = logging.getLogger("pymmcore-plus")
        level, logger.level = logger.level, logging.CRITICAL  # its own error log would duplicate this report
        try:
            found = find_micromanager()
        finally:
            logger.setLevel(level)
    except Exception as exc:  # a broken install must be reported, not raised
        report.add("Micro-Manager", False, f"cannot search for it ({exc.__class__.__name__}: {_first_line(exc)})",
                   "reinstall pymmcore-plus", needed)
        return None
    if not found:
        report.add("Micro-Manager", False, "no installation compatible with this pymmcore-plus",
                   "run `mmcore install` (or install Micro-Manager and give micromanager.adapter_path)", needed)
        return None
    folder = Path(found)
    adapters = sorted(p.name for p in folder.glob("*mmgr_dal_*"))
    report.add("Micro-Manager", True, f"{folder} ({len(adapters)} device adapters)")
    return folder


def _adapter_names(folder: Path | None) -> set[str]:
    if folder is None:
        return set()
    names = set()
    for p in folder.glob("*mmgr_dal_*"):
        names.add(p.name.split("mmgr_dal_", 1)[1].split(".", 1)[0])
    return names


def check_profile(report: Report, profile_path: Path, ni: Callable[[bool], NiStatus],
                  mm: Callable[[bool], Path | None]) -> None:
    """Load the profile, then check every device against what its backend can reach."""
    from rig.config.profile import load_profile

    try:
        loaded = load_profile(profile_path)
    except InvalidInput as exc:
        for p in exc.problems:
            report.add("profile", False, str(p), "fix the profile; `rig validate` shows the same")
        return
    profile = loaded.profile
    report.add("profile", True, f"{profile_path}: '{profile.name}', backend {profile.backend}")
    backends = {name: spec.backend or profile.backend for name, spec in profile.devices.items()}
    uses_ni = "ni" in backends.values() or profile.backend == "ni"
    uses_mm = "micromanager" in backends.values() or profile.micromanager is not None or any(
        getattr(s, "micromanager", None) is not None for s in profile.devices.values())
    status = ni(uses_ni)
    folder = mm(uses_mm)
    if uses_ni:
        from rig.backends.ni.profile_check import check_ni_profile

        for p in check_ni_profile(profile, str(profile_path)):
            report.add("profile (NI)", False, f"{p.field}: {p.message}", "correct the address in the profile")
        if status.driver_ok:
            present = profile.daq.device in status.devices
            report.add(f"daq {profile.daq.device}", present,
                       status.devices.get(profile.daq.device, "not found on this machine"),
                       "" if present else f"name the board '{profile.daq.device}' in NI MAX, or set daq.device to one "
                       f"of: {', '.join(sorted(status.devices)) or 'none'}")
    if uses_mm and profile.micromanager is not None:
        spec = profile.micromanager
        if spec.config_file:
            cfg = Path(spec.config_file)
            cfg = cfg if cfg.is_absolute() else profile_path.parent / cfg
            report.add("Micro-Manager config", cfg.is_file(), str(cfg) if cfg.is_file() else f"{cfg} not found",
                       "" if cfg.is_file() else "save the hardware configuration there (Micro-Manager's Hardware "
                       "Configuration Wizard) or correct micromanager.config_file")
            if cfg.is_file():
                from rig.backends.micromanager.config_file import profile_problems, read_config

                found = profile_problems(profile, read_config(cfg), str(profile_path))
                report.add("Micro-Manager config vs profile", not found,
                           "; ".join(map(str, found)) if found else "every device label, trigger mode and output "
                           "the profile relies on agrees",
                           "" if not found else "correct the profile or the configuration")
        adapters = _adapter_names(folder)
        for label, device in spec.devices.items():
            ok = device.library in adapters or _importable(device.library)
            report.add(f"Micro-Manager device {label}", ok, f"library '{device.library}'" +
                       ("" if ok else " not found"), "" if ok else "install the adapter with Micro-Manager or "
                       "correct micromanager.devices.<label>.library")
    for name, device_spec in profile.devices.items():
        commander = getattr(device_spec, "commander", None)
        if commander is not None:
            check_commander(report, name, commander)
    for name, device_spec in profile.devices.items():
        backend = backends[name]
        ok = backend in ("ni", "micromanager", "simulated")
        reach = {"ni": status.driver_ok, "micromanager": folder is not None, "simulated": True}.get(backend, False)
        detail = f"{device_spec.kind} on backend '{backend}'" + ("" if reach else " (not reachable here)")
        hint = {"ni": "the NI-DAQmx driver or board above is missing",
                "micromanager": "Micro-Manager above is missing"}.get(backend, f"unknown backend '{backend}'")
        report.add(f"device {name}", ok and reach, detail, "" if ok and reach else hint)


def check_commander(report: Report, amplifier: str, spec: "CommanderSpec") -> None:
    """MultiClamp Commander's message DLL, whether Commander runs, and whether it offers the profile's channel."""
    from rig.backends.multiclamp.commander import Commander, CommanderError, load_library

    subject = f"MultiClamp Commander ({amplifier})"
    try:
        library = load_library(spec.dll_path)
    except CommanderError as exc:
        report.add(subject, False, str(exc), "install MultiClamp 700B Commander (Windows) or set commander.dll_path")
        return
    try:
        with Commander(library, spec.timeout_ms) as commander:
            offered = commander.channels()
            chosen = commander.select(spec.serial, spec.channel)
            reading = commander.read()
    except CommanderError as exc:
        report.add(subject, False, str(exc), "start MultiClamp Commander with the amplifier switched on; "
                   "check commander.serial and commander.channel")
        return
    report.add(subject, True, f"{chosen.description} of {len(offered)} channel(s): {reading.mode}, primary "
               f"{reading.primary_signal_name} x{reading.primary_gain:g}, {reading.primary_lpf_hz:g} Hz")


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def run_checks(profile_path: Path | None) -> Report:
    """Every check; without a profile, NI-DAQmx and Micro-Manager are both reported as needed."""
    report = Report()
    if profile_path is None:
        check_nidaqmx(report, True)
        check_micromanager(report, True)
    else:
        check_profile(report, profile_path, lambda needed: check_nidaqmx(report, needed),
                      lambda needed: check_micromanager(report, needed))
    return report


def print_report(report: Report) -> None:
    """One line per finding; a hint line under each problem."""
    for f in report.findings:
        mark = "ok  " if f.ok else ("FAIL" if f.needed else "--  ")
        print(f"{mark} {f.subject}: {f.detail}")
        if not f.ok and f.hint:
            print(f"     hint: {f.hint}")
    n = len(report.problems)
    print("all checks passed" if n == 0 else f"{n} problem(s) found")


def doctor(profile_path: Path | None) -> int:
    """Print what is installed and reachable; 0 when everything needed is fine, 1 otherwise."""
    try:
        report = run_checks(profile_path)
    except Exception as exc:  # the doctor must never show a traceback
        print(f"FAIL doctor: unexpected {exc.__class__.__name__}: {_first_line(exc)}")
        print("     hint: please report this; run with a profile that `rig validate` accepts")
        return 1
    print_report(report)
    return 0 if not report.problems else 1
