"""Export a run file to NWB 2 (pynwb): icephys sweeps in the icephys tables, line scans, camera frames, stimuli,
intervals, and the online analysis (ROIs, per-sweep features, estimates, simulated truth) in a processing module."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from hdmf.backends.hdf5.h5_utils import H5DataIO
from hdmf.common import DynamicTable, VectorData
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.icephys import (
    CurrentClampSeries,
    CurrentClampStimulusSeries,
    IntracellularElectrode,
    VoltageClampSeries,
    VoltageClampStimulusSeries,
)
from pynwb.ophys import ImagingPlane, OnePhotonSeries, OpticalChannel

from rig.analysis.line_scan import fold_lines, line_times_ms
from rig.datatypes.sweep_plan import rising_edges
from rig.export.run_view import RunView, SweepView

log = logging.getLogger(__name__)

# Scale of our stored units to the SI unit NWB fixes for each icephys series.
_TO_SI = {"mV": 1e-3, "pA": 1e-12}
_COMPRESS = {"compression": "gzip", "compression_opts": 4}


@dataclass(frozen=True)
class SessionMetadata:
    """Who and what the session was: from the CLI options, else the run's own records."""

    subject_id: str | None = None
    species: str | None = None
    sex: str | None = None
    age: str | None = None  # ISO 8601 duration, e.g. P21D
    experimenter: tuple[str, ...] = ()
    lab: str | None = None
    institution: str | None = None
    session_description: str | None = None
    experiment_description: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)
    subject_description: str | None = None

    def filled_by(self, given: "SessionMetadata") -> "SessionMetadata":
        """These values where `given` has none (for the subject fields)."""
        return replace(given, **{k: getattr(self, k) for k in ("subject_id", "species", "sex", "age",
                                                                "subject_description")
                                 if getattr(given, k) is None})

    def missing(self) -> list[str]:
        """The CLI options of fields neither given nor recorded (named in one warning)."""
        options = (("subject_id", "--subject-id"), ("species", "--species"), ("sex", "--sex"), ("age", "--age"),
                   ("experimenter", "--experimenter"), ("lab", "--lab"), ("institution", "--institution"))
        return [opt for attr, opt in options if getattr(self, attr) in (None, ())]


# The simulated specimen models CA1 / layer 5 pyramidal neurons in acute slices of juvenile rats (SCIENCE.md); these
# are the modelled preparation's values, not an animal's (NWB and DANDI require a subject with species and age).
SIMULATED_SUBJECT = SessionMetadata(
    subject_id="simulated-specimen", species="Rattus norvegicus", sex="U", age="P14D/P28D",
    subject_description="virtual specimen of the spinerig simulated rig (simulated_devices): a model of a pyramidal "
                        "neuron in an acute slice of a juvenile rat; species and age are the modelled preparation's")


@dataclass
class _Icephys:
    """Rows of the icephys tables, collected while the sweeps are written."""

    simultaneous: dict[tuple[int, str], list[int]] = field(default_factory=dict)  # (step, condition) -> rows


def _stream(data: np.ndarray) -> H5DataIO:
    return H5DataIO(np.ascontiguousarray(data), **_COMPRESS)


def _name(prefix: str, sweep: SweepView) -> str:
    return f"{prefix}_sweep{sweep.index:04d}"


def build_nwb(view: RunView, meta: SessionMetadata, identifier: str) -> NWBFile:
    """The NWB file of one run (in memory; the large arrays are read from the run file when written)."""
    simulated = view.simulated
    nwb = NWBFile(
        session_description=meta.session_description or view.protocol_description(),
        identifier=identifier,
        session_start_time=view.started,
        experimenter=list(meta.experimenter) or None,
        lab=meta.lab, institution=meta.institution,
        experiment_description=meta.experiment_description
        or ("Run on the spinerig simulated rig (virtual specimen with known truth)." if simulated
            else "Run on a spinerig rig."),
        source_script="spinerig " + str(view.attrs.get("versions_json", "")), source_script_file_name=str(view.path),
        keywords=list(meta.keywords) or ["dendritic spine"] + sorted({s.kind for s in view.sweeps}),
    )
    if simulated:
        meta = SIMULATED_SUBJECT.filled_by(meta)
    if any(v is not None for v in (meta.subject_id, meta.species, meta.sex, meta.age)):
        nwb.subject = Subject(subject_id=meta.subject_id, species=meta.species, sex=meta.sex or "U", age=meta.age,
                              description=meta.subject_description)
    backend = "simulated device" if view.profile.backend == "simulated" else view.profile.backend
    devices = {name: nwb.create_device(name=name, description=f"{spec.kind} of {view.profile.name} ({backend})")
               for name, spec in view.profile.devices.items()}
    electrodes = {name: nwb.create_icephys_electrode(name=f"{name}_electrode", device=dev,
                                                     description=f"patch pipette of {name}",
                                                     cell_id=f"{view.path.stem}-{name}")
                  for name, dev in devices.items() if view.profile.devices[name].kind == "patch_amplifier"}
    icephys = _Icephys()
    planes: dict[str, ImagingPlane] = {}
    for sweep in view.sweeps:
        _add_amplifier(nwb, view, sweep, electrodes, icephys)
        _add_line_scans(nwb, view, sweep)
        _add_camera(nwb, view, sweep, devices, planes)
        _add_commands(nwb, view, sweep)
    _add_icephys_tables(nwb, view, icephys)
    _add_intervals(nwb, view)
    _add_analysis(nwb, view)
    return nwb


def _add_amplifier(nwb: NWBFile, view: RunView, sweep: SweepView, electrodes: dict[str, IntracellularElectrode],
                   icephys: _Icephys) -> None:
    amp = sweep.amplifier
    if amp is None or amp not in electrodes:
        return
    command, primary = f"out:{amp}.command", f"in:{amp}.primary"
    if not (view.has(sweep, command) and view.has(sweep, primary)):
        return
    vc = sweep.amplifier_mode == "VC"
    stim_unit, resp_unit = view.unit(f"{amp}.command", sweep.amplifier_mode), view.unit(f"{amp}.primary",
                                                                                         sweep.amplifier_mode)
    common = {"electrode": electrodes[amp], "gain": 1.0, "starting_time": sweep.start_s, "rate": sweep.sample_rate_hz,
              "sweep_number": np.uint32(sweep.index), "stimulus_description": f"{sweep.step_name} ({sweep.kind})"}
    what = f"sweep {sweep.index}, step {sweep.step_name} ({sweep.kind}), {sweep.amplifier_mode}, {sweep.condition}"
    stim_cls, resp_cls = ((VoltageClampStimulusSeries, VoltageClampSeries) if vc
                          else (CurrentClampStimulusSeries, CurrentClampSeries))
    stimulus = stim_cls(name=_name("stimulus", sweep), data=_stream(view.data(sweep, command)),
                        conversion=_TO_SI[stim_unit], description=f"amplifier command ({stim_unit}) of {what}",
                        **common)
    response = resp_cls(name=_name("response", sweep), data=_stream(view.data(sweep, primary)),
                        conversion=_TO_SI[resp_unit], description=f"amplifier primary output ({resp_unit}) of {what}",
                        **common)
    row = nwb.add_intracellular_recording(electrode=electrodes[amp], stimulus=stimulus, response=response,
                                          id=sweep.index)
    simultaneous = nwb.add_icephys_simultaneous_recording(recordings=[row], id=sweep.index)
    icephys.simultaneous.setdefault((sweep.step_index, sweep.condition), []).append(simultaneous)
    secondary = f"in:{amp}.secondary"
    if view.has(sweep, secondary):
        unit = view.unit(f"{amp}.secondary", sweep.amplifier_mode)
        nwb.add_acquisition(TimeSeries(
            name=_name(f"{amp}_secondary", sweep), data=_stream(view.data(sweep, secondary)), unit=unit,
            starting_time=sweep.start_s, rate=sweep.sample_rate_hz,
            description=f"amplifier secondary output ({unit}) of sweep {sweep.index}, recorded with the response"))


def _add_icephys_tables(nwb: NWBFile, view: RunView, icephys: _Icephys) -> None:
    """Sequential recordings per (step, condition), a repetition each, experimental conditions by drug condition."""
    if not icephys.simultaneous:
        return
    names = {s.step_index: (s.step_name, s.kind) for s in view.sweeps}
    nwb.get_icephys_sequential_recordings().add_column(name="step_name", description="protocol step")
    nwb.get_icephys_experimental_conditions().add_column(name="condition",
                                                         description="bath (drug) condition, e.g. CPP or control")
    by_condition: dict[str, list[int]] = {}
    for (step, condition), rows in sorted(icephys.simultaneous.items()):
        step_name, kind = names[step]
        seq = nwb.add_icephys_sequential_recording(simultaneous_recordings=rows, stimulus_type=kind,
                                                   step_name=step_name)
        rep = nwb.add_icephys_repetition(sequential_recordings=[seq])
        by_condition.setdefault(condition, []).append(rep)
    for condition, reps in by_condition.items():
        nwb.add_icephys_experimental_condition(repetitions=reps, condition=condition)


def _add_line_scans(nwb: NWBFile, view: RunView, sweep: SweepView) -> None:
    ls = sweep.line_scan
    if ls is None:
        return
    times = line_times_ms(ls.first_sample, ls.samples_per_line, ls.pixels_per_line, ls.n_slots, sweep.sample_rate_hz)
    for channel in sweep.inputs:
        info = view.channel_info.get(channel)
        if info is None or info.kind != "galvo_scanner" or not view.has(sweep, f"in:{channel}"):
            continue
        lines = fold_lines(view.data(sweep, f"in:{channel}"), ls.first_sample, ls.samples_per_line,
                           ls.pixels_per_line, ls.n_slots)
        nwb.add_acquisition(TimeSeries(
            name=_name(f"linescan_{info.role}", sweep), data=_stream(lines), unit="counts",
            starting_time=sweep.start_s + float(times[0]) / 1000.0, rate=ls.line_rate_hz,
            description=(f"{info.role} PMT photon counts per line (rows) and pixel (columns) of sweep {sweep.index}; "
                         f"line from {ls.start_um} to {ls.end_um} um, {ls.pixels_per_line} pixels (flyback dropped)"),
            comments="time of the middle of each line's pixels"))


def leds_per_frame(view: RunView, sweep: SweepView, frame_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(LED code per frame, frame time in s from the sweep start) from the recorded trigger and LED outputs."""
    cam = sweep.camera
    assert cam is not None
    edges = rising_edges(view.data(sweep, f"out:{cam.trigger_channel}"))
    numbers = np.clip(np.asarray(frame_numbers, dtype=int), 0, max(edges.size - 1, 0))
    at = np.minimum(edges[numbers] + 1, sweep.n_samples - 1)
    codes = np.zeros(numbers.size, dtype=np.uint8)
    for code, channel in enumerate(sweep.led_channels.values(), start=1):
        if view.has(sweep, f"out:{channel}"):
            codes[view.data(sweep, f"out:{channel}")[at] > 0.5] = code
    return codes, edges[numbers] / sweep.sample_rate_hz


def _frame_times(start_s: float, frame_s: np.ndarray) -> dict[str, object]:
    """starting_time and rate when the frames are evenly spaced (none dropped), else every frame's timestamp."""
    gaps = np.diff(frame_s)
    if frame_s.size >= 2 and np.allclose(gaps, gaps[0], rtol=1e-6, atol=1e-9) and gaps[0] > 0:
        return {"starting_time": start_s + float(frame_s[0]), "rate": float(1.0 / gaps[0])}
    return {"timestamps": start_s + frame_s}


def _add_camera(nwb: NWBFile, view: RunView, sweep: SweepView, devices: dict[str, object],
                planes: dict[str, ImagingPlane]) -> None:
    cam = sweep.camera
    if cam is None or not view.has(sweep, f"in:{cam.camera}.frames"):
        return
    if cam.camera not in planes:
        spec = view.profile.devices[cam.camera]
        planes[cam.camera] = nwb.create_imaging_plane(
            name=f"{cam.camera}_plane", device=devices[cam.camera], description="widefield field of the CCD",
            optical_channel=OpticalChannel(name="camera", description="camera emission", emission_lambda=math.nan),
            excitation_lambda=math.nan, indicator="see the LED table of each sweep", location="dendrite and spines",
            grid_spacing=[cam.pixel_size_um * 1e-6] * 2, grid_spacing_unit="meters",
            origin_coords=[c * 1e-6 for c in cam.field_center_um], origin_coords_unit="meters",
            imaging_rate=float(getattr(spec, "max_frame_rate_hz", math.nan)))
    numbers = view.data(sweep, f"in:{cam.camera}.frame_number")
    codes, frame_s = leds_per_frame(view, sweep, numbers)
    frames = OnePhotonSeries(
        name=_name(cam.camera, sweep), imaging_plane=planes[cam.camera],
        data=_stream(view.data(sweep, f"in:{cam.camera}.frames")), unit="n.a.", **_frame_times(sweep.start_s, frame_s),
        exposure_time=cam.exposure_ms / 1000.0, binning=cam.binning,
        description=f"camera frames of sweep {sweep.index} at their trigger times (a dropped frame leaves a gap)")
    nwb.add_acquisition(frames)
    legend = ", ".join(f"{i} = {led}" for i, led in enumerate(sweep.led_channels, start=1))
    nwb.add_acquisition(TimeSeries(
        name=_name(f"{cam.camera}_led", sweep), data=codes, unit="n.a.", **_frame_times(sweep.start_s, frame_s),
        description=f"LED lit during each frame of {frames.name}: 0 = none, {legend}"))


def _add_commands(nwb: NWBFile, view: RunView, sweep: SweepView) -> None:
    """Galvo, Pockels, shutter, LED, stimulator and camera-trigger commands of the sweep as stimulus series."""
    for channel in sweep.outputs:
        info = view.channel_info.get(channel)
        if info is None or info.kind == "patch_amplifier" or not view.has(sweep, f"out:{channel}"):
            continue
        unit = {"ttl": "n.a.", "fraction": "n.a."}.get(info.unit, info.unit)
        conversion = 1e-6 if info.unit == "um" else 1.0
        nwb.add_stimulus(TimeSeries(
            name=_name(channel.replace(".", "_"), sweep), data=_stream(view.data(sweep, f"out:{channel}")),
            unit="meters" if info.unit == "um" else unit, conversion=conversion,
            starting_time=sweep.start_s, rate=sweep.sample_rate_hz,
            description=f"command of {channel} ({info.kind}, {info.unit}) in sweep {sweep.index}"))


def _pulses(samples: np.ndarray) -> list[tuple[int, int]]:
    """(first, after-last) sample of each run of non-zero samples."""
    on = np.abs(np.asarray(samples)) > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([False], on, [False])).astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _add_intervals(nwb: NWBFile, view: RunView) -> None:
    """Stimulus-isolator pulses and bleach epochs as time intervals, with their sweep."""
    stim = TimeIntervals(name="stimulus_pulses", description="stimulus isolator pulses (from the recorded command)")
    stim.add_column(name="sweep", description="sweep index")
    stim.add_column(name="amplitude", description="pulse amplitude in the stimulator command's unit (V)")
    bleach = TimeIntervals(name="bleach_epochs", description="FRAP bleach epochs (the plan's bleach events)")
    bleach.add_column(name="sweep", description="sweep index")
    for sweep in view.sweeps:
        for channel in sweep.outputs:
            info = view.channel_info.get(channel)
            if info is None or info.kind != "stimulus_isolator" or not view.has(sweep, f"out:{channel}"):
                continue
            samples = view.data(sweep, f"out:{channel}")
            for first, last in _pulses(samples):
                stim.add_interval(start_time=sweep.start_s + first / sweep.sample_rate_hz,
                                  stop_time=sweep.start_s + last / sweep.sample_rate_hz, sweep=sweep.index,
                                  amplitude=float(samples[first]))
        start, end = sweep.events_ms.get("bleach_start"), sweep.events_ms.get("bleach_end")
        if start is not None and end is not None:
            bleach.add_interval(start_time=sweep.start_s + start / 1000.0, stop_time=sweep.start_s + end / 1000.0,
                                sweep=sweep.index)
    for table in (stim, bleach):
        if len(table) > 0:
            nwb.add_time_intervals(table)


def _table(name: str, description: str, columns: dict[str, tuple[str, list[object]]]) -> DynamicTable:
    return DynamicTable(name=name, description=description,
                        columns=[VectorData(name=c, description=d, data=v) for c, (d, v) in columns.items()])


def _add_analysis(nwb: NWBFile, view: RunView) -> None:
    """The online analysis: ROIs, per-sweep features, estimates (and the simulated truth) in 'spine_analysis'."""
    module = nwb.create_processing_module(name="spine_analysis",
                                          description="spinerig online analysis of this run, as published live")
    roi_rows = [(s.index, name, xy, s.roi_radius_um) for s in view.sweeps for name, xy in s.rois_um.items()]
    targets = [(s.index, s.target_um) for s in view.sweeps if s.target_um is not None]
    if roi_rows:
        module.add(_table("rois", "regions of interest of each sweep in sample-plane coordinates", {
            "sweep": ("sweep index", [r[0] for r in roi_rows]), "roi": ("ROI name", [r[1] for r in roi_rows]),
            "x_um": ("centre x (um)", [r[2][0] for r in roi_rows]), "y_um": ("centre y (um)", [r[2][1] for r in roi_rows]),
            "radius_um": ("radius (um); NaN when not a disc", [math.nan if r[3] is None else r[3] for r in roi_rows])}))
    if targets:
        module.add(_table("targets", "the spine each sweep targeted (head centre, sample plane)", {
            "sweep": ("sweep index", [t[0] for t in targets]), "x_um": ("x (um)", [t[1][0] for t in targets]),
            "y_um": ("y (um)", [t[1][1] for t in targets])}))
    features = view.run.features()
    if features:
        module.add(_table("sweep_features", "per-sweep measurements of the online analysis (ROI responses)", {
            k: (d, [f["name" if k == "feature" else k] for f in features]) for k, d in (
                ("sweep", "sweep index"), ("step", "protocol step"), ("feature", "feature name"), ("value", "value"),
                ("low", "interval low (NaN: none)"), ("high", "interval high (NaN: none)"), ("unit", "unit"))}))
    estimates = view.estimates()
    if estimates:
        module.add(_table("estimates", "online estimates as published after each sweep (95 % intervals; a bound "
                          "has one side)", {
            "sweep": ("published after this sweep", [e.sweep for e in estimates]),
            "step": ("protocol step", [e.step for e in estimates]), "estimate": ("estimate name", [e.name for e in estimates]),
            "value": ("value", [e.value for e in estimates]), "low": ("interval low", [e.low for e in estimates]),
            "high": ("interval high", [e.high for e in estimates]), "unit": ("unit", [e.unit for e in estimates]),
            "basis": ("what the estimate rests on", [e.basis for e in estimates]),
            "bound": ("'' two-sided, 'lower' or 'upper' for a one-sided bound", [e.bound for e in estimates]),
            "trend": ("change over sweeps beyond the intervals ('' none)", [e.trend for e in estimates])}))
    truth = view.truth_rows()
    if truth:
        module.add(_table("simulated_truth", "true values of the simulated specimen at each sweep start, under the "
                          "estimates' names and definitions", {
            "sweep": ("sweep index", [t[0] for t in truth]), "quantity": ("quantity (an estimate's name)", [t[1] for t in truth]),
            "value": ("true value", [t[2] for t in truth])}))
    notices = view.run.notices()
    if notices:
        module.add(_table("notices", "warnings and errors of the run", {
            k: (k, [n[k] for n in notices]) for k in ("sweep", "level", "source", "message")}))


def write_nwb(run_path: Path, out_path: Path, meta: SessionMetadata) -> Path:
    """Write the NWB file of a run; refuses to overwrite (exclusive create)."""
    with RunView(run_path) as view:
        identifier = f"spinerig-{run_path.stem}-{int(view.started.timestamp())}"
        nwb = build_nwb(view, meta, identifier)
        with NWBHDF5IO(str(out_path), mode="w-") as io:
            io.write(nwb)
    log.info("wrote %s", out_path)
    return out_path
