"""CPU time of the calling thread spent in one method, for the benchmarks' cost breakdowns."""

from __future__ import annotations

import time


class ThreadCpu:
    """Wraps a method of a class for one measurement: the calling thread's CPU time spent in it, summed."""

    def __init__(self, cls: type, name: str):
        self.cls, self.name, self.original = cls, name, getattr(cls, name)
        self.cpu_s = 0.0

    def __enter__(self) -> "ThreadCpu":
        original, meter = self.original, self

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                meter.cpu_s += time.thread_time() - t0
        setattr(self.cls, self.name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.cls, self.name, self.original)
