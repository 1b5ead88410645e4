"""A SweepPlan to and from JSON-able data, losslessly: every field typed back, every waveform exact.

A waveform is stored inline (base64 of its bytes) or by reference: its dtype, length and SHA-256, the samples
kept elsewhere (a run file keeps them as the sweep's `out:` channel). Decoding checks every referenced waveform
against its digest, so a plan is rebuilt exactly or not at all.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np
from pydantic import TypeAdapter

from rig.datatypes.layouts import CameraAcquisition, LineScanLayout
from rig.datatypes.sweep_meta import meta_from_json, meta_to_json
from rig.datatypes.sweep_plan import SweepPlan

PLAN_FORMAT = 2  # 1: the lossy summary of files written before plans were stored in full (no "plan_format" key)


class PlanDecodeError(ValueError):
    """A stored plan that cannot be rebuilt exactly (missing or altered waveform, malformed field)."""


@lru_cache(maxsize=None)
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def waveform_digest(wave: np.ndarray) -> str:
    """SHA-256 of a waveform's dtype, shape and bytes (C order)."""
    a = np.ascontiguousarray(wave)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _wave_to_data(wave: np.ndarray, inline: bool) -> dict[str, Any]:
    a = np.asarray(wave)
    out: dict[str, Any] = {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": waveform_digest(a),
                           "min": float(np.min(a)) if a.size else None, "max": float(np.max(a)) if a.size else None}
    if inline:
        out["data_b64"] = base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")
    return out


def plan_to_data(plan: SweepPlan, inline: bool | Callable[[str, np.ndarray], bool] = True) -> dict[str, Any]:
    """The plan as JSON-able data; waveforms inline, or by reference where `inline(name, wave)` is False."""
    keep = inline if callable(inline) else (lambda name, wave: bool(inline))
    return {
        "plan_format": PLAN_FORMAT,
        "step_index": plan.step_index,
        "step_name": plan.step_name,
        "kind": plan.kind,
        "sweep_in_step": plan.sweep_in_step,
        "sample_rate_hz": plan.sample_rate_hz,
        "n_samples": plan.n_samples,
        "duration_s": plan.duration_s,  # derived; for readers of the summary form
        "amplifier": plan.amplifier,
        "amplifier_mode": plan.amplifier_mode,
        "interval_after_s": plan.interval_after_s,
        "inputs": list(plan.inputs),
        "outputs": {name: _wave_to_data(w, keep(name, w)) for name, w in plan.outputs.items()},
        "line_scan": None if plan.line_scan is None else _adapter(LineScanLayout).dump_python(plan.line_scan,
                                                                                              mode="json"),
        "events_ms": dict(plan.events_ms),
        "target_um": None if plan.target_um is None else list(plan.target_um),
        "meta": meta_to_json(plan.meta),
        "camera": None if plan.camera is None else _adapter(CameraAcquisition).dump_python(plan.camera, mode="json"),
    }


def is_full_plan(data: Mapping[str, Any]) -> bool:
    """True for data written by plan_to_data (False for the summary form of older run files)."""
    return data.get("plan_format") == PLAN_FORMAT


def _wave_from_data(name: str, spec: Mapping[str, Any],
                    stored: Callable[[str], np.ndarray] | None) -> np.ndarray:
    dtype, shape = np.dtype(str(spec["dtype"])), tuple(int(n) for n in spec["shape"])
    wave: np.ndarray
    if "data_b64" in spec:
        wave = np.frombuffer(base64.b64decode(spec["data_b64"]), dtype=dtype).reshape(shape).copy()
    elif stored is None:
        raise PlanDecodeError(f"output {name}: stored by reference and no stored samples were given")
    else:
        try:
            wave = np.asarray(stored(name))
        except KeyError as exc:
            raise PlanDecodeError(f"output {name}: its stored samples are missing ({exc})") from exc
        if wave.dtype != dtype or wave.shape != shape:
            raise PlanDecodeError(f"output {name}: stored {wave.dtype.name}{wave.shape}, the plan had "
                                  f"{dtype.name}{shape}")
    if waveform_digest(wave) != spec["sha256"]:
        raise PlanDecodeError(f"output {name}: the samples differ from the plan's (SHA-256 mismatch)")
    return wave


def plan_from_data(data: Mapping[str, Any], stored: Callable[[str], np.ndarray] | None = None) -> SweepPlan:
    """The plan plan_to_data wrote, equal field by field; `stored(name)` gives referenced waveforms."""
    if not is_full_plan(data):
        raise PlanDecodeError("not a full plan (a summary written before plans were stored in full)")
    try:
        mode = data["amplifier_mode"]
        ls, cam, target = data["line_scan"], data["camera"], data["target_um"]
        return SweepPlan(
            step_index=int(data["step_index"]), step_name=str(data["step_name"]), kind=str(data["kind"]),
            sweep_in_step=int(data["sweep_in_step"]), sample_rate_hz=float(data["sample_rate_hz"]),
            n_samples=int(data["n_samples"]),
            outputs={str(n): _wave_from_data(str(n), s, stored) for n, s in data["outputs"].items()},
            inputs=tuple(str(n) for n in data["inputs"]), amplifier=data["amplifier"],
            amplifier_mode=mode if mode in ("VC", "CC") else None,
            interval_after_s=float(data["interval_after_s"]),
            line_scan=None if ls is None else _adapter(LineScanLayout).validate_python(ls),
            events_ms={str(k): float(v) for k, v in data["events_ms"].items()},
            target_um=None if target is None else (float(target[0]), float(target[1])),
            meta=meta_from_json(data["meta"]),
            camera=None if cam is None else _adapter(CameraAcquisition).validate_python(cam))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PlanDecodeError):
            raise
        raise PlanDecodeError(f"malformed stored plan: {exc.__class__.__name__}: {exc}") from exc
