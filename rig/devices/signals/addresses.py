"""Parse NI physical channel addresses (`Dev1/ai0`, `Dev1/port0/line3`, `Dev1/ctr0`) and terminals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

IoType = Literal["ai", "ao", "do", "ctr"]

_ANALOG = re.compile(r"^/?(?P<device>[A-Za-z][\w-]*)/(?P<io>ai|ao)(?P<index>\d+)$")
_LINE = re.compile(r"^/?(?P<device>[A-Za-z][\w-]*)/port(?P<port>\d+)/line(?P<line>\d+)$")
_COUNTER = re.compile(r"^/?(?P<device>[A-Za-z][\w-]*)/ctr(?P<index>\d+)$")


@dataclass(frozen=True)
class PhysicalChannel:
    """One physical channel: its device, I/O type, and port/line or index."""

    address: str
    device: str
    io_type: IoType
    index: int
    port: int | None = None

    @property
    def name(self) -> str:
        """The address without a leading slash, as DAQmx channel functions take it."""
        return self.address.lstrip("/")


def parse_address(address: str) -> PhysicalChannel:
    """Parse one physical channel address; raise ValueError naming the accepted forms."""
    text = address.strip()
    if m := _ANALOG.match(text):
        io: IoType = "ai" if m["io"] == "ai" else "ao"  # the pattern matches only ai or ao
        return PhysicalChannel(text, m["device"], io, int(m["index"]))
    if m := _LINE.match(text):
        return PhysicalChannel(text, m["device"], "do", int(m["line"]), int(m["port"]))
    if m := _COUNTER.match(text):
        return PhysicalChannel(text, m["device"], "ctr", int(m["index"]))
    raise ValueError(f"'{address}' is not an NI channel address (expected Dev1/ai0, Dev1/ao0, "
                     f"Dev1/port0/line0 or Dev1/ctr0)")


def terminal(device: str, name: str) -> str:
    """A fully qualified terminal name, e.g. terminal('Dev1', 'ai/SampleClock') -> '/Dev1/ai/SampleClock'."""
    return f"/{device}/{name.lstrip('/')}"


def counter_output_terminal(device: str, counter: str) -> str:
    """The internal output terminal of a counter, e.g. '/Dev1/Ctr0InternalOutput'."""
    index = parse_address(f"{device}/{counter}").index
    return terminal(device, f"Ctr{index}InternalOutput")
