"""Fan-out of records to consumers, each on its own thread with its own queue.

Lossless consumers (storage, online model) get every record in order; display consumers
get the latest records and may skip. A consumer that raises is reported through a Notice
and stops receiving records; it never blocks acquisition. A *critical* consumer (storage)
that fails makes `critical_failure` non-empty, and the Runner stops the run safely.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from rig.engine.records import Notice, Record

log = logging.getLogger(__name__)

_CLOSE = object()


def describe_error(exc: BaseException) -> str:
    """One line for an exception; names a full disk when the OS said so."""
    text = str(exc)
    line = text.splitlines()[0].strip() if text else ""
    if any(k in text for k in ("errno = 28", "errno = 27", "No space left", "File too large")):
        line += " (the disk is full or the file reached its size limit)"
    return f"{exc.__class__.__name__}: {line}"


class Consumer(Protocol):
    """Anything that takes records."""

    def handle(self, record: Record) -> None:
        """Process one record."""


@dataclass(frozen=True)
class ConsumerFailure:
    """A consumer that raised: which one, and what it said."""

    consumer: str
    message: str
    critical: bool


class _Lane:
    """One consumer's queue and thread."""

    def __init__(self, name: str, consumer: Consumer, lossless: bool, critical: bool, on_fail: Callable):
        self.name = name
        self.consumer = consumer
        self.lossless = lossless
        self.critical = critical
        self.failed = False
        self._on_fail = on_fail
        self._queue: queue.Queue | None = queue.Queue() if lossless else None
        self._latest: collections.deque = collections.deque(maxlen=256)
        self._wake = threading.Condition()
        self._closed = False
        self.thread = threading.Thread(target=self._loop, name=f"consumer-{name}", daemon=True)

    def put(self, record: object) -> None:
        if self.failed and record is not _CLOSE:
            return
        if self._queue is not None:
            self._queue.put(record)
        else:
            with self._wake:
                if record is _CLOSE:
                    self._closed = True
                else:
                    self._latest.append(record)
                self._wake.notify()

    def _next(self) -> object:
        if self._queue is not None:
            return self._queue.get()
        with self._wake:
            while not self._latest and not self._closed:
                self._wake.wait()
            return self._latest.popleft() if self._latest else _CLOSE

    def _done(self) -> None:
        if self._queue is not None:
            self._queue.task_done()

    def _loop(self) -> None:
        while True:
            record = self._next()
            try:
                if record is _CLOSE:
                    close = getattr(self.consumer, "close", None)
                    if close is not None:
                        close()  # also after a failure: release files and handles
                    return
                if not self.failed:
                    self.consumer.handle(record)  # type: ignore[arg-type]
            except Exception as exc:  # a consumer fault must be reported, never kill acquisition
                self.failed = True
                message = describe_error(exc)
                log.error("consumer %s failed: %s", self.name, message)
                log.debug("consumer %s failure detail", self.name, exc_info=True)
                self._on_fail(self, message)
            finally:
                self._done()

    def drain(self) -> None:
        if self._queue is not None:
            self._queue.join()


class Stream:
    """Publishes records to every attached consumer."""

    def __init__(self) -> None:
        self._lanes: list[_Lane] = []
        self._lock = threading.Lock()
        self.failures: list[ConsumerFailure] = []

    def attach(self, name: str, consumer: Consumer, *, lossless: bool = True, critical: bool = False) -> None:
        """Add a consumer; lossless ones see every record, others may skip to the latest."""
        lane = _Lane(name, consumer, lossless, critical, self._failed)
        self._lanes.append(lane)
        lane.thread.start()

    def _failed(self, lane: _Lane, message: str) -> None:
        with self._lock:
            self.failures.append(ConsumerFailure(lane.name, message, lane.critical))
        notice = Notice("error", lane.name, f"consumer '{lane.name}' failed and was detached: {message}")
        for other in self._lanes:
            if other is not lane:
                other.put(notice)

    def publish(self, record: Record) -> None:
        """Send a record to every consumer (thread-safe; order per publisher is kept)."""
        with self._lock:
            for lane in self._lanes:
                lane.put(record)

    @property
    def critical_failure(self) -> ConsumerFailure | None:
        """The first failure of a critical consumer, if any."""
        return next((f for f in self.failures if f.critical), None)

    def drain(self, names: set[str] | None = None) -> None:
        """Wait until the named lossless consumers (default: all) have processed everything so far."""
        for lane in self._lanes:
            if names is None or lane.name in names:
                lane.drain()

    def close(self, timeout_s: float = 60.0) -> None:
        """Tell every consumer the stream has ended and wait for them to finish."""
        for lane in self._lanes:
            lane.put(_CLOSE)
        for lane in self._lanes:
            lane.thread.join(timeout_s)
            if lane.thread.is_alive():
                log.error("consumer %s did not finish within %.0f s", lane.name, timeout_s)
