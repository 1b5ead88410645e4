"""Simultaneous Na+/Ca2+ imaging with a CCD and LED excitation switching."""

from rig.protocols.na_ca.compile import NaCaKind
from rig.protocols.na_ca.schema import NaCaStep

KIND = NaCaKind()

__all__ = ["KIND", "NaCaKind", "NaCaStep"]
