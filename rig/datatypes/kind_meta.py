"""The built-in kinds' own sweep metadata (SweepMeta.kind_meta), read by their analysis and the simulated truth."""

from __future__ import annotations

from dataclasses import dataclass

from rig.datatypes.sweep_meta import KindMeta


@dataclass(frozen=True)
class ApTrainMeta(KindMeta):
    """Somatic AP current pulses of a CC sweep (theta_burst): their onsets."""

    tag = "ap_train"
    ap_ms: tuple[float, ...]


@dataclass(frozen=True)
class ApScanMeta(ApTrainMeta):
    """A line-scan CC calcium sweep (bap_train, paired_ap, quantal, epsp_ap_pairing): APs, stimuli, AP pulse."""

    tag = "ap_scan"
    stimuli_ms: tuple[float, ...]
    ap_pulse_width_ms: float
    ap_pulse_pA: float


@dataclass(frozen=True)
class ApLevelsMeta(ApScanMeta):
    """An AP scan whose analysis reads dG/R levels (bap_train, paired_ap): the rise and the level window."""

    tag = "ap_levels"
    rise_ms: float
    level_window_ms: float


@dataclass(frozen=True)
class PairingCondition:
    """One condition of the EPSP-AP pairing: its AP and stimulus onsets."""

    role: str
    ap_ms: tuple[float, ...]
    stimuli_ms: tuple[float, ...]


@dataclass(frozen=True)
class PairingMeta(ApScanMeta):
    """An EPSP-AP pairing sweep: the amplitude window and every condition of the step."""

    tag = "epsp_ap_pairing"
    window_ms: float
    first_event_ms: float
    conditions: tuple[PairingCondition, ...]

    def condition(self, role: str) -> PairingCondition:
        """The step's condition of this role; KeyError when it has none."""
        for c in self.conditions:
            if c.role == role:
                return c
        raise KeyError(role)


@dataclass(frozen=True)
class CurrentStepMeta(KindMeta):
    """A hyperpolarizing current step: its level and the synaptic reversal potential the analysis uses."""

    tag = "current_step"
    step_pA: float
    e_syn_mV: float | None = None  # None: the step's own value
    e_syn_source: str = "assumed"


@dataclass(frozen=True)
class FcatMeta(KindMeta):
    """An FCaT sweep: the stimulus onset."""

    tag = "fcat"
    stimulus_ms: float


@dataclass(frozen=True)
class VsdMeta(KindMeta):
    """A voltage-dye sweep: the event onset, the step's sweep count and its AP drive (every sweep replays both)."""

    tag = "vsd"
    event_ms: float
    sweeps_in_step: int
    ap_pulse_pA: float
    ap_width_ms: float


@dataclass(frozen=True)
class NaCaMeta(KindMeta):
    """A Na/Ca camera sweep: which LED each output drives, whether it is stimulated and the stimulus pattern."""

    tag = "na_ca"
    led_channels: tuple[tuple[str, str], ...]  # (LED name, logical output channel)
    stimulated: bool
    frame_lead_ms: float  # frames start this long before the step's stimulus times
    stimulus_onsets_ms: tuple[float, ...]  # the step's onsets (before the lead)


@dataclass(frozen=True)
class TestPulseMeta(KindMeta):
    """A membrane test pulse from the window."""

    tag = "test_pulse"
    holding_mV: float
    step_mV: float


@dataclass(frozen=True)
class LiveCameraMeta(KindMeta):
    """A live camera view: the LED on and the frame rate."""

    tag = "live_camera"
    led: str
    rate_hz: float


@dataclass(frozen=True)
class StimulusTestMeta(KindMeta):
    """A test stimulus from the window."""

    tag = "stimulus_test"
    amplitude_V: float
    width_ms: float
