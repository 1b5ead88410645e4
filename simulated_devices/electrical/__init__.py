"""Electrical core of the virtual specimen: soma, dendritic cable and spines, implicit solver."""

from .channels import HeadChannelSpec, SomaChannelSpec
from .model import CellModel, ElectricalTrace, FastPathSettings, SynapticEvent
from .morphology import CellSpec, DendriteSpec, PassiveSpec, SomaSpec, SpineSpec, axial_resistance_MOhm
from .solver import Blockers, ClampMode, as_clamp_mode
from .synapses import SynapseSpec, ampa_ion_weights, mg_block, nmda_ion_weights

__all__ = [
    "Blockers",
    "CellModel",
    "CellSpec",
    "ClampMode",
    "DendriteSpec",
    "ElectricalTrace",
    "FastPathSettings",
    "HeadChannelSpec",
    "PassiveSpec",
    "SomaChannelSpec",
    "SomaSpec",
    "SpineSpec",
    "SynapseSpec",
    "SynapticEvent",
    "ampa_ion_weights",
    "as_clamp_mode",
    "axial_resistance_MOhm",
    "mg_block",
    "nmda_ion_weights",
]
