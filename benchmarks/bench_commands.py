"""Whole `rig` commands timed against `python -c "import numpy, scipy, h5py"` in the same run (issue 13 item 2).

Each round runs the baseline and every command once, alternately, as fresh processes: wall time and CPU time
(user + system of the child). Bytecode is cached in a temporary folder after a warm-up round (as an installed
copy has its .pyc files), whatever PYTHONDONTWRITEBYTECODE says. `-X importtime` of one more call lists the heavy
packages each command imports: `rig validate` should import none of the run machinery.

    python benchmarks/bench_commands.py --rounds 5
    python benchmarks/bench_commands.py --rounds 3 --before main   # the same commands on main's code, alternately
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import BaselineTree  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = ["-c", "import numpy, scipy, h5py"]
HEAVY = ("scipy.stats", "scipy.optimize", "scipy.signal", "h5py", "rich", "pymmcore_plus", "PyQt5",
         "simulated_devices", "rig.api", "rig.engine.runner", "rig.storage")


@dataclass(frozen=True)
class Command:
    """One command line of `python`, by a short name."""

    name: str
    args: list[str]


def commands(out_dir: Path) -> list[Command]:
    """The baseline, `rig validate` (one profile + one protocol) and the README FRAP run."""
    return [Command("import numpy, scipy, h5py", BASE),
            Command("rig validate simulated.yaml frap.yaml",
                    ["-m", "rig", "validate", "hardware_profiles/simulated.yaml", "protocols/frap.yaml"]),
            Command("rig run protocols/frap.yaml", ["-m", "rig", "run", "protocols/frap.yaml", "--out", str(out_dir)])]


def timed(args: list[str], tree: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one `python args` run in `tree`; raises if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {err.read().decode().strip()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime


def heavy_imports(args: list[str], tree: Path, env: dict[str, str]) -> list[str]:
    """The HEAVY packages a command imports (from `python -X importtime`)."""
    out = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=tree, env=env, capture_output=True,
                         text=True, check=True)
    found = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    # a package or any of its submodules (a package imported through scipy's lazy __getattr__ has no line of its own)
    return [name for name in HEAVY if any(m == name or m.startswith(name + ".") for m in found)]


def environment(tree: Path, cache: Path) -> dict[str, str]:
    """The children's environment: this tree's code, bytecode cached in `cache`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(cache), "OPENBLAS_NUM_THREADS": "1"}


def measure(trees: dict[str, Path], rounds: int) -> None:
    """Print, per tree and command, median and best wall and CPU and their ratio to the baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as tmp:
        cmds = commands(Path(tmp) / "runs")
        envs = {label: environment(tree, Path(tmp) / f"pycache-{k}") for k, (label, tree) in enumerate(trees.items())}
        for label, tree in trees.items():  # warm-up: bytecode written, files in the page cache
            for cmd in cmds:
                timed(cmd.args, tree, envs[label])
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(rounds):
            for label, tree in trees.items():
                for cmd in cmds:
                    times.setdefault((label, cmd.name), []).append(timed(cmd.args, tree, envs[label]))
        for label, tree in trees.items():
            base = times[(label, cmds[0].name)]
            base_wall = statistics.median(w for w, _ in base)
            base_cpu = statistics.median(c for _, c in base)
            print(f"\n{label} ({rounds} rounds; median [best])")
            for cmd in cmds:
                rows = times[(label, cmd.name)]
                wall = statistics.median(w for w, _ in rows)
                cpu = statistics.median(c for _, c in rows)
                heavy = ", ".join(heavy_imports(cmd.args, tree, envs[label])) or "-"
                print(f"  {cmd.name:40s} wall {wall:6.2f} s [{min(w for w, _ in rows):5.2f}]  "
                      f"CPU {cpu:6.2f} s [{min(c for _, c in rows):5.2f}]  "
                      f"/ baseline: wall {wall / base_wall:5.2f}  CPU {cpu / base_cpu:5.2f}  imports: {heavy}")
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", default=None, help="also measure this commit's code, alternately (e.g. main)")
    opts = parser.parse_args()
    if opts.before is None:
        measure({"this tree": ROOT}, opts.rounds)
        return
    with BaselineTree(opts.before) as before:
        measure({"this tree": ROOT, f"before ({opts.before})": before.path}, opts.rounds)


if __name__ == "__main__":
    main()
