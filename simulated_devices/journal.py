"""Reading the simulated hardware journal (SPINERIG_SIM_JOURNAL) from another process: events, waits, light state."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable


def read_events(path: Path) -> list[dict]:
    """Every complete line of a journal (a line still being written is skipped)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n")]


def wait_for_event(path: Path, found: Callable[[dict], bool], proc: subprocess.Popen | None = None,
                   deadline_s: float = 120.0, poll_s: float = 0.02) -> dict:
    """Poll the journal until an event matches; AssertionError at the deadline or when `proc` ends without it."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        ended = proc.poll() if proc is not None else None
        for event in read_events(path):
            if found(event):
                return event
        if proc is not None and ended is not None:
            raise AssertionError(f"process exited with {proc.returncode} before the event: {proc.communicate()}")
        time.sleep(poll_s)
    raise AssertionError(f"no matching journal event within {deadline_s} s: {read_events(path)[-5:]}")


def final_outputs(events: Iterable[dict]) -> tuple[dict[str, float], dict[str, str]]:
    """What every output holds and each amplifier's mode at the end of the journal, counting the
    watchdog's expiration states (it overrides what the outputs held)."""
    held: dict[str, float] = {}
    modes: dict[str, str] = {}
    for event in events:
        if event["event"] in ("stop", "light"):
            held.update(event["held"])
        elif event["event"] == "static":
            held[event["channel"]] = event["value"]
        elif event["event"] == "watchdog_expired":
            held.update(event["applied"])
        elif event["event"] == "mode":
            modes[event["device"]] = event["mode"]
    return held, modes


def final_state(events: Iterable[dict], channels: Iterable[str]) -> dict[str, float]:
    """What the given channels hold at the end of the journal."""
    held, _ = final_outputs(events)
    return {c: held[c] for c in channels}


def process_gone(pid: int) -> bool:
    """True when the process no longer runs: absent, or a zombie waiting for its reaper (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return stat[stat.rindex(b")") + 2:][:1] in (b"Z", b"X")
