"""Protocol kinds (one package each under rig/protocols/<kind>/: schema, compile or program, analysis) and their
registry.

The registry imports a kind's package the first time the kind is looked up, so validating a FRAP
protocol does not import the analysis (and scipy modules) of every other kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rig.protocols.shared.kind import StepKind

# Kind name -> package whose KIND implements it (rig.protocols.shared.kind.StepKind).
_KIND_MODULES: dict[str, str] = {
    "frap": "rig.protocols.frap", "hold": "rig.protocols.hold", "reversal": "rig.protocols.reversal",
    "fcat": "rig.protocols.fcat", "na_ca": "rig.protocols.na_ca",
    "bap_train": "rig.protocols.bap_train", "paired_ap": "rig.protocols.paired_ap",
    "theta_burst": "rig.protocols.theta_burst",
    "hyperpolarizing_steps": "rig.protocols.hyperpolarizing_steps",
    "epsp_ap_pairing": "rig.protocols.epsp_ap_pairing", "quantal": "rig.protocols.quantal",
    "vsd": "rig.protocols.vsd",
}


def register_kind(kind: str, module: str) -> None:
    """Register a step kind: `module` is an importable package whose KIND implements it (e.g. a kind in tests)."""
    if not kind.isidentifier():
        raise ValueError(f"a kind's name is an identifier (got {kind!r})")
    if _KIND_MODULES.get(kind, module) != module:
        raise ValueError(f"kind {kind!r} is already registered to {_KIND_MODULES[kind]}")
    _KIND_MODULES[kind] = module


def unregister_kind(kind: str) -> None:
    """Forget a kind registered with register_kind (a test's own kind, when the test ends)."""
    _KIND_MODULES.pop(kind, None)


class _KindRegistry(Mapping[str, "StepKind[Any]"]):
    """Read-only mapping kind name -> StepKind that imports each kind's package on first lookup."""

    def __getitem__(self, kind: str) -> StepKind[Any]:
        if not isinstance(kind, str) or kind not in _KIND_MODULES:
            raise KeyError(kind)
        found: StepKind[Any] = importlib.import_module(_KIND_MODULES[kind]).KIND
        return found

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in _KIND_MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(list(_KIND_MODULES))

    def __len__(self) -> int:
        return len(_KIND_MODULES)

    def __repr__(self) -> str:
        return f"STEP_KINDS({', '.join(_KIND_MODULES)})"


STEP_KINDS: Mapping[str, StepKind[Any]] = _KindRegistry()
