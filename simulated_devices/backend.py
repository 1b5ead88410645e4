"""Build a simulated Rig from a profile: one specimen, one simulated DAQ, the shared device classes on it."""

from __future__ import annotations

import numpy as np

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
from rig.devices.registry import DEVICE_CLASSES
from rig.engine.rig import Rig
from rig.hal.interfaces import Device
from rig.hal.watchdog import guarded_outputs, watchdog_timeout_ms
from simulated_devices.camera_feed import CameraFeed
from simulated_devices.daq import SimulatedDaq, journal_from_env
from simulated_devices.hidden_calibration import (
    Miswiring,
    SimulatedPowerMeter,
    SimulatedTelegraphs,
    hidden_calibration,
)
from simulated_devices.lazy_camera import LazySimulatedCamera
from simulated_devices.optics import TwoPhotonOptics
from simulated_devices.specimen import Specimen
from simulated_devices.specimen_config import simulation_of
from simulated_devices.truth_source import SpecimenTruth
from simulated_devices.watchdog import SimulatedWatchdog


def build_rig(loaded: LoadedProfile) -> Rig:
    """Build every device of the profile on one simulated DAQ and specimen."""
    profile = loaded.profile
    source = str(loaded.path)
    if profile.simulation is None:
        raise InvalidInput([Problem(source, "simulation", "the simulated backend needs a 'simulation' section")])
    problems = [Problem(source, f"devices.{n}.backend", f"backend '{d.backend}' is not available on the simulated rig "
                        f"(allowed: simulated)") for n, d in profile.devices.items() if d.backend not in (None, "simulated")]
    try:
        timeout_ms = watchdog_timeout_ms(profile)
    except ValueError as exc:
        problems.append(Problem(source, "daq.watchdog_timeout_ms", str(exc)))
    if problems:
        raise InvalidInput(problems)
    # started first, so that its start-up overlaps the build; the first arm (before the first output moves)
    # waits until it runs; it exits with this process, or when the rig is garbage-collected
    watchdog = SimulatedWatchdog(guarded_outputs(profile), timeout_ms, journal_from_env())
    specimen = Specimen(profile.simulation)
    truth = hidden_calibration(profile)  # the devices' true calibration (identity unless the profile asks)
    # the true calibration acts where the simulated board turns volts into physics (SimulatedDriver.to_physical)
    optics = TwoPhotonOptics(specimen, profile.simulation)
    daq = SimulatedDaq(profile, specimen, optics, simulation_of(profile).seed, watchdog, calibration=truth)
    try:
        daq.miswiring = Miswiring(profile)
    except ValueError as exc:
        raise InvalidInput([Problem(source, "simulation.hidden_calibration.swapped_channels", str(exc))]) from None
    devices: dict[str, Device] = {}
    for name, spec in profile.devices.items():
        if spec.kind == "camera":
            # the simulated CCD is a Python camera in the real Micro-Manager core: acquisition goes through MMCore,
            # opened when a plan first images with it (pymmcore-plus takes ~1 s to import)
            camera = LazySimulatedCamera(name, spec, clock=daq)
            daq.camera_feeds[name] = CameraFeed(name, spec, profile, specimen, camera.push_frame,
                                                np.random.default_rng(simulation_of(profile).seed + 7919))
            devices[name] = camera
        else:  # every other kind: the same device class as on an NI rig, over the simulated DAQ
            devices[name] = DEVICE_CLASSES[spec.kind](name, daq, spec)
    sim = simulation_of(profile)
    seed = sim.seed + (sim.hidden_calibration.seed or 0)  # instruments' reading noise
    return Rig(loaded, devices, daq, SpecimenTruth(specimen), extras={
        "specimen": specimen, "optics": optics, "hidden_calibration": truth,
        "power_meter": SimulatedPowerMeter(daq, truth, seed + 104729),
        "telegraphs": SimulatedTelegraphs(daq, truth, seed + 130363)})
