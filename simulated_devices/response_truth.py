"""Truth of the response estimates (Na/Ca, hyperpolarizing steps, VSD, theta burst, paired APs, bAP trains,
EPSP-AP pairing).

Each truth is the quantity its estimate names, computed from the noise-free expected sweep: the sweep's own
amplifier command replayed in the private copy of the cell (`EpspProbe.model_for`, the spine state copied at
the sweep start), every recruited synapse receiving its expected release at each stimulus as a fractional
quantum (release probability at the bath's Ca, facilitated by the earlier pulses of the sweep as
`release.ReleaseSites` does, times photodamage), and head Ca/Na integrated from the cell's currents as the
specimen integrates them. Where an estimate is a property of the signal itself (a ratio of fluorescence levels,
a rise time), its truth is the same property of the noise-free signal. Nothing here touches the live specimen.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rig.analysis.ap_calcium import feller_levels, fit_decay, increments_per_event
from rig.analysis.calcium_signal import RatioTrace
from rig.analysis.kinetics import half_decay_time, rise_time_10_90
from rig.datatypes.kind_meta import ApLevelsMeta, ApScanMeta, ApTrainMeta, CurrentStepMeta, NaCaMeta, PairingMeta
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.calcium_steps import window_mean
from rig.protocols.shared.sweep_building import pulse_train
from simulated_devices.electrical import as_clamp_mode
from simulated_devices.ions import HeadCalcium, HeadSodium, uM_per_ms_per_pA
from simulated_devices.line_scan_truth import expected_ratio_trace
from simulated_devices.release import ca_release_scale
from simulated_devices.truth import SpineState, reversal_truth

if TYPE_CHECKING:
    from simulated_devices.specimen import Specimen

MAX_ENUMERATED_PULSES = 6  # success/failure patterns enumerated exactly up to this many stimuli per sweep
PLAN_TAIL_SAMPLES = 2  # rig/protocols/shared/calcium_scan._TAIL: the last samples of a sweep hold the safe outputs
SPIKE_THRESHOLD_MV = 0.0  # a somatic AP crosses this (as rig/protocols/shared/calcium_steps.count_spikes counts)


@dataclass(frozen=True)
class Replay:
    """The noise-free expected sweep at the target: per model step (end times from the sweep start)."""

    t_ms: np.ndarray
    v_soma_mV: np.ndarray
    v_head_mV: np.ndarray
    v_base_mV: np.ndarray  # the dendrite at the target spine's base
    i_ca_pA: np.ndarray  # NMDA + R-type Ca current into the target head (inward negative)
    i_na_pA: np.ndarray  # Na current into the target head (inward negative)
    dt_ms: float


def pulse_probabilities(specimen: "Specimen", state: SpineState, stimuli_ms: list[float]) -> np.ndarray:
    """(pulses, synapses) release probability of every model synapse at each stimulus of one sweep: the
    isolated-pulse probability at the bath's Ca, facilitated by the sweep's earlier pulses (release.py)."""
    st = specimen.sim.stimulation
    scale = ca_release_scale(state.external_ca_mM)
    out = np.zeros((len(stimuli_ms), state.release_p0.size))
    for k, t in enumerate(stimuli_ms):
        f = st.facilitation_increment * sum(math.exp(-(t - u) / st.facilitation_tau_ms) for u in stimuli_ms[:k])
        out[k] = np.minimum(1.0, state.release_p0 * scale * (1.0 + f))
    return out


def replay(specimen: "Specimen", state: SpineState, mode: str, command: np.ndarray, rate_hz: float,
           events: list[tuple[float, int, float]]) -> Replay:
    """Run the command (per DAQ sample at rate_hz; mV in VC, pA in CC) from the steady state of its first value,
    with synaptic events (ms, model synapse, weight), at the cell's fine step."""
    dt = specimen.sim.electrical_dt_ms
    duration_ms = command.size / rate_hz * 1000.0
    n = max(1, int(round(duration_ms / dt)))
    sample = np.minimum(((np.arange(n) + 0.5) * dt * rate_hz / 1000.0).astype(int), command.size - 1)
    cmd = np.asarray(command, dtype=float)[sample]
    ev = [(min(n - 1, int(round(t / dt))), j, w) for t, j, w in events if w > 0]
    with specimen.epsp_probe.lock:
        model = specimen.epsp_probe.model_for(state.cell.blockers, state.cell.necks_MOhm)
        clamp = as_clamp_mode(mode)
        model.settle(clamp, float(cmd[0]))
        tr = model.advance(dt, n, clamp, cmd, ev)
    i = state.index
    return Replay(tr.time_ms - tr.t_start_ms, tr.v_soma_mV, tr.v_head_mV[:, i], tr.v_dend_at_spine_mV[:, i],
                  tr.i_ca_nmda_pA[:, i] + tr.i_ca_vgcc_pA[:, i], tr.i_na_pA[:, i], dt)


def expected_events(specimen: "Specimen", state: SpineState, stimuli_ms: list[float]) -> list[tuple[float, int, float]]:
    """Every recruited synapse's expected quanta at every stimulus (probability x photodamage)."""
    p = pulse_probabilities(specimen, state, stimuli_ms) * state.health
    return [(t, int(j), float(p[k, j])) for k, t in enumerate(stimuli_ms) for j in np.flatnonzero(p[k] > 0)]


def _command(plan: SweepPlan, mode: str) -> np.ndarray:
    """The plan's amplifier command per sample (CC 0 pA when the plan drives no amplifier)."""
    if plan.amplifier is not None and f"{plan.amplifier}.command" in plan.outputs:
        return np.asarray(plan.outputs[f"{plan.amplifier}.command"], dtype=float)
    return np.zeros(plan.n_samples)


def _mode(plan: SweepPlan) -> str:
    return plan.amplifier_mode or "CC"


# ----- head ions from a replay ---------------------------------------------------------------------------------
def head_sodium_mM(specimen: "Specimen", state: SpineState, r: Replay) -> np.ndarray:
    """Head [Na+] change (mM) over a replay, integrated as the specimen integrates it (exact per step)."""
    g = specimen.spines[state.index]
    to_mM = float(uM_per_ms_per_pA(np.array([g.head_volume_um3]), 1)[0]) / 1000.0
    na = HeadSodium(specimen.sim.sodium.rest_mM, 1)
    trace = na.advance((-r.i_na_pA * to_mM)[:, None], r.dt_ms, np.array([state.spine["tau_na_ms"]]))[:, 0]
    return np.append(trace[1:], na.na_mM[0]) - specimen.sim.sodium.rest_mM


def head_calcium_uM(specimen: "Specimen", state: SpineState, r: Replay) -> tuple[np.ndarray, np.ndarray, float]:
    """(times, head free Ca in uM per ion step, free Ca before the sweep) over a replay, from the steady state
    of the held drive, through the head's buffers, the loaded indicator and the neck."""
    tau_free, tau_dye = state.ca_taus_ms
    head = HeadCalcium(specimen.calcium.params, 1)
    influx = -r.i_ca_pA * state.ca_scale
    c_ss = float(head.steady_free_uM(np.array([max(influx[0], 0.0)]), np.array([tau_free]), np.array([tau_dye]))[0])
    head.total_uM[:] = head.params.total_uM(np.array([c_ss]))
    k = max(1, int(round(specimen.sim.ion_dt_ms / r.dt_ms)))
    m = influx.size // k
    free = head.advance(influx[: m * k].reshape(m, k).mean(axis=1)[:, None], k * r.dt_ms, np.array([tau_free]),
                        np.array([tau_dye]))[:, 0]
    times = (np.arange(m) + 1) * k * r.dt_ms
    return times, free, c_ss


# ----- Na/Ca imaging --------------------------------------------------------------------------------------------
def _na_onsets_ms(plan: SweepPlan) -> list[float]:
    """The step's stimulus onsets (the no-stimulus sweep: those of its stimulated sweeps)."""
    if plan.events_ms:
        return sorted(plan.events_ms.values())
    na_ca = plan.meta.kind_as(NaCaMeta)
    return sorted(t + na_ca.frame_lead_ms for t in na_ca.stimulus_onsets_ms)


def sodium_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """Na/Ca truths of the imaged head for the step's stimulus pattern.

    na_peak_mM: the peak head [Na+] change averaged over the sweeps' release patterns (each stimulus releases at
    the target with its facilitated probability; per pattern, the superposed one-quantum responses);
    na_rise_10_90_ms, na_half_decay_ms: 10-90 % rise and peak-to-half decay of the mean transient;
    success_probability: the probability that a sweep's stimuli release at least one quantum at the target."""
    onsets = _na_onsets_ms(plan)
    mode = _mode(plan)
    command = np.full(plan.n_samples, float(_command(plan, mode)[0]))
    i = state.index
    units = []
    for t in onsets:  # one quantum (x photodamage) at the target only: the head's own Na entry
        r = replay(specimen, state, mode, command, plan.sample_rate_hz, [(t, i, float(state.health[i]))])
        units.append(head_sodium_mM(specimen, state, r))
    quiet = head_sodium_mM(specimen, state, replay(specimen, state, mode, command, plan.sample_rate_hz, []))
    units = [u - quiet for u in units]
    p = pulse_probabilities(specimen, state, onsets)[:, i]
    mean = np.sum([pk * u for pk, u in zip(p, units)], axis=0)
    t = r.t_ms
    if len(onsets) <= MAX_ENUMERATED_PULSES:
        peak = 0.0
        for pattern in itertools.product((0, 1), repeat=len(onsets)):
            prob = float(np.prod([pk if s else 1.0 - pk for pk, s in zip(p, pattern)]))
            if prob > 0 and any(pattern):
                peak += prob * float(np.max(np.sum([u for u, s in zip(units, pattern) if s], axis=0)))
    else:  # many stimuli: the peak of the mean transient
        peak = float(np.max(mean))
    after = t >= onsets[0]
    return {"na_peak_mM": peak, "na_rise_10_90_ms": rise_time_10_90(t[after], mean[after]),
            "na_half_decay_ms": _na_half_decay_ms(t[after], mean[after], state.spine["tau_na_ms"]),
            "success_probability": 1.0 - float(np.prod(1.0 - p))}


def _na_half_decay_ms(t_ms: np.ndarray, mean_mM: np.ndarray, tau_na_ms: float) -> float:
    """Peak-to-half time of the mean transient; past the sweep's end, the head's exponential exchange with the
    dendrite (HeadSodium: d[Na]/dt = -[Na]/tau_Na once the entry is over) carries the decay on, as the estimate
    extends its fitted model past the sweep."""
    half = half_decay_time(t_ms, mean_mM)
    if math.isfinite(half):
        return half
    k = int(np.argmax(mean_mM))
    end = float(mean_mM[-1])
    if not 0 < end < mean_mM[k] or k == mean_mM.size - 1:
        return math.nan
    return float(t_ms[-1] - t_ms[k] + tau_na_ms * math.log(end / (0.5 * mean_mM[k])))


# ----- hyperpolarizing steps ------------------------------------------------------------------------------------
HYP_BASELINE_MS = 20.0  # HyperpolarizingStepsStep defaults: the baseline before each stimulus
HYP_WINDOW_MS = (1.0, 30.0)  # and the response window after it


def _pulse_after(t: np.ndarray, v: np.ndarray, onset_ms: float) -> tuple[float, float]:
    """(peak above the baseline in the response window, baseline) of a noise-free trace at one stimulus."""
    base = float(np.mean(v[(t >= onset_ms - HYP_BASELINE_MS) & (t < onset_ms)]))
    window = (t >= onset_ms + HYP_WINDOW_MS[0]) & (t < onset_ms + HYP_WINDOW_MS[1])
    return float(np.max(v[window]) - base), base


def hyperpolarizing_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """Hyperpolarizing-step truths for the sweep's step amplitude (tag "<step>pA").

    input_resistance_MOhm: somatic potential before the stimulus in the step minus that before the stimulus at
    rest, per pA of the step; response_ratio_measured_<tag>: the expected somatic EPSP (every recruited synapse's
    expected release) in the step over that at rest; response_ratio_expected_<tag>: the driving-force ratio
    (E - V_hyp)/(E - V_rest) with the true synaptic reversal E (reversal_mV) and the true potentials."""
    level = plan.meta.kind_as(CurrentStepMeta).step_pA
    tag = f"{level:g}pA"
    stimuli = sorted(plan.events_ms.values())
    r = replay(specimen, state, "CC", _command(plan, "CC"), plan.sample_rate_hz,
               expected_events(specimen, state, stimuli))
    (epsp_rest, v_rest), (epsp_hyp, v_hyp) = (_pulse_after(r.t_ms, r.v_soma_mV, s) for s in stimuli[:2])
    out = {"input_resistance_MOhm": (v_hyp - v_rest) / level * 1e3,
           f"response_ratio_measured_{tag}": epsp_hyp / epsp_rest if epsp_rest > 0 else math.nan}
    reversal = reversal_truth(specimen, state).get("reversal_mV")
    if reversal is not None:
        out[f"response_ratio_expected_{tag}"] = (reversal - v_hyp) / (reversal - v_rest)
    return out


# ----- AP-driven steps ------------------------------------------------------------------------------------------
def theta_burst_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """ap_success_fraction: the fraction of the train's current pulses that evoke a somatic AP in the noise-free
    replay of the sweep (upward crossings of 0 mV, at most one per pulse)."""
    r = replay(specimen, state, "CC", _command(plan, "CC"), plan.sample_rate_hz, [])
    above = r.v_soma_mV > SPIKE_THRESHOLD_MV
    spikes = int(np.count_nonzero(above[1:] & ~above[:-1]))
    pulses = len(plan.meta.kind_as(ApTrainMeta).ap_ms)
    return {"ap_success_fraction": min(spikes, pulses) / pulses}


def _line_trace(specimen: "Specimen", state: SpineState, plan: SweepPlan, r: Replay) -> RatioTrace:
    """Noise-free head dG/R of a line-scan sweep whose head Ca is the replay's (line_scan_truth)."""
    times, free, c0 = head_calcium_uM(specimen, state, r)
    return expected_ratio_trace(specimen, plan, state.index, times, free, c0)


def paired_ap_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """Paired-AP truths of the imaged head. ca_per_ap_nM: the first AP's step of head free Ca (nM), read in the
    level windows the analysis reads the dye in (mean over [AP1 + rise_ms, + level_window_ms) minus the mean over
    the window before AP1; rig.analysis.ap_calcium.increments_per_event), not the free Ca's brief peak, which the
    dye-buffered head has already left at the window (up to 8 % higher on a 33 MOhm spine); without level windows
    the rise to the peak before the second AP; feller_ratio: a = (F3 - F2)/(F1 - F0) of the noise-free head dG/R, the levels
    taken in the step's windows (rig.analysis.ap_calcium.feller_levels, as the analysis takes them)."""
    kind = plan.meta.kind_as(ApScanMeta)
    onsets = list(kind.ap_ms)
    r = replay(specimen, state, "CC", _command(plan, "CC"), plan.sample_rate_hz, [])
    times, free, c0 = head_calcium_uM(specimen, state, r)
    if isinstance(kind, ApLevelsMeta):
        step = increments_per_event(times, free, onsets[:1], kind.rise_ms, kind.level_window_ms)[0]
    else:
        first = (times > onsets[0]) & (times < (onsets[1] if len(onsets) > 1 else times[-1] + 1.0))
        step = float(np.max(free[first]) - c0)
    out = {"ca_per_ap_nM": float(step) * 1e3}
    if len(onsets) == 2 and isinstance(kind, ApLevelsMeta):
        trace = expected_ratio_trace(specimen, plan, state.index, times, free, c0)
        levels = feller_levels(trace.times_ms, trace.dg_over_r, onsets[0], onsets[1], kind.rise_ms,
                               kind.level_window_ms)
        if levels.f1 != levels.f0:
            out["feller_ratio"] = levels.ratio
    return out


def bap_calcium_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """bAP-train truths of the imaged head, measured on the noise-free head dG/R as the analysis measures them:
    ca_amplitude_per_ap and ca_amplitude_first_ap: the mean step at the APs and the step at the first
    (rig.analysis.ap_calcium.increments_per_event, the step's windows); ca_decay_ms: the time constant of the
    exponential (with offset) fitted from the last AP + rise_ms to the end of the sweep (fit_decay)."""
    kind = plan.meta.kind_as(ApLevelsMeta)
    onsets = list(kind.ap_ms)
    r = replay(specimen, state, "CC", _command(plan, "CC"), plan.sample_rate_hz, [])
    trace = _line_trace(specimen, state, plan, r)
    t, y = trace.times_ms, trace.dg_over_r
    rise, window = kind.rise_ms, kind.level_window_ms
    steps = increments_per_event(t, y, onsets, rise, window)
    out = {"ca_amplitude_per_ap": float(steps.mean()), "ca_amplitude_first_ap": float(steps[0])}
    try:
        fit = fit_decay(t, y, onsets[-1] + rise)
    except ValueError:
        return out
    if fit.converged:
        out["ca_decay_ms"] = fit.tau_ms
    return out


def _pairing_command(plan: SweepPlan, ap_ms: list[float]) -> np.ndarray:
    """The CC command of a pairing sweep with these AP pulses (as rig/protocols/shared/calcium_scan.calcium_sweep builds
    it: holding plus one rectangular pulse per AP, the last samples back at the holding)."""
    own = _command(plan, "CC")
    holding = float(own[0])
    kind = plan.meta.kind_as(ApScanMeta)
    command = np.full(own.size, holding)
    for onset in ap_ms:
        command += pulse_train(own.size, plan.sample_rate_hz, [onset], kind.ap_pulse_width_ms, kind.ap_pulse_pA)
    command[own.size - PLAN_TAIL_SAMPLES:] = holding
    return command.astype(np.float32)


def _expected_window_mean(specimen: "Specimen", state: SpineState, plan: SweepPlan, command: np.ndarray,
                          stimuli_ms: list[float], start_ms: float, stop_ms: float) -> float:
    """Expected mean noise-free head dG/R over [start, stop) of a sweep: every success/failure pattern of the
    target's synapse at the stimuli weighted by its probability (one mean quantum x photodamage per success), the
    other recruited synapses at their expected release. The sweep is replayed only up to the window's end."""
    i = state.index
    last = min(command.size, int(math.ceil(stop_ms * plan.sample_rate_hz / 1000.0)) + 1)  # nothing later matters
    p = pulse_probabilities(specimen, state, stimuli_ms)
    others = [(t, int(j), float(p[k, j] * state.health[j])) for k, t in enumerate(stimuli_ms)
              for j in np.flatnonzero(p[k] > 0) if j != i]
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=len(stimuli_ms)):
        prob = float(np.prod([p[k, i] if s else 1.0 - p[k, i] for k, s in enumerate(pattern)]))
        if prob <= 0:
            continue
        target = [(t, i, float(state.health[i])) for t, s in zip(stimuli_ms, pattern) if s]
        r = replay(specimen, state, "CC", command[:last], plan.sample_rate_hz, others + target)
        trace = _line_trace(specimen, state, plan, r)
        total += prob * window_mean(trace.times_ms, trace.dg_over_r, start_ms, stop_ms)
    return total


def epsp_ap_pairing_truth(specimen: "Specimen", state: SpineState, plan: SweepPlan) -> dict[str, float]:
    """EPSP-AP pairing truths (every sweep of the step carries them): supralinearity_index and
    supralinearity_index_after = E[amplitude] of EPSPs before (after) the APs / (E[amplitude] of EPSPs alone +
    E[amplitude] of APs alone), an amplitude the mean noise-free head dG/R over window_ms from the first event, each
    condition's sweep built from the step's events (PairingMeta.conditions), release as in
    _expected_window_mean."""
    pairing = plan.meta.kind_as(PairingMeta)
    start = pairing.first_event_ms
    stop = start + pairing.window_ms
    amp = {}
    for ev in pairing.conditions:
        command = _command(plan, "CC") if ev.role == plan.meta.role else _pairing_command(plan, list(ev.ap_ms))
        amp[ev.role] = _expected_window_mean(specimen, state, plan, command, list(ev.stimuli_ms), start, stop)
    single = amp["epsp"] + amp["ap"]
    if single <= 0:
        return {}
    return {"supralinearity_index": amp["epsp_before_ap"] / single,
            "supralinearity_index_after": amp["epsp_after_ap"] / single}
