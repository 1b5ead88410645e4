"""Run a benchmark's measurement on the code of an earlier commit, in a subprocess of the same benchmark run.

`git archive <commit> rig simulated_devices protocols hardware_profiles` is unpacked into a temporary folder and
the calling benchmark script is re-run with PYTHONPATH pointing there, so 'before' and 'after' are measured
side by side, alternately, on the same loaded machine. The script must accept `--only-now` (measure this code
once, print one JSON line) for this.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("rig", "simulated_devices", "protocols", "hardware_profiles")


class BaselineTree:
    """The code of one commit, unpacked for as long as the context is open."""

    def __init__(self, commit: str):
        self.commit = commit
        self._tmp = tempfile.TemporaryDirectory(prefix="spinerig-baseline-")
        self.path = Path(self._tmp.name)

    def __enter__(self) -> "BaselineTree":
        data = subprocess.run(["git", "-C", str(ROOT), "archive", self.commit, *TREES], check=True,
                              capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(data)) as tar:
            tar.extractall(self.path, filter="data")
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    def measure(self, script: Path, args: list[str]) -> dict[str, object]:
        """Run `script --only-now args` on this tree's code; the JSON line it prints."""
        return measure_in(self.path, script, args)


def measure_in(code_root: Path, script: Path, args: list[str]) -> dict[str, object]:
    """Run `script --only-now args` in a fresh process on the code under `code_root`; the JSON line it prints."""
    env = os.environ | {"PYTHONPATH": str(code_root), "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script), "--only-now", *args], check=True, capture_output=True,
                         text=True, env=env, cwd=code_root)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
