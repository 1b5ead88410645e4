"""Re-run today's online analysis over stored runs: each sweep's stored plan, outputs and inputs are replayed
through the same OnlineModel and step analyses a live run uses (no second implementation), on dask.distributed."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from rig.datatypes.plan_codec import is_full_plan
from rig.datatypes.records import DataChunk, Estimate, Notice, Record, SweepEnded, SweepStarted
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.online import OnlineModel
from rig.engine.stream import Stream
from rig.export.legacy_plans import meta_from_parameters
from rig.export.run_view import RunView, SweepView
from rig.protocols import STEP_KINDS
from rig.protocols.protocol_file import LoadedProtocol, protocol_from_data

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".reanalysis.json"
_OVERRIDE = "\n# --set "


@dataclass(frozen=True)
class ReanalysedEstimate:
    """A final estimate of the re-analysis beside the one the run published online (NaN when it had none)."""

    step: str
    name: str
    sweep: int
    value: float
    low: float
    high: float
    unit: str
    bound: str
    trend: str
    online_value: float
    online_low: float
    online_high: float

    @property
    def identical(self) -> bool:
        """True when value and interval equal the online ones (both NaN counts as equal)."""
        pairs = ((self.value, self.online_value), (self.low, self.online_low), (self.high, self.online_high))
        return all((math.isnan(a) and math.isnan(b)) or a == b for a, b in pairs)


@dataclass(frozen=True)
class FileResult:
    """The re-analysis of one run file: its estimates, or why it failed."""

    path: str
    estimates: tuple[ReanalysedEstimate, ...] = ()
    notices: tuple[str, ...] = ()
    error: str = ""


def stored_protocol(view: RunView) -> LoadedProtocol:
    """The protocol as the run used it: the stored text with its `--set` overrides re-applied."""
    text = view.run.text("protocol_yaml")
    original, *sets = text.split(_OVERRIDE)
    path = Path(str(view.attrs.get("protocol_path", view.path)))
    return protocol_from_data(path, original, yaml.safe_load(original), [s.strip() for s in sets])


def replayed_plan(view: RunView, sweep: SweepView, stored: dict[str, Any]) -> SweepPlan:
    """The plan a sweep executed: exactly as stored (rig.datatypes.plan_codec) or, in files written before plans
    were stored in full, rebuilt from its summary and its recorded output waveforms."""
    if is_full_plan(stored):
        return view.run.sweep_plan(sweep.index)
    outputs = {name: view.data(sweep, f"out:{name}") for name in sweep.outputs}
    mode = stored.get("amplifier_mode")
    interval = stored.get("interval_after_s")
    params = stored.get("parameters")
    meta = meta_from_parameters(sweep.kind, params if isinstance(params, dict) else {}, sweep.amplifier)
    return SweepPlan(
        step_index=sweep.step_index, step_name=sweep.step_name, kind=sweep.kind, sweep_in_step=sweep.sweep_in_step,
        sample_rate_hz=sweep.sample_rate_hz, n_samples=sweep.n_samples, outputs=outputs, inputs=sweep.inputs,
        amplifier=sweep.amplifier, amplifier_mode="VC" if mode == "VC" else "CC" if mode == "CC" else None,
        interval_after_s=float(interval) if isinstance(interval, (int, float)) else 0.0,
        line_scan=sweep.line_scan, events_ms=dict(sweep.events_ms), target_um=sweep.target_um,
        meta=meta, camera=sweep.camera)


class _Collector:
    """Keeps the last estimate of each (step, name) and every notice the replay publishes."""

    def __init__(self) -> None:
        self.estimates: dict[tuple[str, str], Estimate] = {}
        self.notices: list[Notice] = []

    def handle(self, record: Record) -> None:
        if isinstance(record, Estimate):
            self.estimates[(record.step_name, record.name)] = record
        elif isinstance(record, Notice):
            self.notices.append(record)


def replay(view: RunView) -> tuple[dict[int, Any], _Collector]:
    """Every stored sweep replayed through today's step analyses (the OnlineModel's path); the analyses after the
    last sweep (their internal state, e.g. fCaT templates) and what they published."""
    steps = stored_protocol(view).protocol.steps
    analyses = {i: STEP_KINDS[step.kind].analysis(step) for i, step in enumerate(steps)}
    stream = Stream()
    collector = _Collector()
    stream.attach("model", OnlineModel(stream, analyses.get))
    stream.attach("collector", collector)
    try:
        stored_plans = dict(enumerate(view.run.plans()))  # by sweep index; view.sweeps are the completed ones
        for sweep in view.sweeps:
            plan = replayed_plan(view, sweep, stored_plans[sweep.index])
            stream.publish(SweepStarted(sweep.index, plan, 0.0))
            for name in (*plan.inputs, *_camera_channels(plan)):
                if view.has(sweep, f"in:{name}"):
                    stream.publish(DataChunk(sweep.index, f"in:{name}", 0, view.data(sweep, f"in:{name}")))
            stream.publish(SweepEnded(sweep.index, sweep.n_samples, True, 0.0))
        stream.drain({"model"})
        stream.drain({"collector"})
    finally:
        stream.close()
    return analyses, collector


def reanalyse_file(path: str) -> FileResult:
    """Replay one run file through today's online analysis (a top-level function, so dask can ship it)."""
    try:
        with RunView(Path(path)) as view:
            _, collector = replay(view)
            online = {(e.step, e.name): e for e in view.final_estimates()}
            rows = []
            for (step, name), e in collector.estimates.items():
                o = online.get((step, name))
                rows.append(ReanalysedEstimate(
                    step, name, e.sweep_index, e.value, e.low, e.high, e.unit, e.bound, e.trend,
                    o.value if o else math.nan, o.low if o else math.nan, o.high if o else math.nan))
            return FileResult(path, tuple(rows), tuple(f"{n.level}: {n.message}" for n in collector.notices))
    except Exception as exc:  # noqa: BLE001 -- one bad file is reported and must not stop the archive
        log.debug("re-analysis of %s failed:\n%s", path, traceback.format_exc())
        return FileResult(path, error=f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _camera_channels(plan: SweepPlan) -> list[str]:
    return [] if plan.camera is None else list(plan.camera.channels)


def write_sidecar(result: FileResult) -> Path:
    """Write `RUN.reanalysis.json` beside the run (atomically; the run file itself is never opened for writing)."""
    out = Path(result.path).with_name(Path(result.path).stem + SIDECAR_SUFFIX)
    payload = {"file": result.path, "error": result.error, "notices": list(result.notices),
               "estimates": [asdict(e) | {"identical_to_online": e.identical} for e in result.estimates]}
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1, allow_nan=True)
    os.replace(tmp, out)
    return out


def run_files_in(archive: Path) -> list[Path]:
    """Every spinerig run file under a folder (recursively), sorted."""
    return sorted(p for p in archive.rglob("*.h5") if p.is_file())


def reanalyse_archive(paths: Sequence[Path], workers: int = 2, scheduler: str | None = None,
                      on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Re-analyse run files on a dask.distributed cluster (a LocalCluster of `workers` processes, or a scheduler)."""
    from dask.distributed import Client, LocalCluster, as_completed

    for name in ("distributed", "tornado", "bokeh"):  # the cluster's start/stop chatter is not the user's business
        logging.getLogger(name).setLevel(logging.ERROR)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"dashboard": False}, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = client.map(reanalyse_file, [str(p) for p in paths], pure=False)
        results = []
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_result is not None:
                on_result(result)
        return sorted(results, key=lambda r: r.path)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def agreement(results: Iterable[FileResult]) -> tuple[int, int]:
    """(estimates identical to the online ones, estimates compared) over the results."""
    compared = [e for r in results for e in r.estimates if not math.isnan(e.online_value)]
    return sum(e.identical for e in compared), len(compared)


def as_rows(results: Iterable[FileResult]) -> list[dict[str, object]]:
    """One row per file and estimate (failed files: one row with the reason)."""
    rows: list[dict[str, object]] = []
    for r in results:
        if r.error:
            rows.append({"file": r.path, "error": r.error})
        for e in r.estimates:
            rows.append({"file": r.path, **asdict(e), "identical_to_online": e.identical, "error": ""})
    return rows

