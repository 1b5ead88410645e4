"""Pharmacology as data: named bath conditions (NBQX, CPP, ...) and the conductances each removes."""

from __future__ import annotations

from typing import Any

#: What each condition does to the bath, as the simulated specimen's Pharmacology fields name it.
CONDITIONS: dict[str, dict[str, Any]] = {
    "control": {},
    "NBQX": {"block_ampa": True},
    "CPP": {"block_nmda": True},
    "APV": {"block_nmda": True},
    "SNX-482": {"block_r_type_ca": True},
    "Ni2+": {"block_r_type_ca": True},
    "QX-314": {"block_soma_na": True},
    "TTX": {"block_soma_na": True},
    "TEA": {"block_soma_k": True},
    "Ca-free": {"external_ca_mM": 0.0},
    "Mg-free": {"mg_mM": 0.0},
}


def parse_condition(condition: str) -> list[str]:
    """The drugs of a condition written as 'NBQX+CPP'; ValueError naming the known ones otherwise."""
    names = [c.strip() for c in condition.split("+") if c.strip()]
    unknown = [n for n in names if n not in CONDITIONS]
    if not names or unknown:
        raise ValueError(f"unknown condition {', '.join(unknown) or repr(condition)} "
                         f"(known: {', '.join(CONDITIONS)}; combine with '+')")
    return names


def bath_of(condition: str) -> dict[str, Any]:
    """The bath fields a condition sets (later drugs win), recorded with every sweep."""
    bath: dict[str, Any] = {}
    for name in parse_condition(condition):
        bath.update(CONDITIONS[name])
    return bath
