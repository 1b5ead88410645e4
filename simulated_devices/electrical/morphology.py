"""Cell geometry and passive-property specs, and their reduction to a compartment tree."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .channels import HeadChannelSpec, SomaChannelSpec
from .synapses import SynapseSpec

# Unit bridges: areas in um^2, capacitance in nF, conductance in uS, resistance in MOhm.
_UM2_TO_CM2 = 1e-8
#: Neck resistance floor: R_neck = 0 means "head attached directly"; 1 kOhm is
#: electrically indistinguishable from that but keeps the system well conditioned.
MIN_NECK_RESISTANCE_MOHM = 1e-3


def axial_resistance_MOhm(ri_ohm_cm: float, length_um: float, radius_um: float) -> float:
    """Resistance of a cylinder of cytoplasm, R = Ri * L / (pi a^2), in MOhm."""
    if radius_um <= 0:
        raise ValueError("radius_um must be positive")
    ohms = ri_ohm_cm * (length_um * 1e-4) / (math.pi * (radius_um * 1e-4) ** 2)
    return ohms * 1e-6


def sphere_area_from_volume_um2(volume_um3: float) -> float:
    """Surface area of a sphere of the given volume (spine head)."""
    radius_um = (3.0 * volume_um3 / (4.0 * math.pi)) ** (1.0 / 3.0)
    return 4.0 * math.pi * radius_um**2


@dataclass(frozen=True)
class PassiveSpec:
    """Specific membrane and cytoplasm properties shared by all compartments."""

    rm_ohm_cm2: float = 17000.0
    cm_uF_per_cm2: float = 1.0
    ri_ohm_cm: float = 180.0
    e_leak_mV: float = -70.0


@dataclass(frozen=True)
class SomaSpec:
    """Cylindrical soma (one isopotential compartment) plus the lumped unmodelled tree.

    `lumped_tree_area_um2` adds the membrane of the dendrites that are not modelled
    explicitly (basal/oblique tree, ~100 pF in a pyramidal cell) to the somatic
    compartment, so somatic input resistance, capacitance and the current needed for
    an AP are realistic. Set it to 0 for a bare cylinder.
    """

    length_um: float = 20.0
    diam_um: float = 20.0
    lumped_tree_area_um2: float = 10000.0

    @property
    def cylinder_area_um2(self) -> float:
        """Lateral membrane area of the cylinder (end caps ignored, as in NEURON)."""
        return math.pi * self.diam_um * self.length_um

    @property
    def area_um2(self) -> float:
        """Total membrane area of the somatic compartment."""
        return self.cylinder_area_um2 + self.lumped_tree_area_um2


@dataclass(frozen=True)
class DendriteSpec:
    """Unbranched dendritic cable leaving the soma, sealed at its far end."""

    length_um: float = 200.0
    diam_um: float = 0.8
    n_segments: int = 100

    @property
    def segment_length_um(self) -> float:
        """Length of one compartment."""
        return self.length_um / self.n_segments

    def segment_centres_um(self) -> np.ndarray:
        """Distance from the soma of every compartment centre."""
        return (np.arange(self.n_segments) + 0.5) * self.segment_length_um


@dataclass(frozen=True)
class SpineSpec:
    """One spine: neck resistor plus head compartment, attached at a dendritic position."""

    position_um: float = 150.0
    r_neck_MOhm: float = 150.0
    head_volume_um3: float = 0.1
    head_area_um2: float | None = None  # overrides the sphere area derived from the volume
    ampa_scale: float = 1.0  # this spine's AMPA conductance relative to SynapseSpec.ampa_g_nS
    nmda_scale: float = 1.0  # this spine's NMDA conductance relative to SynapseSpec.nmda_g_nS

    @property
    def effective_head_area_um2(self) -> float:
        """Head membrane area used for capacitance, leak and channels."""
        if self.head_area_um2 is not None:
            return self.head_area_um2
        return sphere_area_from_volume_um2(self.head_volume_um3)

    @classmethod
    def from_neck_geometry(
        cls,
        position_um: float,
        neck_length_um: float,
        neck_radius_um: float,
        ri_ohm_cm: float,
        head_volume_um3: float = 0.1,
    ) -> "SpineSpec":
        """Build a spine whose neck resistance is Ri * L / (pi a^2)."""
        r_neck = axial_resistance_MOhm(ri_ohm_cm, neck_length_um, neck_radius_um)
        return cls(position_um=position_um, r_neck_MOhm=r_neck, head_volume_um3=head_volume_um3)


@dataclass(frozen=True)
class CellSpec:
    """Everything needed to build the electrical model of one neuron."""

    soma: SomaSpec = field(default_factory=SomaSpec)
    dendrite: DendriteSpec = field(default_factory=DendriteSpec)
    passive: PassiveSpec = field(default_factory=PassiveSpec)
    spines: tuple[SpineSpec, ...] = (SpineSpec(),)
    soma_channels: SomaChannelSpec = field(default_factory=SomaChannelSpec)
    head_channels: HeadChannelSpec = field(default_factory=HeadChannelSpec)
    synapse: SynapseSpec = field(default_factory=SynapseSpec)
    series_resistance_MOhm: float = 10.0

    @classmethod
    def passive_only(cls, **kwargs: object) -> "CellSpec":
        """A cell with every voltage-gated conductance and NMDA set to zero."""
        spec = cls(**kwargs)  # type: ignore[arg-type]
        return replace(
            spec,
            soma_channels=replace(spec.soma_channels, gna_mS_per_cm2=0.0, gk_mS_per_cm2=0.0),
            head_channels=replace(spec.head_channels, g_car_mS_per_cm2=0.0),
            synapse=replace(spec.synapse, nmda_g_nS=0.0),
        )


@dataclass(frozen=True)
class CompartmentTree:
    """Soma (node 0) + dendrite (nodes 1..N, tridiagonal) + spine heads hung on dendrite nodes."""

    n_dend: int
    cap_nF: np.ndarray  # (1 + n_dend,) soma and dendrite
    g_leak_uS: np.ndarray  # (1 + n_dend,)
    g_axial_uS: np.ndarray  # (n_dend,) between node j and j+1
    soma_area_um2: float
    head_cap_nF: np.ndarray  # (n_spines,)
    head_g_leak_uS: np.ndarray
    head_area_um2: np.ndarray
    g_neck_uS: np.ndarray
    spine_parent: np.ndarray  # dendrite node index (1..N) of each spine base
    e_leak_mV: float

    @property
    def n_spines(self) -> int:
        """Number of spine heads."""
        return int(self.head_cap_nF.size)

    @property
    def n_nodes(self) -> int:
        """Soma + dendrite + heads."""
        return 1 + self.n_dend + self.n_spines


def build_tree(spec: CellSpec) -> CompartmentTree:
    """Discretise the cell: compartment capacitances, leaks and coupling conductances."""
    pas, den = spec.passive, spec.dendrite
    n = den.n_segments
    if n < 1:
        raise ValueError("dendrite needs at least one segment")
    seg_area = math.pi * den.diam_um * den.segment_length_um
    areas = np.concatenate([[spec.soma.area_um2], np.full(n, seg_area)])
    cap = pas.cm_uF_per_cm2 * areas * _UM2_TO_CM2 * 1e3
    g_leak = areas * _UM2_TO_CM2 / pas.rm_ohm_cm2 * 1e6
    half_seg = axial_resistance_MOhm(pas.ri_ohm_cm, den.segment_length_um / 2, den.diam_um / 2)
    half_soma = axial_resistance_MOhm(pas.ri_ohm_cm, spec.soma.length_um / 2, spec.soma.diam_um / 2)
    r_axial = np.full(n, 2 * half_seg)
    r_axial[0] = half_soma + half_seg
    head_area = np.array([s.effective_head_area_um2 for s in spec.spines], dtype=float)
    r_neck = np.array([max(s.r_neck_MOhm, MIN_NECK_RESISTANCE_MOHM) for s in spec.spines])
    centres = den.segment_centres_um()
    parents = np.array(
        [1 + int(np.argmin(np.abs(centres - s.position_um))) for s in spec.spines], dtype=int
    )
    return CompartmentTree(
        n_dend=n,
        cap_nF=cap,
        g_leak_uS=g_leak,
        g_axial_uS=1.0 / r_axial,
        soma_area_um2=spec.soma.area_um2,
        head_cap_nF=pas.cm_uF_per_cm2 * head_area * _UM2_TO_CM2 * 1e3,
        head_g_leak_uS=head_area * _UM2_TO_CM2 / pas.rm_ohm_cm2 * 1e6,
        head_area_um2=head_area,
        g_neck_uS=1.0 / r_neck,
        spine_parent=parents,
        e_leak_mV=pas.e_leak_mV,
    )
