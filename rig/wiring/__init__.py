"""The wiring check (`rig check-wiring`): every output but the light driven with its own test tone, every input
recorded, and a table of which tone came back on which input."""
