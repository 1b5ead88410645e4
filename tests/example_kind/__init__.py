"""Example step kind (the one docs/architecture.md "Write a new step kind" builds): a current-clamp membrane test.

Each sweep steps the CC command by step_pA for step_ms; the online analysis reads the steady-state voltage change
and publishes the input resistance of every sweep as a feature.
"""

from example_kind.compile import MembraneTestKind
from example_kind.schema import MembraneTestStep

KIND = MembraneTestKind()

__all__ = ["MembraneTestStep", "MembraneTestKind", "KIND"]
