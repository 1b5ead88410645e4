"""Repeated real-signal trials against `rig run`: exit codes, tracebacks and the rig's final state from the journal.

Usage: python benchmarks/signal_trials.py [--trials 10] [--case hup|int2|term|quit|startup ...]

Each trial starts `rig run protocols/frap.yaml` with the simulated hardware journal on, waits until
the journal shows the second sweep started (start-up case: until the CLI logs that its handlers
are installed), sends the case's signals and reports the exit code, whether stderr holds a
traceback, and whether the journal ends with light off, shutter closed, stimulator idle, LEDs off
and the amplifier at -70 mV in VC.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulated_devices.journal import final_outputs

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "hup": [(signal.SIGHUP, 0.0)],
    "term": [(signal.SIGTERM, 0.0)],
    "quit": [(signal.SIGQUIT, 0.0)],
    "int2": [(signal.SIGINT, 0.0), (signal.SIGINT, 0.02)],  # second Ctrl-C 20 ms after the first
    "startup": [(signal.SIGINT, 0.0)],
}


def _events(journal: Path) -> list[dict]:
    out = []
    for line in journal.read_text().splitlines() if journal.exists() else []:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def _safe(journal: Path) -> bool:
    held, modes = final_outputs(_events(journal))
    if not held:
        return True  # nothing ever moved
    light = ["laser.power", "shutter.open", "stimulator.trigger", "camera.trigger", "leds.uv385", "leds.blue460",
             "leds.green520"]
    return all(held.get(c, 0.0) == 0.0 for c in light) and held.get("amplifier.command", -70.0) == -70.0 \
        and modes.get("amplifier", "VC") == "VC"


def trial(case: str, folder: Path) -> tuple[int, bool, bool]:
    """One trial: (exit code, traceback seen, rig safe at the end)."""
    journal, err = folder / "journal.jsonl", folder / "stderr.txt"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    with open(err, "w") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "rig", "-v", "run", str(ROOT / "protocols" / "frap.yaml"),
                                 "--out", str(folder / "out"), "--sweeps", "40", "--set", "interval_s=0.2",
                                 "--set", "recovery_ms=800", "--quiet"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err_fh)
    deadline = time.monotonic() + 300
    if case == "startup":
        ready = lambda: "signal handlers installed" in err.read_text()  # noqa: E731
    else:
        ready = lambda: sum(e["event"] == "start" for e in _events(journal)) >= 2  # noqa: E731
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    for signum, delay in CASES[case]:
        time.sleep(delay)
        proc.send_signal(signum)
    proc.wait(timeout=300)
    return proc.returncode, "Traceback" in err.read_text(), _safe(journal)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--case", nargs="+", default=["hup", "int2"], choices=sorted(CASES))
    args = parser.parse_args()
    for case in args.case:
        codes: collections.Counter[int] = collections.Counter()
        tracebacks = unsafe = 0
        for k in range(args.trials):
            with tempfile.TemporaryDirectory(prefix=f"sig_{case}_") as tmp:
                code, tb, safe = trial(case, Path(tmp))
            codes[code] += 1
            tracebacks += tb
            unsafe += not safe
        print(f"{case}: {args.trials} trials, exit codes {dict(codes)}, tracebacks {tracebacks}, "
              f"rig not safe {unsafe}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
