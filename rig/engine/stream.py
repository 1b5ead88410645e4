"""Fan-out of records to consumers, each on its own thread with its own queue.

Lossless consumers (storage, online model) get every record in order; display consumers
get the latest records and may skip. A consumer that raises is reported through a Notice
and stops receiving records; it never blocks acquisition. A *critical* consumer (storage)
that fails makes `critical_failure` non-empty, and the Runner stops the run safely.

Memory stays bounded on long runs because the Runner, between sweeps, waits until every
critical consumer has finished the sweep before last (`wait_for_sweep`): at most two sweeps'
records are queued for storage however slow the disk is. Closing waits for a critical
consumer as long as it makes progress, so a slow disk never leaves the run file unclosed.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Final, Protocol

from rig.datatypes.records import Notice, Record, SweepEnded

log = logging.getLogger(__name__)



class _Sentinel(Enum):
    """The end-of-stream marker a lane receives after the last record."""

    CLOSE = "close"


_CLOSE: Final = _Sentinel.CLOSE  # put after the last record: the lane closes its consumer and ends


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

    def __init__(self, name: str, consumer: Consumer, lossless: bool, critical: bool, on_fail: Callable[[_Lane, str], None]):
        self.name = name
        self.consumer = consumer
        self.lossless = lossless
        self.critical = critical
        self.failed = False
        self._on_fail = on_fail
        self._queue: queue.Queue[Record | _Sentinel] | None = queue.Queue() if lossless else None
        self._latest: collections.deque[Record] = collections.deque(maxlen=256)
        self._wake = threading.Condition()
        self._closed = False
        self.processed = 0  # records taken off the queue (progress, for close)
        self.last_sweep_ended = -1  # index of the last SweepEnded this consumer finished
        self.progress = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name=f"consumer-{name}", daemon=True)

    def put(self, record: Record | _Sentinel) -> None:
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

    def _next(self) -> Record | _Sentinel:
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
                    self.consumer.handle(record)
            except Exception as exc:  # a consumer fault must be reported, never kill acquisition
                self.failed = True
                message = describe_error(exc)
                log.error("consumer %s failed: %s", self.name, message)
                log.debug("consumer %s failure detail", self.name, exc_info=True)
                self._on_fail(self, message)
            finally:
                with self.progress:
                    self.processed += 1
                    if isinstance(record, SweepEnded):
                        self.last_sweep_ended = max(self.last_sweep_ended, record.sweep_index)
                    self.progress.notify_all()
                self._done()

    def caught_up(self, sweep_index: int) -> bool:
        """True once this consumer finished sweep `sweep_index` (or failed, or was closed)."""
        return self.failed or self.last_sweep_ended >= sweep_index or not self.thread.is_alive()

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

    def wait_for_sweep(self, sweep_index: int, should_stop: Callable[[], bool] = lambda: False,
                       critical_only: bool = True) -> float:
        """Wait until the (critical) lossless consumers finished sweep `sweep_index`; returns the seconds waited."""
        start = time.monotonic()
        for lane in self._lanes:
            if lane._queue is None or (critical_only and not lane.critical):
                continue
            with lane.progress:
                while not lane.caught_up(sweep_index) and not should_stop():
                    lane.progress.wait(0.05)
        return time.monotonic() - start

    def close(self, timeout_s: float = 60.0) -> None:
        """Tell every consumer the stream has ended and wait for them to finish.

        A consumer is given up after `timeout_s` without progress (critical ones) or in total (others).
        """
        for lane in self._lanes:
            lane.put(_CLOSE)
        for lane in self._lanes:
            seen, since = lane.processed, time.monotonic()
            while True:
                lane.thread.join(min(1.0, timeout_s))
                if not lane.thread.is_alive():
                    break
                if lane.critical and lane.processed != seen:
                    seen, since = lane.processed, time.monotonic()
                elif time.monotonic() - since >= timeout_s:
                    log.error("consumer %s did not finish within %.0f s", lane.name, timeout_s)
                    break
