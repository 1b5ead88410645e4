"""Read run files in a separate process, so a file this window is still writing is never opened in its process.

HDF5 refuses a second in-process open of a file being written (and a reader left open could make the
writer's final status update fail), while SWMR reading from another process is what the format is for.
Usage: python -m rig.gui.run_reader summary FILE | sweep FILE SWEEP CHANNEL OUT.npy
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np


def summary(path: Path) -> dict[str, Any]:
    """The run's summary plus its stored sweeps and channels."""
    from rig.storage.reader import RunFile

    with RunFile(path) as run:
        run.refresh()
        out = run.summary()
        out["channels"] = run.channels()
        out["sweep_indices"] = [int(s) for s in run.sweeps()["sweep"]]
        out["sample_rates_hz"] = [float(r) for r in run.sweeps()["sample_rate_hz"]]
        # what the Data panel needs to draw a stored sweep in its units: the clamp and the line-scan layout
        out["sweep_meta"] = [{k: p.get(k) for k in ("step_name", "kind", "amplifier", "amplifier_mode", "line_scan")}
                             for p in run.plans()]
    return out


def sweep(path: Path, index: int, channel: str) -> np.ndarray:
    """One stored sweep of one channel."""
    from rig.storage.reader import RunFile

    with RunFile(path) as run:
        run.refresh()
        return np.asarray(run.sweep_data(index, channel))


def read_summary(path: Path, timeout_s: float = 30.0) -> dict[str, Any]:
    """Summary of a run file, read by a child process; raises OSError with its message on failure."""
    done = subprocess.run([sys.executable, "-m", "rig.gui.run_reader", "summary", str(path)], capture_output=True,
                          text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise OSError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "reader failed")
    return json.loads(done.stdout)


def read_sweep(path: Path, index: int, channel: str, scratch: Path, timeout_s: float = 30.0) -> np.ndarray:
    """One sweep of one channel, read by a child process through a scratch .npy file."""
    done = subprocess.run([sys.executable, "-m", "rig.gui.run_reader", "sweep", str(path), str(index), channel,
                           str(scratch)], capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise OSError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "reader failed")
    return np.load(scratch)


def main(argv: list[str]) -> int:
    """Child-process entry point."""
    if argv[:1] == ["summary"] and len(argv) == 2:
        print(json.dumps(summary(Path(argv[1])), default=str))
        return 0
    if argv[:1] == ["sweep"] and len(argv) == 5:
        np.save(argv[4], sweep(Path(argv[1]), int(argv[2]), argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
