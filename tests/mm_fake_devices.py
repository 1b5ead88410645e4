"""Micro-Manager Python devices the tests load through the real pymmcore-plus core, by this module's name."""

from __future__ import annotations

from pymmcore_plus.experimental.unicore import GenericDevice, ShutterDevice, pymm_property

MODULE = __name__


class FakeShutter(ShutterDevice):
    """A two-state Python shutter that remembers every move."""

    def __init__(self) -> None:
        super().__init__()
        self.is_open = False
        self.moves: list[bool] = []

    def get_open(self) -> bool:
        return self.is_open

    def set_open(self, open: bool) -> None:
        self.is_open = open
        self.moves.append(open)


class FakeLedController(GenericDevice):
    """An LED controller with one intensity property."""

    def __init__(self) -> None:
        super().__init__()
        self._intensity = "0"

    @pymm_property(allowed_values=["0", "25", "50", "100"])
    def intensity(self) -> str:
        return self._intensity

    @intensity.setter
    def intensity(self, value: str) -> None:
        self._intensity = value
