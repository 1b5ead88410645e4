"""Protocol kinds (one module each: schema, compile, online analysis) and their registry.

The registry imports a kind's module the first time the kind is looked up, so validating a FRAP
protocol does not import the analysis (and scipy modules) of every other kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rig.config.profile import HardwareProfile
    from rig.engine.program import StepProgram
    from rig.protocols.shared.common import StepKind

# Kind name -> module whose KIND implements it (rig.protocols.shared.common.StepKind).
_KIND_MODULES: dict[str, str] = {
    "frap": "rig.protocols.frap", "hold": "rig.protocols.hold", "reversal": "rig.protocols.reversal",
    "fcat": "rig.protocols.fcat", "na_ca": "rig.protocols.na_ca",
    "bap_train": "rig.protocols.bap_train", "paired_ap": "rig.protocols.paired_ap",
    "theta_burst": "rig.protocols.theta_burst",
    "hyperpolarizing_steps": "rig.protocols.hyperpolarizing_steps",
    "epsp_ap_pairing": "rig.protocols.epsp_ap_pairing", "quantal": "rig.protocols.quantal",
    "vsd": "rig.protocols.vsd",
}


class _KindRegistry(Mapping[str, "StepKind"]):
    """Read-only mapping kind name -> StepKind that imports each kind's module on first lookup."""

    def __getitem__(self, kind: str) -> "StepKind":
        if not isinstance(kind, str) or kind not in _KIND_MODULES:
            raise KeyError(kind)
        module_name = _KIND_MODULES[kind]
        return importlib.import_module(module_name).KIND  # type: ignore[no-any-return]

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in _KIND_MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(_KIND_MODULES)

    def __len__(self) -> int:
        return len(_KIND_MODULES)

    def __repr__(self) -> str:
        return f"STEP_KINDS({', '.join(_KIND_MODULES)})"


STEP_KINDS: Mapping[str, "StepKind"] = _KindRegistry()


def step_program(step: Any, step_index: int, profile: "HardwareProfile", analysis: Any) -> "StepProgram":
    """The program of a step: the kind's own (adaptive) program, or its compiled plans in order."""
    from rig.engine.program import FixedProgram

    kind = STEP_KINDS[step.kind]
    build = getattr(kind, "program", None)
    if build is not None:
        return build(step, step_index, profile, analysis)
    return FixedProgram(step_index, kind.compile(step, step_index, profile))
