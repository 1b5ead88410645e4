"""FRAP (diffusional coupling): line scan, bleach pulse, recovery fit, neck resistance.

The online analysis (and what it imports) loads on first use: validating a protocol needs only the schema
and the compiler.
"""

from __future__ import annotations

from typing import Any

from rig.protocols.frap.compile import FrapKind
from rig.protocols.frap.schema import FrapStep

KIND = FrapKind()

__all__ = ["FrapStep", "FrapAnalysis", "FrapKind", "KIND"]


def __getattr__(name: str) -> Any:
    if name == "FrapAnalysis":
        from rig.protocols.frap.analysis import FrapAnalysis

        return FrapAnalysis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
