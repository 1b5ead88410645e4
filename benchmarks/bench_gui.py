"""Redraw rate of the operator's window during a simulated FRAP run paced to the wall clock.

Prints the rate of Traces redraws with new data during sweeps, the rate of actual paint events of the
Traces view, the redraw-timer rate over the whole run and the longest gap between timer ticks (a frozen
GUI shows up there). Exit status 1 if redraws during sweeps fall below 30/s.
Run: python benchmarks/bench_gui.py [--sweeps N] [--baseline COMMIT --repeats K]
(offscreen unless DISPLAY is set, e.g. under xvfb-run)
"""

from __future__ import annotations

import argparse
import json
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
ROOT = Path(__file__).resolve().parents[1]
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


def measure(sweeps: int) -> dict[str, float | str]:
    """Run FRAP (`sweeps` sweeps, paced to the wall clock) in the real window; the redraw figures."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
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
    for field, value in (("sweeps", str(sweeps)), ("interval_s", "0.5"), ("recovery_ms", "1000")):
        window.protocol.set_field(field, value)
    prepared = window.protocol.validate()
    assert prepared is not None, window.protocol.problem_texts()
    marks: dict[str, float | int] = {}

    def start() -> None:
        marks.update(t0=time.monotonic(), cpu0=time.process_time(), redraws0=window.traces.redraws, paints0=paints.paints,
                     ticks0=window.stats.ticks, drawing0=window.stats.drawing_s,
                     records0=window.stats.records_s)
        window.start_protocol(prepared)

    def poll() -> None:
        if marks and clock.ended and not window.session.busy:
            marks.update(t1=time.monotonic(), cpu1=time.process_time())
            app.quit()

    QTimer.singleShot(300, start)
    poller = QTimer(interval=50)
    poller.timeout.connect(poll)
    poller.start()
    app.exec_()
    poller.stop()
    result = window.last_result
    window.close()
    wall = marks["t1"] - marks["t0"]
    redraws = window.traces.redraws - marks["redraws0"]
    ticks = window.stats.ticks - marks["ticks0"]
    drawing = window.stats.drawing_s - marks["drawing0"]
    return {"platform": app.platformName(), "sweeps": sweeps, "in_sweep_s": clock.in_sweep_s, "wall_s": wall,
            "redraws": redraws, "during_per_s": redraws / clock.in_sweep_s if clock.in_sweep_s else 0.0,
            "paints_per_s": (paints.paints - marks["paints0"]) / wall, "ticks_per_s": ticks / wall,
            "max_gap_ms": window.stats.max_gap_s * 1000, "drawing_pct": drawing / wall * 100,
            "drawing_ms_per_tick": drawing / max(ticks, 1) * 1000,
            "window_cpu_pct": (marks["cpu1"] - marks["cpu0"]) / wall * 100,
            "window_cpu_ms_per_tick": (marks["cpu1"] - marks["cpu0"]) / max(ticks, 1) * 1000,
            "records_pct": (window.stats.records_s - marks["records0"]) / wall * 100,
            "status": result.outcome.status if result is not None else "no result",
            "sweeps_completed": result.outcome.sweeps_completed if result is not None else 0}


def report(name: str, m: dict[str, float | str]) -> None:
    """Print one measurement."""
    print(f"[{name}] platform {m['platform']}; {m['sweeps']} FRAP sweeps, {m['in_sweep_s']:.2f} s in sweeps of "
          f"{m['wall_s']:.2f} s run; run {m['status']}, {m['sweeps_completed']} sweeps completed")
    print(f"[{name}] traces redraws with new data during sweeps: {m['during_per_s']:.1f} /s  ({m['redraws']} redraws)")
    print(f"[{name}] traces view paint events over the run:      {m['paints_per_s']:.1f} /s")
    print(f"[{name}] redraw timer ticks over the run:            {m['ticks_per_s']:.1f} /s; longest gap "
          f"{m['max_gap_ms']:.0f} ms")
    print(f"[{name}] GUI thread inside the redraw handler:       {m['drawing_pct']:.0f} % of the run; "
          f"{m['drawing_ms_per_tick']:.1f} ms per tick (wall, lock waits included)")
    print(f"[{name}] GUI thread taking records:                  {m['records_pct']:.0f} % of the run")
    if "window_cpu_pct" in m:  # not printed by trees older than this figure
        print(f"[{name}] window process CPU (all its threads):     {m['window_cpu_pct']:.0f} % of one core; "
              f"{m['window_cpu_ms_per_tick']:.1f} ms per tick")


def main() -> int:
    """Run FRAP in the real window and report redraw rates (and those of a baseline commit, alternately)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--baseline", default="", help="commit to measure alternately in the same run, e.g. ba46ded")
    parser.add_argument("--repeats", type=int, default=1, help="measurements of each tree (with --baseline)")
    parser.add_argument("--only-now", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.only_now:  # the baseline subprocess: one measurement as JSON
        print(json.dumps(measure(args.sweeps)))
        return 0
    now_runs: list[dict[str, float | str]] = []
    if args.baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from baseline import BaselineTree
        with BaselineTree(args.baseline) as old:
            for k in range(args.repeats):
                now = old.measure(Path(__file__).resolve(), [f"--sweeps={args.sweeps}"])
                report(f"{args.baseline} #{k + 1}", now)  # type: ignore[arg-type]
                now_runs.append(measure_in_child(args.sweeps))
                report(f"now #{k + 1}", now_runs[-1])
    else:
        now_runs.append(measure(args.sweeps))
        report("now", now_runs[-1])
    try:
        load = os.getloadavg()[0]
        print(f"load average (1 min) at the end:            {load:.1f} on {os.cpu_count()} cores")
    except OSError:
        pass
    during = min(float(m["during_per_s"]) for m in now_runs)
    ok = during >= REQUIRED_PER_S
    print(f"{'PASS' if ok else 'FAIL'}: required >= {REQUIRED_PER_S:.0f} redraws/s during a run (now, worst "
          f"{during:.1f})")
    return 0 if ok else 1


def measure_in_child(sweeps: int) -> dict[str, float | str]:
    """This tree's measurement in a fresh interpreter, as the baseline's is (same start-up, same window)."""
    import subprocess

    env = os.environ | {"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--only-now", f"--sweeps={sweeps}"],
                          check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())
