"""A typed, read-only view of one run file for the exporters: sweeps, channels with units, estimates, truth."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel

from rig.config.channels import ChannelInfo, logical_channels
from rig.config.problems import InvalidInput
from rig.config.profile import HardwareProfile, profile_from_data
from rig.datatypes.kind_meta import NaCaMeta
from rig.datatypes.layouts import CameraAcquisition, LineScanLayout
from rig.datatypes.plan_codec import is_full_plan
from rig.datatypes.sweep_meta import SweepMeta, meta_from_json
from rig.storage.reader import RunFile, ValueWithInterval


@dataclass(frozen=True)
class SweepView:
    """One stored sweep: where it sits in the run and what its plan recorded."""

    index: int
    step_index: int
    step_name: str
    kind: str
    sweep_in_step: int
    sample_rate_hz: float
    n_samples: int
    start_s: float  # from the session start (the run's start)
    amplifier: str | None
    amplifier_mode: str | None
    condition: str
    events_ms: dict[str, float]
    target_um: tuple[float, float] | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    line_scan: LineScanLayout | None
    camera: CameraAcquisition | None
    led_channels: dict[str, str] = field(default_factory=dict)  # LED name -> output channel
    rois_um: dict[str, tuple[float, float]] = field(default_factory=dict)
    roi_radius_um: float | None = None
    head_roi_radius_um: float | None = None  # the analysis' head ROI on a line scan (FRAP)
    pmt_channel: str | None = None  # the PMT channel the step's analysis reads


@dataclass(frozen=True)
class StoredEstimate:
    """One stored estimate with the simulated truth of the same name at its sweep (None on a real rig)."""

    sweep: int
    step: str
    name: str
    value: float
    low: float
    high: float
    unit: str
    basis: str
    bound: str
    trend: str
    truth: float | None


def _pair(value: object) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return (float(value[0]), float(value[1]))
    return None


class _StoredLineScan(BaseModel):
    """A stored plan's line-scan summary (validated on reading)."""

    first_sample: int
    samples_per_line: int
    pixels_per_line: int
    n_slots: int
    park_slots: tuple[int, ...] = ()
    start_um: tuple[float, float]
    end_um: tuple[float, float]
    line_rate_hz: float


class _StoredCamera(BaseModel):
    """A stored plan's camera summary (validated on reading)."""

    camera: str
    trigger_channel: str
    n_frames: int
    exposure_ms: float
    binning: int
    roi_px: tuple[int, int, int, int]
    pixel_size_um: float
    sensor_px: tuple[int, int]
    field_center_um: tuple[float, float]


def _line_scan(ls: object) -> LineScanLayout:
    """The engine's line-scan layout from a stored plan's summary."""
    return LineScanLayout(**_StoredLineScan.model_validate(ls).model_dump())


def _camera(cam: object) -> CameraAcquisition:
    """The engine's camera acquisition from a stored plan's summary."""
    return CameraAcquisition(**_StoredCamera.model_validate(cam).model_dump())


def _positive(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) and value > 0 else None


def _finite_or_nan(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(float(value)) else math.nan


@dataclass(frozen=True)
class _Details:
    """What a SweepView takes from a plan's metadata."""

    condition: str = "control"
    led_channels: dict[str, str] = field(default_factory=dict)
    rois_um: dict[str, tuple[float, float]] = field(default_factory=dict)
    roi_radius_um: float | None = None
    head_roi_radius_um: float | None = None
    pmt_channel: str | None = None


def _details(meta: SweepMeta) -> _Details:
    """From the typed metadata of a plan stored in full."""
    rois = {} if meta.rois is None else {f.name: getattr(meta.rois, f.name) for f in fields(meta.rois)}
    kind = meta.kind_meta
    return _Details(
        condition=meta.condition or "control",
        led_channels=dict(kind.led_channels) if isinstance(kind, NaCaMeta) else {},
        rois_um={k: (float(v[0]), float(v[1])) for k, v in rois.items() if isinstance(v, tuple)},
        roi_radius_um=None if meta.rois is None else meta.rois.radius_um,
        head_roi_radius_um=_positive(meta.head_roi_radius_um), pmt_channel=meta.pmt_channel or None)


def _summary_details(params: dict[str, object]) -> _Details:
    """From the untyped `parameters` of a plan summary (files written before plans were stored in full)."""
    raw_rois, raw_analysis = params.get("rois"), params.get("analysis")
    rois: dict[str, object] = raw_rois if isinstance(raw_rois, dict) else {}
    analysis: dict[str, object] = raw_analysis if isinstance(raw_analysis, dict) else {}
    leds = params.get("led_channels")
    pmt = params.get("pmt_channel")
    return _Details(
        condition=str(params.get("condition") or "control"),
        led_channels={str(k): str(v) for k, v in leds.items()} if isinstance(leds, dict) else {},
        rois_um={str(k): p for k, v in rois.items() if (p := _pair(v)) is not None},
        roi_radius_um=_finite_or_nan(rois.get("radius_um")) if "radius_um" in rois else None,
        head_roi_radius_um=_positive(analysis.get("head_roi_radius_um")),
        pmt_channel=pmt if isinstance(pmt, str) else None)


class RunView:
    """The parts of a run file the exporters need, as typed values (the file stays open until `close`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.run = RunFile(self.path)
        self.attrs = self.run.attrs
        self.profile = self._stored_profile()
        self.channel_info: dict[str, ChannelInfo] = logical_channels(self.profile)
        self.started = datetime.fromtimestamp(float(self.attrs.get("started_unix", 0.0)), tz=timezone.utc)
        self.sweeps = self._sweeps()
        self.simulated = self.run.specimen() is not None

    def __enter__(self) -> "RunView":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the run file."""
        self.run.close()

    def _stored_profile(self) -> HardwareProfile:
        text = self.run.text("profile_yaml")
        source = Path(str(self.attrs.get("profile_path", self.path)))
        try:
            return profile_from_data(source, text, yaml.safe_load(text)).profile
        except InvalidInput as exc:  # a file written by an older version whose profile no longer validates
            raise ValueError(f"{self.path}: its stored hardware profile does not validate: {exc}") from exc

    def _sweeps(self) -> list[SweepView]:
        plans = dict(enumerate(self.run.plans()))  # plans() is by sweep index, 0..n-1
        started_unix = float(self.attrs.get("started_unix", 0.0))
        out = []
        for row in self.run.sweeps():
            index = int(row["sweep"])
            plan = plans.get(index, {})
            ls = plan.get("line_scan")
            cam = plan.get("camera")
            details = _details(meta_from_json(plan["meta"])) if is_full_plan(plan) else \
                _summary_details(plan.get("parameters") or {})
            out.append(SweepView(
                index=index, step_index=int(row["step_index"]), step_name=str(plan.get("step_name", "")),
                kind=str(plan.get("kind", "")), sweep_in_step=int(row["sweep_in_step"]),
                sample_rate_hz=float(row["sample_rate_hz"]), n_samples=int(row["n_samples"]),
                start_s=max(0.0, float(row["started_unix"]) - started_unix),
                amplifier=plan.get("amplifier"), amplifier_mode=plan.get("amplifier_mode"),
                condition=details.condition,
                events_ms={str(k): float(v) for k, v in (plan.get("events_ms") or {}).items()},
                target_um=_pair(plan.get("target_um")), inputs=tuple(plan.get("inputs") or ()),
                outputs=tuple((plan.get("outputs") or {}).keys()),
                line_scan=_line_scan(ls) if ls else None, camera=_camera(cam) if cam else None,
                led_channels=details.led_channels, rois_um=details.rois_um, roi_radius_um=details.roi_radius_um,
                head_roi_radius_um=details.head_roi_radius_um, pmt_channel=details.pmt_channel,
            ))
        return out

    def has(self, sweep: SweepView, channel: str) -> bool:
        """True when the run stored samples of this channel ('in:...' / 'out:...') for the sweep."""
        try:
            self.run.sweep_data(sweep.index, channel)
        except KeyError:
            return False
        return True

    def data(self, sweep: SweepView, channel: str) -> np.ndarray:
        """Stored samples (or frames) of one channel in one sweep."""
        return self.run.sweep_data(sweep.index, channel)

    def unit(self, channel: str, mode: str | None) -> str:
        """Physical unit of a logical channel; the amplifier's depend on its mode (VC: command mV, primary pA)."""
        info = self.channel_info.get(channel)
        if info is None:
            return "n.a."
        if "|" in info.unit:
            vc, cc = info.unit.split("|")
            return vc if mode == "VC" else cc
        return info.unit

    def estimates(self) -> list[StoredEstimate]:
        """Every stored estimate row, with the simulated truth of the same name at its sweep."""
        truth: dict[int, dict[str, float]] = {}
        for sweep, name, value in self.run.truth_rows():
            truth.setdefault(sweep, {})[name] = value
        return [_stored(e, truth.get(e.sweep, {}).get(e.name) if self.simulated else None)
                for e in self.run.estimates()]

    def final_estimates(self) -> list[StoredEstimate]:
        """The last estimate of each name in each step (what `rig info` shows)."""
        last: dict[tuple[str, str], StoredEstimate] = {}
        for e in self.estimates():
            last[(e.step, e.name)] = e
        return list(last.values())

    def truth_rows(self) -> list[tuple[int, str, float]]:
        """(sweep, name, value) of the simulated truth; empty on a real rig."""
        return self.run.truth_rows() if self.simulated else []

    def protocol_description(self) -> str:
        """The protocol's name and, if it has one, its description."""
        text = self.run.text("protocol_yaml")
        data = yaml.safe_load(text)
        name = str(self.attrs.get("protocol_name", "spinerig run"))
        desc = data.get("description") if isinstance(data, dict) else None
        return f"{name}: {desc}" if isinstance(desc, str) and desc.strip() else name

    def safety(self) -> list[dict[str, object]]:
        """The run end's safety report (device, safe, detail), empty while running."""
        raw = self.attrs.get("safety_json")
        return json.loads(raw) if isinstance(raw, str) else []


def _stored(e: ValueWithInterval, truth: float | None) -> StoredEstimate:
    return StoredEstimate(e.sweep, e.step, e.name, e.value, e.low, e.high, e.unit, e.basis, e.bound, e.trend, truth)
