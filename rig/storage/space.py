"""How many bytes a run file will need, estimated from the compiled plans before anything moves."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from rig.datatypes.sweep_plan import SweepPlan
from rig.storage.layout import SWEEP_PLAN_ROW, TABLES

PER_SWEEP_OVERHEAD_BYTES = SWEEP_PLAN_ROW.itemsize + sum(t.itemsize for t in TABLES.values()) * 8  # rows of tables
FILE_OVERHEAD_BYTES = 4 * 1024 * 1024  # header, texts, plans_json, B-trees, run-end record
MARGIN = 1.10  # chunk padding and metadata grow with the data


def sweep_bytes(plan: SweepPlan) -> int:
    """Bytes one sweep of this plan stores: every recorded channel's samples and frames."""
    total = 0
    cam = plan.camera
    camera = {f"in:{n}" for n in cam.channels} if cam is not None else set()
    for channel, spec in plan.recorded_channels().items():
        n_items = cam.n_frames if cam is not None and channel in camera else plan.n_samples
        total += n_items * spec.item_bytes
    return total + PER_SWEEP_OVERHEAD_BYTES


def estimate_run_bytes(plans: Sequence[SweepPlan], planned_sweeps: int | None = None) -> int:
    """Bytes the run file needs: every plan's sweep, plus the largest one for each planned sweep beyond the plans."""
    sizes = [sweep_bytes(p) for p in plans]
    extra = max(0, (planned_sweeps or 0) - len(sizes)) * (max(sizes) if sizes else 0)
    return int((sum(sizes) + extra) * MARGIN) + FILE_OVERHEAD_BYTES


def free_bytes(folder: Path) -> int:
    """Bytes free for this user on the file system of a folder."""
    return shutil.disk_usage(folder).free
