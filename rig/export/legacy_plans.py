"""Plans of run files written before plans were stored in full: their summary's untyped `parameters` read into
the typed SweepMeta, so those files still open and replay (rig.export.reanalyze)."""

from __future__ import annotations

from typing import Any, Mapping

from rig.datatypes.kind_meta import (
    ApLevelsMeta,
    ApScanMeta,
    ApTrainMeta,
    CurrentStepMeta,
    FcatMeta,
    NaCaMeta,
    PairingCondition,
    PairingMeta,
    VsdMeta,
)
from rig.datatypes.sweep_meta import Bath, CameraRois, FrameScanLayout, KindMeta, SweepMeta

AP_SCAN_KINDS = ("bap_train", "paired_ap", "quantal", "epsp_ap_pairing")


def _floats(values: object) -> tuple[float, ...]:
    return tuple(float(v) for v in values) if isinstance(values, (list, tuple)) else ()


def _point(value: object) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return float(value[0]), float(value[1])
    return None


def _opt_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _kind_meta(kind: str, p: Mapping[str, Any]) -> KindMeta | None:
    if kind in AP_SCAN_KINDS and "ap_ms" in p:
        ap_ms, stimuli_ms = _floats(p["ap_ms"]), _floats(p.get("stimuli_ms"))
        width, amplitude = float(p.get("ap_pulse_width_ms", 0.0)), float(p.get("ap_pulse_pA", 0.0))
        if "conditions" in p:
            conditions = tuple(PairingCondition(str(role), _floats(ev.get("ap_ms")), _floats(ev.get("stimuli_ms")))
                               for role, ev in dict(p["conditions"]).items())
            return PairingMeta(ap_ms, stimuli_ms, width, amplitude, float(p["window_ms"]), float(p["first_event_ms"]),
                               conditions)
        if "rise_ms" in p:
            return ApLevelsMeta(ap_ms, stimuli_ms, width, amplitude, float(p["rise_ms"]), float(p["level_window_ms"]))
        return ApScanMeta(ap_ms, stimuli_ms, width, amplitude)
    if kind == "theta_burst" and "ap_ms" in p:
        return ApTrainMeta(_floats(p["ap_ms"]))
    if kind == "hyperpolarizing_steps" and "step_pA" in p:
        return CurrentStepMeta(float(p["step_pA"]), _opt_float(p.get("e_syn_mV")), str(p.get("e_syn_source", "assumed")))
    if kind == "fcat" and "stimulus_ms" in p:
        return FcatMeta(float(p["stimulus_ms"]))
    if kind == "vsd" and "event_ms" in p:
        return VsdMeta(float(p["event_ms"]), int(p.get("sweeps_in_step", -1)), float(p.get("ap_pulse_pA", 0.0)),
                       float(p.get("ap_width_ms", 0.0)))
    if kind == "na_ca" and "led_channels" in p:
        raw_stimulus = p.get("stimulus")
        stimulus: Mapping[str, Any] = raw_stimulus if isinstance(raw_stimulus, dict) else {}
        return NaCaMeta(tuple((str(k), str(v)) for k, v in dict(p["led_channels"]).items()), bool(p.get("stimulated")),
                        float(p.get("frame_lead_ms", 0.0)), _floats(stimulus.get("onsets_ms")))
    return None


def meta_from_parameters(kind: str, parameters: Mapping[str, Any], amplifier: str | None) -> SweepMeta:
    """The typed metadata of a sweep whose plan summary stored `parameters` (an untyped dict) instead."""
    p = parameters
    holding = _opt_float(p.get("holding"))
    clamp = p.get("clamp")
    if holding is None and amplifier and isinstance(clamp, dict):  # kinds that stored their whole step
        unit = "holding_mV" if clamp.get("mode") == "VC" else "holding_pA"  # a clamp dumped with both fields
        holding = _opt_float(clamp.get(unit, clamp.get("holding")))
    bath = p.get("bath")
    raw_rois, raw_analysis, raw_frame = p.get("rois"), p.get("analysis"), p.get("frame")
    rois: Mapping[str, Any] | None = raw_rois if isinstance(raw_rois, dict) else None
    analysis: Mapping[str, Any] = raw_analysis if isinstance(raw_analysis, dict) else {}
    frame: Mapping[str, Any] | None = raw_frame if isinstance(raw_frame, dict) else None
    head = _point(rois.get("head_um")) if rois is not None else None
    radius = _opt_float(p.get("head_roi_radius_um"))
    return SweepMeta(
        role=str(p.get("role", "")), condition=str(p.get("condition", "")),
        bath=Bath(**{str(k): v for k, v in bath.items()}) if isinstance(bath, dict) else None,
        holding=holding,
        green_channel=str(p.get("green_channel", "")), red_channel=str(p.get("red_channel", "")),
        pmt_channel=str(p.get("pmt_channel", "")),
        head_roi_radius_um=radius if radius is not None else _opt_float(analysis.get("head_roi_radius_um")),
        baseline_end_ms=_opt_float(p.get("baseline_end_ms")),
        rois=None if rois is None or head is None else CameraRois(
            head, _point(rois.get("neck_um")), _point(rois.get("dendrite_um")), _point(rois.get("background_um")),
            float(rois.get("radius_um", 0.6)), _point(rois.get("profile_start_um")), _point(rois.get("profile_end_um"))),
        frame=None if frame is None else FrameScanLayout(
            int(frame["first_sample"]), int(frame["samples_per_line"]), int(frame["pixels"]),
            (float(frame["origin_um"][0]), float(frame["origin_um"][1])), float(frame["pixel_um"])),
        kind_meta=_kind_meta(kind, p))
