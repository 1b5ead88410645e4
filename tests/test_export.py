"""`rig export nwb`, `rig table`, `rig report` on real runs of the simulated rig: NWB read back with pynwb and checked
by nwbinspector, raw samples and estimates compared with the run file; bad input refused with nothing written."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import FRAP, PROFILE, ROOT
from rig.analysis.line_scan import fold_lines
from rig.api import run_protocol
from rig.cli import main
from rig.storage.reader import RunFile

NA_CA = ROOT / "protocols" / "na_ca_imaging.yaml"
NA_CA_PROFILE = ROOT / "hardware_profiles" / "simulated_na_ca.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A short FRAP run (line scans, VC) and a short Na/Ca run (camera, LEDs, stimulator, CC)."""
    out = tmp_path_factory.mktemp("runs")
    data = yaml.safe_load(PROFILE.read_text())
    data["site"] = {"lab": "Spine lab", "institution": "Simulated University", "experimenters": ["Roe, Richard"]}
    profile = out / "rig.yaml"
    profile.write_text(yaml.safe_dump(data))
    return {"frap": run_protocol(FRAP, profile, sweeps=2, out_dir=out).path,
            "na_ca": run_protocol(NA_CA, NA_CA_PROFILE, sweeps=1, out_dir=out).path}


def _export(run: Path, out: Path, *extra: str) -> int:
    return main(["export", "nwb", str(run), "-o", str(out), *extra])


@pytest.mark.parametrize("kind", ["frap", "na_ca"])
def test_nwb_passes_the_inspector_and_holds_the_run(runs, tmp_path, kind) -> None:
    """No CRITICAL or BEST_PRACTICE_VIOLATION; every sweep's samples, lines, frames and estimates as in the run."""
    from nwbinspector import Importance, inspect_nwbfile  # here: ~2 s of imports every xdist worker would pay
    from pynwb import NWBHDF5IO
    run_path, nwb_path = runs[kind], tmp_path / f"{kind}.nwb"
    assert _export(run_path, nwb_path, "--experimenter", "Doe, Jane", "--lab", "Spine lab") == 0
    severe = [m for m in inspect_nwbfile(nwbfile_path=str(nwb_path))
              if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION, Importance.ERROR)]
    assert severe == [], [f"{m.check_function_name}: {m.message}" for m in severe]
    with RunFile(run_path) as run, NWBHDF5IO(str(nwb_path), "r") as nwb_io:
        nwb = nwb_io.read()
        assert nwb.session_start_time.tzinfo is not None and nwb.experimenter == ("Doe, Jane",)  # CLI wins
        if kind == "frap":  # the rig profile's site fills what the CLI did not give
            assert (nwb.lab, nwb.institution) == ("Spine lab", "Simulated University")
        assert nwb.subject.species == "Rattus norvegicus"  # the simulated specimen's modelled preparation
        plans = run.plans()
        for sweep in range(run.n_sweeps):
            response = nwb.acquisition[f"response_sweep{sweep:04d}"]
            stimulus = nwb.stimulus[f"stimulus_sweep{sweep:04d}"]
            np.testing.assert_array_equal(response.data[:], run.sweep_data(sweep, "in:amplifier.primary"))
            np.testing.assert_array_equal(stimulus.data[:], run.sweep_data(sweep, "out:amplifier.command"))
            vc = plans[sweep]["amplifier_mode"] == "VC"
            assert type(response).__name__ == ("VoltageClampSeries" if vc else "CurrentClampSeries")
            assert response.conversion == (1e-12 if vc else 1e-3) and response.rate == plans[sweep]["sample_rate_hz"]
            if kind == "frap":
                ls = plans[sweep]["line_scan"]
                expected = fold_lines(run.sweep_data(sweep, "in:scanner.red"), ls["first_sample"],
                                      ls["samples_per_line"], ls["pixels_per_line"], ls["n_slots"])
                np.testing.assert_array_equal(nwb.acquisition[f"linescan_red_sweep{sweep:04d}"].data[:], expected)
                assert nwb.stimulus[f"laser_power_sweep{sweep:04d}"].data[:].max() == 1.0  # the bleach pulse
            else:
                frames = nwb.acquisition[f"camera_sweep{sweep:04d}"]
                np.testing.assert_array_equal(frames.data[:], run.sweep_data(sweep, "in:camera.frames"))
                leds = nwb.acquisition[f"camera_led_sweep{sweep:04d}"].data[:]
                assert set(np.unique(leds)) <= {1, 2} and len(leds) == frames.data.shape[0]
        estimates = nwb.processing["spine_analysis"]["estimates"].to_dataframe()
        stored = run.estimates()
        assert list(estimates["estimate"]) == [e.name for e in stored]
        np.testing.assert_allclose(estimates["value"].to_numpy(), [e.value for e in stored])
        truth = nwb.processing["spine_analysis"]["simulated_truth"].to_dataframe()
        assert len(truth) == len(run.truth_rows())
        assert len(nwb.get_icephys_simultaneous_recordings()) == run.n_sweeps
        conditions = nwb.get_icephys_experimental_conditions().to_dataframe()
        assert set(conditions["condition"]) == {p.meta.condition or "control" for p in run.sweep_plans()}
        if kind == "frap":
            bleach = nwb.intervals["bleach_epochs"].to_dataframe()
            assert list(bleach["sweep"]) == list(range(run.n_sweeps))
        else:
            pulses = nwb.intervals["stimulus_pulses"].to_dataframe()
            stimulated = sum(1 for p in plans if any(k.startswith("stimulus") for k in p["events_ms"]))
            assert len(pulses) == 2 * stimulated  # paired pulses on every stimulated sweep


def test_export_refuses_bad_input_and_writes_nothing(runs, tmp_path, capsys) -> None:
    """A missing file, a wrong suffix, a bad age, an existing output: one line each, exit 2, no file written."""
    assert _export(tmp_path / "none.h5", tmp_path / "a.txt", "--age", "21 days") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "no such run file" in err[0] and ".nwb" in err[1] and "--age" in err[2]
    assert not (tmp_path / "a.txt").exists()
    foreign = tmp_path / "foreign.h5"
    foreign.write_bytes(b"not hdf5")
    assert _export(foreign, tmp_path / "f.nwb") == 2 and not (tmp_path / "f.nwb").exists()
    existing = tmp_path / "exists.nwb"
    existing.write_text("keep me")
    assert _export(runs["frap"], existing) == 2 and existing.read_text() == "keep me"


def test_table_has_a_row_per_estimate_with_truth(runs, tmp_path) -> None:
    """`rig table` over two runs: each final estimate of each step once, with its value, interval and truth."""
    out = tmp_path / "t.csv"
    assert main(["table", str(runs["frap"]), str(runs["na_ca"]), "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    for kind in ("frap", "na_ca"):
        with RunFile(runs[kind]) as run:
            final = {(e.step, e.name): e for e in run.estimates()}
        mine = [r for r in rows if r["file"] == str(runs[kind])]
        assert {(r["step"], r["estimate"]) for r in mine} == set(final)
        for r in mine:
            assert float(r["value"]) == pytest.approx(final[(r["step"], r["estimate"])].value)
            assert r["truth"] != ""  # simulated: every published estimate has its truth
    assert main(["table", str(runs["frap"]), "-o", str(out)]) == 2  # never overwrites


def test_report_is_one_self_contained_html_file(runs, tmp_path) -> None:
    """The report embeds its figures (no external files) and lists every final estimate with its truth."""
    for kind, figures in (("frap", ("Estimates over sweeps", "FRAP recoveries", "Kymographs", "Light dose")),
                          ("na_ca", ("Estimates over sweeps", "Camera: ROIs and dF/F per LED", "Light dose"))):
        out = tmp_path / f"{kind}.html"
        assert main(["report", str(runs[kind]), "-o", str(out)]) == 0
        text = out.read_text()
        for title in figures:
            assert f"<h2>{title}</h2>" in text
        assert text.count("src='data:image/png;base64,") == len(figures) and "src='http" not in text
        with RunFile(runs[kind]) as run:
            for e in run.estimates():
                assert f"<td>{e.name}</td>" in text


def test_cli_help_lists_the_export_commands() -> None:
    """The console script knows export, table and report."""
    proc = subprocess.run([sys.executable, "-m", "rig", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and all(c in proc.stdout for c in ("export", "table", "report"))


def test_reanalysis_replays_runs_through_the_online_code(runs, tmp_path, capsys) -> None:
    """`rig reanalyze` on one dask worker: the same estimates as online (bit for bit), a sidecar per file, a foreign
    file listed with its reason (exit 1) without stopping the others, the run files untouched."""
    import hashlib
    import json
    import shutil

    archive = tmp_path / "archive"
    (archive / "day2").mkdir(parents=True)
    copies = [Path(shutil.copy(runs["frap"], archive)), Path(shutil.copy(runs["na_ca"], archive / "day2"))]
    (archive / "broken.h5").write_bytes(b"not a run")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in copies}
    out = tmp_path / "results.csv"
    assert main(["reanalyze", str(archive), "--workers", "1", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "failed: " in err and "broken.h5" in err and "2 of 3 files re-analysed" in err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    for copy in copies:
        mine = [r for r in rows if r["file"] == str(copy)]
        with RunFile(copy) as run:
            assert {r["name"] for r in mine} == {e.name for e in run.estimates()}
        assert all(r["identical_to_online"] == "True" for r in mine)
        sidecar = json.loads(copy.with_name(copy.stem + ".reanalysis.json").read_text())
        assert sidecar["error"] == "" and len(sidecar["estimates"]) == len(mine)
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == before[copy]
    assert main(["reanalyze", str(tmp_path / "nowhere")]) == 2
