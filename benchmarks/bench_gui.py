"""Redraw rate of the operator's window during a simulated FRAP run paced to the wall clock.

Prints the rate of Traces redraws with new data during sweeps, the rate of actual paint events of the
Traces view, the redraw-timer rate over the whole run and the longest gap between timer ticks (a frozen
GUI shows up there). Exit status 1 if redraws during sweeps fall below 30/s.
Run: python benchmarks/bench_gui.py [--sweeps N]  (offscreen unless DISPLAY is set, e.g. under xvfb-run)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import QEvent, QObject, QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402

from rig.datatypes.records import Record, RunEnded, SweepEnded, SweepStarted  # noqa: E402
from rig.gui.app import build_window  # noqa: E402
from rig.gui.theme import apply_theme  # noqa: E402

REQUIRED_PER_S = 30.0
log = logging.getLogger("bench_gui")


class PaintCounter(QObject):
    """Counts paint events of one widget."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Paint:
            self.paints += 1
        return False


class SweepClock:
    """Wall time spent inside sweeps (SweepStarted .. SweepEnded), seen on the GUI thread."""

    def __init__(self) -> None:
        self.in_sweep_s = 0.0
        self._since: float | None = None
        self.ended = False

    def on_record(self, label: str, record: Record) -> None:
        now = time.monotonic()
        if isinstance(record, SweepStarted):
            self._since = now
        elif isinstance(record, SweepEnded) and self._since is not None:
            self.in_sweep_s += now - self._since
            self._since = None
        elif isinstance(record, RunEnded):
            self.ended = True


def main() -> int:
    """Run FRAP in the real window and report redraw rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    out = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    window = build_window(None, out)
    window.resize(1600, 1000)
    window.show()
    paints = PaintCounter()
    window.traces.layout_widget.viewport().installEventFilter(paints)
    clock = SweepClock()
    window.session.record.connect(clock.on_record)
    window.protocol.select("frap")
    for field, value in (("sweeps", str(args.sweeps)), ("interval_s", "0.5"), ("recovery_ms", "1000")):
        window.protocol.set_field(field, value)
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    marks: dict[str, float | int] = {}

    def start() -> None:
        marks.update(t0=time.monotonic(), redraws0=window.traces.redraws, paints0=paints.paints,
                     ticks0=window.stats.ticks, drawing0=window.stats.drawing_s,
                     records0=window.stats.records_s)
        window.start_protocol(prepared)

    def poll() -> None:
        if marks and clock.ended and not window.session.busy:
            marks.update(t1=time.monotonic())
            app.quit()

    QTimer.singleShot(300, start)
    poller = QTimer(interval=50)
    poller.timeout.connect(poll)
    poller.start()
    app.exec_()
    window.close()
    wall = marks["t1"] - marks["t0"]
    redraws = window.traces.redraws - marks["redraws0"]
    drawn = paints.paints - marks["paints0"]
    ticks = window.stats.ticks - marks["ticks0"]
    drawing = window.stats.drawing_s - marks["drawing0"]
    taking = window.stats.records_s - marks["records0"]
    during = redraws / clock.in_sweep_s if clock.in_sweep_s else 0.0
    platform = app.platformName()
    print(f"platform {platform}; {args.sweeps} FRAP sweeps, {clock.in_sweep_s:.2f} s in sweeps of {wall:.2f} s run")
    print(f"traces redraws with new data during sweeps: {during:.1f} /s  ({redraws} redraws)")
    print(f"traces view paint events over the run:      {drawn / wall:.1f} /s")
    print(f"redraw timer ticks over the run:            {ticks / wall:.1f} /s; longest gap "
          f"{window.stats.max_gap_s * 1000:.0f} ms")
    print(f"GUI thread inside the redraw handler:       {drawing / wall * 100:.0f} % of the run; "
          f"{drawing / max(ticks, 1) * 1000:.1f} ms per tick (wall, lock waits included)")
    print(f"GUI thread taking records:                  {taking / wall * 100:.0f} % of the run")
    try:
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end:            {load:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    ok = during >= REQUIRED_PER_S
    print(f"{'PASS' if ok else 'FAIL'}: required >= {REQUIRED_PER_S:.0f} redraws/s during a run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
