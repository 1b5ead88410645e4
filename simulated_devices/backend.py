"""Build a simulated Rig from a profile: one specimen, one clock, every device."""

from __future__ import annotations

from rig.config.problems import InvalidInput, Problem
from rig.config.profile import LoadedProfile
from rig.engine.rig import Rig
from rig.engine.sweep_plan import SweepPlan
import numpy as np

from rig.backends.micromanager.camera import open_simulated_camera
from simulated_devices.camera_feed import CameraFeed
from simulated_devices.daq import SimulatedDaq
from simulated_devices.devices import DEVICE_CLASSES
from simulated_devices.optics import TwoPhotonOptics
from simulated_devices.specimen import Specimen


class SpecimenTruth:
    """Truth source over the shared specimen: the spine a plan targets, as it is now."""

    def __init__(self, specimen: Specimen):
        self.specimen = specimen

    def truth_for(self, plan: SweepPlan) -> dict[str, float]:
        """True parameters of the spine nearest the plan's target point (empty if none)."""
        if plan.target_um is None:
            return {}
        index = self.specimen.nearest_spine(plan.target_um)
        s = self.specimen
        return {"spine_index": float(index)} | s.spine_truth(index) | s.epsp_truth(index) | s.calcium_truth(index)

    def describe(self) -> dict[str, object]:
        """The whole specimen."""
        return self.specimen.describe()


def build_rig(loaded: LoadedProfile) -> Rig:
    """Build every device of the profile on one simulated DAQ and specimen."""
    profile = loaded.profile
    source = str(loaded.path)
    if profile.simulation is None:
        raise InvalidInput([Problem(source, "simulation", "the simulated backend needs a 'simulation' section")])
    problems = [Problem(source, f"devices.{n}.backend", f"backend '{d.backend}' is not available on the simulated rig "
                        f"(allowed: simulated)") for n, d in profile.devices.items() if d.backend not in (None, "simulated")]
    if problems:
        raise InvalidInput(problems)
    specimen = Specimen(profile.simulation)
    optics = TwoPhotonOptics(specimen, profile.simulation)
    daq = SimulatedDaq(profile, specimen, optics, profile.simulation.seed)
    devices = {}
    for name, spec in profile.devices.items():
        if spec.kind == "camera":
            # the simulated CCD is a Python camera in the real Micro-Manager core: acquisition goes through MMCore
            camera, push_frame = open_simulated_camera(name, spec, clock=daq)
            daq.camera_feeds[name] = CameraFeed(name, spec, profile, specimen, push_frame,
                                                np.random.default_rng(profile.simulation.seed + 7919))
            devices[name] = camera
        else:  # every other kind has a simulated device class
            devices[name] = DEVICE_CLASSES[spec.kind](name, daq, spec)
    return Rig(loaded, devices, daq, SpecimenTruth(specimen), extras={"specimen": specimen, "optics": optics})
