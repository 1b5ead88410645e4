"""Consumers that fail are reported without losing data; the run file holds everything a run needs."""

from __future__ import annotations

import json

import numpy as np
import yaml

from conftest import FRAP, PROFILE, assert_rig_safe
from rig.api import execute, prepare_run
from rig.datatypes.records import Record, SweepEnded
from rig.engine.stream import Stream
from rig.storage.reader import RunFile


def _prepared(sweeps=3):
    return prepare_run(FRAP, PROFILE, ["recovery_ms=200", "interval_s=0.1"], sweeps=sweeps)


class _Exploding:
    """A display consumer that raises on the second completed sweep."""

    def handle(self, record: Record) -> None:
        if isinstance(record, SweepEnded) and record.sweep_index == 1:
            raise RuntimeError("display crashed")


def test_failing_consumer_is_reported_and_storage_is_complete(tmp_path, journal):
    result = execute(_prepared(), tmp_path, display=_Exploding().handle)
    assert result.outcome.status == "completed"
    assert any("display crashed" in f for f in result.consumer_failures)
    with RunFile(result.path) as f:
        assert f.n_sweeps == 3
        assert any("display crashed" in n["message"] for n in f.notices())
        assert len([e for e in f.estimates() if e.name == "tau_frap_ms"]) == 3
    assert_rig_safe(journal)


def test_run_file_holds_protocol_profile_plans_versions_truth_features(tmp_path):
    result = execute(_prepared(sweeps=2), tmp_path)
    with RunFile(result.path) as f:
        assert yaml.safe_load(f.text("protocol_yaml"))["name"] == "FRAP"
        assert "--set recovery_ms=200" in f.text("protocol_yaml")
        assert yaml.safe_load(f.text("profile_yaml"))["backend"] == "simulated"
        plans = f.plans()
        assert len(plans) == 2 and plans[0]["kind"] == "frap" and plans[0]["line_scan"]["pixels_per_line"] == 80
        versions = json.loads(f.attrs["versions_json"])
        assert versions["spinerig"] and versions["hdf5"]
        assert f.specimen()["spines"][0]["name"] == "fast"
        names = {name for _, name, _ in f.truth_rows()}
        assert {"tau_frap_ms", "neck_resistance_MOhm"} <= names
        assert {"tau_ms", "fraction_bleached", "imaging_bleach_per_s"} <= {x["name"] for x in f.features()}
        # the commanded waveforms are stored next to the recorded inputs, sample for sample
        power = f.sweep_data(1, "out:laser.power")
        red = f.sweep_data(1, "in:scanner.red")
        assert power.shape == red.shape
        assert np.count_nonzero(power == 1.0) == round(0.5e-3 * plans[1]["sample_rate_hz"])  # a 0.5 ms bleach
        assert f.status == "completed"
        assert all(entry["safe"] for entry in json.loads(f.attrs["safety_json"]))


def test_stream_drops_for_display_but_not_for_storage():
    stream = Stream()
    got_all, got_display = [], []
    stream.attach("store", type("C", (), {"handle": lambda self, r: got_all.append(r)})())
    import threading

    gate = threading.Event()

    def slow(record):
        gate.wait(5)
        got_display.append(record)

    stream.attach("display", type("D", (), {"handle": lambda self, r: slow(r)})(), lossless=False)
    for i in range(2000):
        stream.publish(i)
    gate.set()
    stream.close()
    assert got_all == list(range(2000))
    assert 0 < len(got_display) < 2000 and got_display[-1] == 1999


def _blocks(rng, item_shape, sizes):
    return [rng.integers(0, 60000, (k, *item_shape)).astype(np.uint16) for k in sizes]


def test_whole_chunk_appends_give_back_every_row_at_every_commit(tmp_path):
    """Blocks smaller, equal and larger than a chunk, commits mid-chunk and on chunk edges, 1-d and frames."""
    import h5py

    from rig.storage.writer import ChunkAppender

    rng = np.random.default_rng(3)
    sizes = [0, 3, 7, 1, 8, 13, 2, 5, 16, 40, 1]
    commits = {1, 4, 5, 8, 10}  # after these blocks
    for item_shape in ((), (3, 2)):
        with h5py.File(tmp_path / f"a{len(item_shape)}.h5", "w", libver="latest") as f:
            ds = f.create_dataset("x", (0, *item_shape), "u2", maxshape=(None, *item_shape), chunks=(8, *item_shape))
            f.swmr_mode = True
            appender = ChunkAppender(ds)
            added = []
            for i, block in enumerate(_blocks(rng, item_shape, sizes)):
                appender.add(block)
                added.append(block)
                if i in commits:
                    stop = appender.commit()
                    f.flush()
                    expected = np.concatenate(added)
                    assert stop == expected.shape[0] == ds.shape[0]
                    np.testing.assert_array_equal(ds[:], expected)
        with h5py.File(tmp_path / f"a{len(item_shape)}.h5", "r") as f:  # a plain reader sees the committed rows
            np.testing.assert_array_equal(f["x"][:], np.concatenate(added[:11]))


def test_chunk_appender_refuses_rows_of_another_shape_and_filtered_datasets(tmp_path):
    import h5py
    import pytest

    from rig.storage.writer import ChunkAppender

    with h5py.File(tmp_path / "b.h5", "w") as f:
        appender = ChunkAppender(f.create_dataset("x", (0, 4), "f4", maxshape=(None, 4), chunks=(8, 4)))
        with pytest.raises(ValueError, match="shape"):
            appender.add(np.zeros((2, 5), np.float32))
        with pytest.raises(ValueError, match="without filters"):
            ChunkAppender(f.create_dataset("y", (0,), "f4", maxshape=(None,), chunks=(8,), compression="gzip"))


def test_table_rows_round_trip_with_the_table_type(tmp_path):
    import h5py

    from rig.storage.layout import ESTIMATE_ROW
    from rig.storage.writer import TableAppender

    rows = [(k, b"step", f"name{k}".encode(), k * 0.5, -1.0, float("inf"), b"ms", b"basis", b"", b"t") for k in range(5)]
    with h5py.File(tmp_path / "t.h5", "w", libver="latest") as f:
        table = TableAppender(f.create_dataset("t", (0,), ESTIMATE_ROW, maxshape=(None,), chunks=(4,)))
        table.append(rows[:1])
        table.append([])
        table.append(rows[1:])
    with h5py.File(tmp_path / "t.h5", "r") as f:
        np.testing.assert_array_equal(f["t"][:], np.array(rows, dtype=ESTIMATE_ROW))
