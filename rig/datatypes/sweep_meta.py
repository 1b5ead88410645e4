"""Typed sweep metadata: what a plan tells devices, the simulated truth, the analysis and the display beyond its
waveforms (the sweep's role, bath, holding, imaging channels, ROI geometry and analysis windows).

`SweepMeta` holds what several parts read; a kind's own values travel in `SweepMeta.kind_meta`, a `KindMeta`
subclass (rig.datatypes.kind_meta for the built-in kinds; a new kind may define its own). Nothing reads an
untyped dict.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from pydantic import GetCoreSchemaHandler, TypeAdapter
from pydantic_core import core_schema

Point = tuple[float, float]


@dataclass(frozen=True)
class Bath:
    """The bath a sweep runs in (pharmacology as data): each field a condition sets; None keeps the baseline."""

    block_ampa: bool | None = None
    block_nmda: bool | None = None
    block_r_type_ca: bool | None = None
    block_soma_na: bool | None = None
    block_soma_k: bool | None = None
    external_ca_mM: float | None = None
    mg_mM: float | None = None

    def changes(self) -> dict[str, bool | float]:
        """The fields this bath sets, by name (the baseline holds for the others)."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class CameraRois:
    """Sample-plane regions (um) of a camera step: head, neck, parent dendrite, background, disc radius, profile."""

    head_um: Point
    neck_um: Point | None = None
    dendrite_um: Point | None = None
    background_um: Point | None = None
    radius_um: float = 0.6
    profile_start_um: Point | None = None
    profile_end_um: Point | None = None


@dataclass(frozen=True)
class FrameScanLayout:
    """How the PMT samples of a frame scan fold into an image: rows of `samples_per_line`, `pixels` square."""

    first_sample: int
    samples_per_line: int
    pixels: int
    origin_um: Point
    pixel_um: float


class KindMeta:
    """Base of a kind's own sweep metadata (a frozen dataclass); registered by `tag` for lossless storage."""

    tag: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[KindMeta]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        tag = cls.__dict__.get("tag", "")
        if tag:
            if tag in KindMeta.registry and KindMeta.registry[tag].__qualname__ != cls.__qualname__:
                raise ValueError(f"kind metadata tag {tag!r} is taken by {KindMeta.registry[tag].__qualname__}")
            KindMeta.registry[tag] = cls

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """A field typed KindMeta holds any registered kind: stored as {"tag": ..., its fields}."""
        if source is not KindMeta:
            return handler(source)  # a concrete kind: its dataclass fields
        return core_schema.no_info_plain_validator_function(
            _kind_from_data, serialization=core_schema.plain_serializer_function_ser_schema(_kind_to_data))


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(cls: object) -> TypeAdapter[Any]:
    """One pydantic TypeAdapter per class (building one costs ~1 ms)."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


def _kind_to_data(meta: KindMeta) -> dict[str, Any]:
    return {"tag": type(meta).tag, **_adapter(type(meta)).dump_python(meta, mode="json")}


def _kind_from_data(data: Any) -> KindMeta:
    if isinstance(data, KindMeta):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"kind metadata must be a mapping with a 'tag' (got {type(data).__name__})")
    values = dict(data)
    tag = str(values.pop("tag", ""))
    kind = KindMeta.registry.get(tag)
    if kind is None:
        raise ValueError(f"unknown kind metadata {tag!r} (known: {', '.join(sorted(KindMeta.registry))})")
    meta: KindMeta = _adapter(kind).validate_python(values)
    return meta


M = TypeVar("M", bound=KindMeta)


@dataclass(frozen=True)
class SweepMeta:
    """What a sweep is, beyond its waveforms, for every part that reads it.

    `holding` is in the clamp's command unit (mV in VC, pA in CC); channel names are logical input channels
    (`<device>.<role>`); "" or None: the sweep has none.
    """

    role: str = ""  # the sweep's part in its step ("settle", "measure", "epsp", "train", ...)
    condition: str = ""  # the bath condition as written in the protocol ("NBQX+CPP")
    bath: Bath | None = None
    holding: float | None = None
    green_channel: str = ""  # the two PMTs of a ratiometric line scan
    red_channel: str = ""
    pmt_channel: str = ""  # the one PMT a FRAP sweep or a frame scan reads
    head_roi_radius_um: float | None = None
    baseline_end_ms: float | None = None  # the first event: the dG/R baseline ends here
    rois: CameraRois | None = None
    frame: FrameScanLayout | None = None
    kind_meta: KindMeta | None = None

    def kind_as(self, cls: type[M]) -> M:
        """The kind's own metadata as `cls`; TypeError when the sweep carries other (or no) kind metadata."""
        if not isinstance(self.kind_meta, cls):
            raise TypeError(f"sweep metadata is {type(self.kind_meta).__name__}, not {cls.__name__}")
        return self.kind_meta


def meta_to_json(meta: SweepMeta) -> dict[str, Any]:
    """A sweep's metadata as JSON-able data (kind metadata tagged by its class)."""
    data: dict[str, Any] = _adapter(SweepMeta).dump_python(meta, mode="json")
    return data


def meta_from_json(data: dict[str, Any]) -> SweepMeta:
    """The SweepMeta that meta_to_json stored (equal to the original)."""
    meta: SweepMeta = _adapter(SweepMeta).validate_python(data)
    return meta
