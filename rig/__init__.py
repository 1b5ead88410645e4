"""spinerig: acquisition and online analysis for dendritic-spine imaging rigs."""

__version__ = "0.1.0"
