"""Which device class serves each role on a DAQ (cameras come from a frame backend; only their trigger is on the DAQ)."""

from __future__ import annotations

from rig.devices.amplifier import PatchAmplifier
from rig.devices.base import DaqDevice
from rig.devices.roles import GalvoScanner, LedSource, PockelsLaser, Shutter, StimulusIsolator

DEVICE_CLASSES: dict[str, type[DaqDevice]] = {
    "patch_amplifier": PatchAmplifier,
    "galvo_scanner": GalvoScanner,
    "pockels_laser": PockelsLaser,
    "shutter": Shutter,
    "led_source": LedSource,
    "stimulus_isolator": StimulusIsolator,
}
