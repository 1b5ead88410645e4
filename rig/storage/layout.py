"""The run file layout: group names and table row types shared by writer and reader."""

from __future__ import annotations

import numpy as np

FORMAT = "spinerig-run"
FORMAT_VERSION = 1

SWEEP_ROW = np.dtype([("sweep", "i4"), ("step_index", "i4"), ("sweep_in_step", "i4"), ("n_samples", "i8"),
                      ("sample_rate_hz", "f8"), ("started_unix", "f8"), ("ended_unix", "f8"), ("completed", "i1")])
SPAN_ROW = np.dtype([("sweep", "i4"), ("start", "i8"), ("stop", "i8")])
FEATURE_ROW = np.dtype([("sweep", "i4"), ("step", "S64"), ("name", "S64"), ("value", "f8"), ("low", "f8"),
                        ("high", "f8"), ("unit", "S16")])
ESTIMATE_ROW = np.dtype([("sweep", "i4"), ("step", "S64"), ("name", "S64"), ("value", "f8"), ("low", "f8"),
                         ("high", "f8"), ("unit", "S16"), ("basis", "S256"), ("bound", "S8"),
                         ("trend", "S256")])  # bound and trend since format 1.1; older files lack them
TRUTH_ROW = np.dtype([("sweep", "i4"), ("name", "S64"), ("value", "f8")])
NOTICE_ROW = np.dtype([("sweep", "i4"), ("level", "S16"), ("source", "S64"), ("message", "S512")])

PLAN_PART_BYTES = 16384
# A sweep's plan JSON in one or more rows (in order; their bytes join to it). Files before plans were stored
# in full have one row per sweep holding the plan's summary, cut at 16 kB.
SWEEP_PLAN_ROW = np.dtype([("sweep", "i4"), ("plan_json", f"S{PLAN_PART_BYTES}")])
RUN_END = "run_end_json"
RUN_END_BYTES = 65536

TABLES = {"sweeps": SWEEP_ROW, "features": FEATURE_ROW, "estimates": ESTIMATE_ROW, "truth": TRUTH_ROW,
          "notices": NOTICE_ROW, "sweep_plans": SWEEP_PLAN_ROW}


def channel_group(channel: str) -> str:
    """HDF5 path of a channel's group ('in:amplifier.primary' -> 'channels/in/amplifier.primary')."""
    direction, _, name = channel.partition(":")
    return f"channels/{direction}/{name}"
