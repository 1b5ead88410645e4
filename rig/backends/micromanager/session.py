"""Open one Micro-Manager core for a rig and load the devices the profile names (pymmcore-plus, lazily)."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from rig.config.profile import MicroManagerSpec

log = logging.getLogger(__name__)


class MicroManagerError(RuntimeError):
    """Micro-Manager cannot do what the profile asks; the message names the device and a fix."""

    def field_and_message(self, default_field: str) -> tuple[str, str]:
        """(profile field, what is wrong): a message that starts with its field ('devices.x.y: ...') is split."""
        text = str(self)
        head, sep, rest = text.partition(": ")
        if sep and head.startswith(("devices.", "micromanager.")) and " " not in head:
            return head, rest
        return default_field, text


SIGNALS_ENV = "PYMM_SIGNALS_BACKEND"


def new_core() -> Any:
    """A fresh core that runs C++ adapters and Python devices alike (pymmcore-plus UniMMCore).

    With a Qt application running (the GUI), pymmcore-plus would pick Qt signals, which need
    `qtpy`; without qtpy the core is built with psygnal signals instead of failing.
    """
    try:
        from pymmcore_plus.experimental.unicore import UniMMCore
    except ImportError as exc:
        raise MicroManagerError(f"pymmcore-plus cannot be imported ({exc}): pip install pymmcore-plus") from None
    if importlib.util.find_spec("qtpy") is not None or SIGNALS_ENV in os.environ:
        return UniMMCore()
    os.environ[SIGNALS_ENV] = "psygnal"
    try:
        return UniMMCore()
    finally:
        del os.environ[SIGNALS_ENV]


def _resolve(path: str, base_dir: Path | None) -> Path:
    p = Path(path)
    return p if p.is_absolute() or base_dir is None else base_dir / p


def open_core(spec: MicroManagerSpec, base_dir: Path | None = None, core: Any | None = None) -> Any:
    """Configure a core: adapter path, then the config file, then each device (pre-init properties, initialize)."""
    core = core if core is not None else new_core()
    if spec.adapter_path:
        folder = _resolve(spec.adapter_path, base_dir)
        if not folder.is_dir():
            raise MicroManagerError(f"micromanager.adapter_path '{folder}' is not a folder: install Micro-Manager "
                                    "(`mmcore install`) or correct the path")
        core.setDeviceAdapterSearchPaths([str(folder)])
    if spec.config_file:
        cfg = _resolve(spec.config_file, base_dir)
        try:
            core.loadSystemConfiguration(str(cfg))
        except (RuntimeError, OSError, ValueError) as exc:
            reason = " ".join(str(exc).split())  # pymmcore-plus reports on several lines; keep the error one line
            raise MicroManagerError(f"micromanager.config_file '{cfg}' cannot be loaded: {reason}") from None
    for label, device in spec.devices.items():
        try:
            core.loadDevice(label, device.library, device.adapter_device)
            for prop, value in device.properties.items():
                core.setProperty(label, prop, value)
            core.initializeDevice(label)
        except (RuntimeError, ImportError, AttributeError, TypeError, ValueError) as exc:
            adapters = ", ".join(core.getDeviceAdapterNames()) or "none found"
            raise MicroManagerError(
                f"micromanager.devices.{label}: cannot load '{device.adapter_device}' from '{device.library}' "
                f"({exc}); adapters available: {adapters}") from None
    return core


def require_device(core: Any, label: str, where: str) -> None:
    """MicroManagerError unless a device with this label is loaded."""
    loaded = tuple(core.getLoadedDevices())
    if label not in loaded:
        raise MicroManagerError(f"{where}: no Micro-Manager device '{label}' is loaded (loaded: "
                                f"{', '.join(d for d in loaded if d != 'Core') or 'none'}); add it to "
                                "micromanager.devices or the config file")
