"""Python API for scripted runs: load a profile, run a protocol with overrides, get the estimates."""

from __future__ import annotations

import logging
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import h5py
import numpy as np
import pydantic
import scipy

import rig
from rig.config.problems import InvalidInput, Problem
from rig.datatypes.records import Estimate, Notice, Record, RunStarted
from rig.engine.online import OnlineModel
from rig.engine.rig import Rig, build_rig
from rig.engine.runner import Runner, RunOutcome, StopFlags
from rig.engine.stream import Stream
from rig.protocols.step_runs import build_step_run
from rig.run_input import PreparedRun, prepare_run
from rig.session.budget import RECORD_NAME, BudgetedProgram, RunBudget, SessionRecord
from rig.storage.space import estimate_run_bytes, free_bytes
from rig.storage.writer import Hdf5RunWriter, create_run_file

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(rig.__file__).resolve().parents[1]
DEFAULT_PROFILE = Path("hardware_profiles") / "simulated.yaml"


def default_profile_path() -> Path:
    """The simulated profile: ./hardware_profiles/simulated.yaml, else the one beside the package."""
    local = Path.cwd() / DEFAULT_PROFILE
    return local if local.exists() else PROJECT_ROOT / DEFAULT_PROFILE


def software_versions() -> dict[str, str]:
    """Versions of everything that shapes the data, stored with every run."""
    return {"spinerig": rig.__version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version,
            "pydantic": pydantic.__version__, "platform": platform.platform()}


@dataclass
class RunResult:
    """What a run produced: its file, how it ended, the final estimates and the notices."""

    path: Path
    outcome: RunOutcome
    estimates: dict[str, Estimate] = field(default_factory=dict)
    estimates_by_step: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    consumer_failures: list[str] = field(default_factory=list)
    storage_failed: bool = False


class _Collector:
    """Keeps the latest estimate per name and every notice, for the caller."""

    def __init__(self) -> None:
        self.estimates: dict[str, Estimate] = {}
        self.by_step: dict[str, dict[str, Estimate]] = {}
        self.notices: list[Notice] = []

    def handle(self, record: Record) -> None:
        if isinstance(record, Estimate):
            self.estimates[record.name] = record
            self.by_step.setdefault(record.step_name, {})[record.name] = record
        elif isinstance(record, Notice):
            self.notices.append(record)


def run_file_stem(protocol_name: str, started_unix: float | None = None) -> str:
    """The name of a new run file without suffix: '<local time>_<protocol slug>'."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", protocol_name).strip("-").lower() or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(started_unix))}_{slug}"


def run_file_path(out_dir: Path, protocol_name: str) -> Path:
    """The first free run file name under out_dir (informative only: `execute` creates files exclusively)."""
    stem = run_file_stem(protocol_name)
    path = out_dir / f"{stem}.h5"
    k = 1
    while path.exists():
        path = out_dir / f"{stem}_{k}.h5"
        k += 1
    return path


class RunInterrupted(Exception):
    """A stop was asked for (a signal) before the run began; nothing moved and no run file was kept."""


def check_output_room(out: Path, plans: Sequence, planned: int) -> None:
    """InvalidInput unless the output folder's file system has room for the whole run (estimated from the plans)."""
    need = estimate_run_bytes(plans, planned)
    try:
        free = free_bytes(out)
    except OSError as exc:
        raise InvalidInput([Problem("--out", str(out), f"cannot check free space ({exc.strerror})")]) from None
    if free < need:
        raise InvalidInput([Problem("--out", str(out), f"the run needs about {_mb(need)} and only {_mb(free)} are "
                                    "free; free some space or choose another folder")])


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def execute(prepared: PreparedRun, out_dir: Path | str = "runs", rig_: Rig | None = None,
            display: Callable[[Record], None] | None = None,
            on_runner: Callable[[Runner], None] | None = None, stop_flags: StopFlags | None = None) -> RunResult:
    """Run a prepared protocol on a rig (built from the profile if not given), writing one new HDF5 file.

    Before the rig is built (nothing moves, no light): the output folder must exist or be creatable,
    have room for the whole run (estimated from the plans) and accept a new file, which is created
    exclusively; otherwise InvalidInput. `stop_flags` (set by signal handlers) are honoured from the
    start: set before the run begins, they raise RunInterrupted and no file is kept.
    """
    flags = stop_flags if stop_flags is not None else StopFlags()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput([Problem("--out", str(out), f"cannot create the output folder ({exc.strerror})")]) from None
    if not out.is_dir():
        raise InvalidInput([Problem("--out", str(out), "is not a folder")])
    loaded = prepared.compiled.loaded
    steps = loaded.protocol.steps
    runs = [build_step_run(step, i, prepared.profile.profile) for i, step in enumerate(steps)]
    analyses = {i: run.analysis for i, run in enumerate(runs)}
    programs = [run.program for run in runs]
    check_output_room(out, prepared.compiled.plans, sum(p.planned_sweeps for p in programs))
    run_budget = _session_budget(prepared, out)
    if run_budget is not None:
        programs = [BudgetedProgram(p, run_budget) for p in programs]
    if flags.any:
        raise RunInterrupted("interrupted before the run started")
    try:
        path, h5 = create_run_file(out, run_file_stem(loaded.protocol.name))
    except OSError as exc:
        raise InvalidInput([Problem("--out", str(out), "cannot create a run file in this folder "
                                    f"({exc.strerror or exc})")]) from None
    writer = Hdf5RunWriter(path, file=h5)
    if run_budget is not None:
        run_budget.run_name = path.name
    try:
        if flags.any:
            raise RunInterrupted("interrupted before the run started")
        the_rig = rig_ if rig_ is not None else build_rig(prepared.profile)
    except BaseException:
        writer.discard()
        raise
    stream = Stream()
    stream.attach("storage", writer, critical=True)
    stream.attach("model", OnlineModel(stream, analyses.get))
    collector = _Collector()
    stream.attach("collector", collector)
    if display is not None:
        stream.attach("display", _CallbackConsumer(display), lossless=False)
    runner = Runner(the_rig, stream, drain_before_end={"model"}, flags=flags)
    runner.run_file = path
    if on_runner is not None:
        on_runner(runner)
    protocol_text = loaded.text + ("".join(f"\n# --set {o}" for o in loaded.overrides))
    header = RunStarted(loaded.protocol.name, str(loaded.path), protocol_text, str(prepared.profile.path),
                        prepared.profile.text, software_versions(), tuple(prepared.compiled.plans),
                        the_rig.truth.describe() if the_rig.truth is not None else None, time.time(), str(path))
    try:
        outcome = runner.run(header, programs)
    finally:
        stream.close()
    failures = [f"{f.consumer}: {f.message}" for f in stream.failures]
    return RunResult(path, outcome, collector.estimates, collector.by_step, collector.notices, failures,
                     writer.failed)


def _session_budget(prepared: PreparedRun, out: Path) -> RunBudget | None:
    """The run's view of the session's per-spine budgets (protocol's, else profile's), refusing a run predicted to
    exceed one when the budget says so; None without budgets."""
    protocol = prepared.compiled.loaded
    spec = protocol.protocol.budgets or prepared.profile.profile.budgets
    if spec is None:
        return None
    source = str(protocol.path) if protocol.protocol.budgets is not None else str(prepared.profile.path)
    try:
        record = SessionRecord(out, spec.spine_tolerance_um)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise InvalidInput([Problem(str(out / RECORD_NAME), "spines", f"unreadable session record ({exc}); move "
                                    "it away to start a new session")]) from None
    budget = RunBudget(record, spec, prepared.profile.profile, "")
    if spec.on_exceed == "refuse":
        problems = budget.predicted_problems(prepared.compiled.plans, prepared.compiled.step_planned_sweeps)
        if problems:
            raise InvalidInput([Problem(source, "budgets", f"{p} (session record {record.path}); refused before "
                                        "any light") for p in problems])
    return budget


class _CallbackConsumer:
    """Adapts a plain callable to the consumer interface."""

    def __init__(self, callback: Callable[[Record], None]):
        self._callback = callback

    def handle(self, record: Record) -> None:
        self._callback(record)


def run_protocol(protocol: Path | str, profile: Path | str | None = None, overrides: Sequence[str] = (),
                 sweeps: int | None = None, out_dir: Path | str = "runs") -> RunResult:
    """Validate, then run a protocol file on the rig of a profile (simulated by default)."""
    return execute(prepare_run(protocol, profile, overrides, sweeps), out_dir)
