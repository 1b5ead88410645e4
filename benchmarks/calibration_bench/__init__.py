"""The calibration benchmark's parts: spine populations, per-spine rigs, scoring against truth, tables.

`benchmarks/calibration.py` is the command; this package holds its pieces so tests can run a subset.
"""
