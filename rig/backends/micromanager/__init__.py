"""Micro-Manager backend (pymmcore-plus): loads the devices a profile names; cameras plug in via `devices.BUILDERS`."""

import logging as _logging

_root_level = _logging.getLogger().level
try:
    import pymmcore_plus as _pymmcore_plus  # noqa: F401  # importing it sets the root logger to DEBUG
except ImportError:  # without pymmcore-plus the modules here report it themselves when used
    pass
finally:
    _logging.getLogger().setLevel(_root_level)
