"""Kill -9 or SIGSTOP a real `rig run` mid-sweep, repeatedly; print how long after its last feed the watchdog acted.

    python benchmarks/bench_watchdog.py --mode kill --trials 10
    python benchmarks/bench_watchdog.py --mode stop --trials 6

Each trial runs the shipped FRAP protocol on the simulated rig with SPINERIG_SIM_JOURNAL set,
waits until the light is on in sweep 1, 2 or 3 (trial by trial), lets 0-150 ms pass to vary the
point in the sweep, and kills (or stops) the process. It reads from the journal: whether the
light was on when feeding stopped, how long after the last feed the watchdog applied its
expiration states, and whether the last light state is safe; then it checks the watchdog
process exited.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulated_devices.journal import final_state, process_gone, read_events, wait_for_event

ROOT = Path(__file__).resolve().parents[1]
LIGHT = ("laser.power", "shutter.open", "leds.uv385", "leds.blue460", "leds.green520")


def trial(k: int, mode: str, folder: Path) -> tuple[str, float, bool, bool]:
    """One run killed (or stopped) mid-sweep: (cause, ms since the last feed, light was on, safe after)."""
    journal = folder / "journal.jsonl"
    env = dict(os.environ, SPINERIG_SIM_JOURNAL=str(journal))
    proc = subprocess.Popen([sys.executable, "-m", "rig", "run", str(ROOT / "protocols" / "frap.yaml"), "--out",
                             str(folder / "out"), "--quiet", "--sweeps", "3", "--set", "recovery_ms=3000",
                             "--set", "interval_s=0.1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        armed = wait_for_event(journal, lambda e: e["event"] == "watchdog_armed", proc)
        started = wait_for_event(journal, lambda e: e["event"] == "start" and e["sweep"] == k % 3, proc)
        wait_for_event(journal, lambda e: e["event"] == "light" and e["on"] and e["t"] >= started["t"], proc)
        time.sleep(0.05 * (k % 4))  # vary where in the sweep the program dies
        proc.send_signal(signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
        event = wait_for_event(journal, lambda e: e["event"] == "watchdog_expired")
    finally:
        proc.kill()
        proc.wait(timeout=60)
    end = time.monotonic() + 30
    while not process_gone(armed["pid"]):
        if time.monotonic() > end:
            raise AssertionError(f"watchdog process {armed['pid']} outlived its parent")
        time.sleep(0.02)
    safe = final_state(read_events(journal), LIGHT) == {c: 0.0 for c in LIGHT}
    return event["cause"], event["since_feed_ms"], event["held_before"]["shutter.open"] == 1.0, safe


def main() -> None:
    """Run the trials and print one line per trial and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("kill", "stop"), default="kill")
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    results = []
    for k in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="spinerig-watchdog-bench-") as folder:
            results.append(trial(k, args.mode, Path(folder)))
        print(k, *results[-1], flush=True)
    ms = sorted(r[1] for r in results)
    n = len(results)
    print(f"{args.mode}: {n} trials; light on when feeding stopped {sum(r[2] for r in results)}/{n}; "
          f"light safe after {sum(r[3] for r in results)}/{n}; ms from last feed to expiration states: "
          f"min {ms[0]:.1f}, median {ms[n // 2]:.1f}, max {ms[-1]:.1f} (timeout 500 ms)")


if __name__ == "__main__":
    main()
