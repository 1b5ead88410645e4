"""Micro-Manager backend (pymmcore-plus): loads the devices a profile names; cameras plug in via `devices.BUILDERS`."""
