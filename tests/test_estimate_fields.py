"""Estimates carry a one-sided bound and a trend sentence; files store them, `rig info` shows every step's values."""

from __future__ import annotations

import json
import math
import time

import h5py
import numpy as np
import pytest

from conftest import FRAP, PROFILE
from rig.api import prepare_run, software_versions
from rig.cli import main
from rig.datatypes.records import Estimate, RunEnded, RunStarted, SweepEnded, SweepStarted
from rig.storage.layout import ESTIMATE_ROW
from rig.storage.reader import RunFile
from rig.storage.writer import Hdf5RunWriter


def _write(path, estimates):
    prepared = prepare_run(FRAP, PROFILE, ["recovery_ms=200", "interval_s=0.1"], sweeps=1)
    plans = tuple(prepared.compiled.plans)
    writer = Hdf5RunWriter(path)
    writer.handle(RunStarted("FRAP", str(FRAP), "", str(PROFILE), "", software_versions(), plans, None, time.time(),
                             str(path)))
    writer.handle(SweepStarted(0, plans[0], time.time()))
    writer.handle(SweepEnded(0, 0, True, time.time()))
    for e in estimates:
        writer.handle(e)
    writer.handle(RunEnded("completed", "", time.time()))
    writer.close()


ESTIMATES = [
    Estimate(0, "frap before", "tau_frap_ms", 10.0, 8.0, 12.0, "ms"),
    Estimate(0, "frap before", "neck_resistance_MOhm", 200.0, 170.0, math.nan, "MOhm", bound="lower"),
    Estimate(0, "frap after", "tau_frap_ms", 31.0, 25.0, 37.0, "ms", trend="tau rose x3.1 over sweeps 1-8"),
]


def test_bound_must_be_a_known_kind():
    with pytest.raises(ValueError, match="bound"):
        Estimate(0, "s", "x", 1.0, 0.0, 2.0, "ms", bound="both")


def test_bound_and_trend_round_trip_and_every_step_is_kept(tmp_path):
    path = tmp_path / "run.h5"
    _write(path, ESTIMATES)
    with RunFile(path) as f:
        stored = f.estimates()
        summary = f.summary()
    assert [(e.bound, e.trend) for e in stored] == [("", ""), ("lower", ""), ("", "tau rose x3.1 over sweeps 1-8")]
    assert math.isnan(stored[1].high)
    assert summary["estimates"]["tau_frap_ms"]["value"] == 31.0  # the last value per name
    by_step = summary["estimates_by_step"]
    assert by_step["frap before"]["tau_frap_ms"]["value"] == 10.0
    assert by_step["frap after"]["tau_frap_ms"]["trend"] == "tau rose x3.1 over sweeps 1-8"


def test_info_json_is_strict_json_with_null_for_the_open_side(tmp_path, capsys):
    path = tmp_path / "run.h5"
    _write(path, ESTIMATES)
    assert main(["info", "--json", str(path)]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    neck = summary["estimates_by_step"]["frap before"]["neck_resistance_MOhm"]
    assert neck["bound"] == "lower" and neck["low"] == 170.0 and neck["high"] is None
    assert "truth" in summary and "estimates" in summary


def test_info_table_shows_each_step_the_bound_and_the_trend(tmp_path, capsys):
    path = tmp_path / "run.h5"
    _write(path, ESTIMATES)
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "frap before" in text and "frap after" in text
    assert "≥ 170" in text
    assert "tau rose x3.1 over sweeps 1-8" in text
    assert "10" in text and "31" in text  # both steps' tau, not only the last


def test_files_without_bound_and_trend_columns_still_read(tmp_path, capsys):
    path = tmp_path / "run.h5"
    _write(path, ESTIMATES[:1])
    old_dtype = np.dtype([(n, ESTIMATE_ROW.fields[n][0]) for n in ESTIMATE_ROW.names if n not in ("bound", "trend")])
    with h5py.File(path, "a") as f:
        rows = f["estimates"][:]
        del f["estimates"]
        old = np.array([tuple(r[n] for n in old_dtype.names) for r in rows], dtype=old_dtype)
        f.create_dataset("estimates", data=old, maxshape=(None,))
    with RunFile(path) as f:
        (e,) = f.estimates()
    assert (e.name, e.bound, e.trend) == ("tau_frap_ms", "", "")
    assert main(["info", str(path)]) == 0
    assert "[8, 12]" in capsys.readouterr().out
