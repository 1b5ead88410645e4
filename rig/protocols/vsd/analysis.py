"""Online voltage-imaging analysis: per-type averages, AP alignment, calibration to mV, isolated spine response."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from rig.analysis.ap_calcium import epsp_amplitude_mV
from rig.analysis.confidence import two_sided_z
from rig.analysis.voltage_imaging import (
    MV_VALUES,
    AmplitudeTrend,
    MvScale,
    VoltageResult,
    align,
    amplitude_trend,
    bootstrap,
    delta_f_over_f,
    detect_ap,
    percentile_interval,
    roi_trace,
    voltage_responses,
)
from rig.datatypes.kind_meta import VsdMeta
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.shared.common import AnalysisUpdate
from rig.protocols.vsd.schema import ROLES, VsdStep

log = logging.getLogger(__name__)
ROIS = ("head", "dendrite")
_RESPONSES = ("head", "dendrite", "spine_minus_dendrite")
TREND_ALPHA = 0.05  # a per-sweep size slope this significant: the spine changed (reported, present value published)
RESOLVED_LINES = 4  # a rise whose bound is this many line periods (in nearly every resampling) is resolved: also
# published two-sided
_LABEL = {"head": "spine head", "dendrite": "parent dendrite", "spine_minus_dendrite": "isolated spine (head - dendrite)"}


@dataclass
class RoleSweeps:
    """The sweeps of one type: aligned dF/F rows per ROI on the first sweep's time grid, and somatic values."""

    grids: dict[str, np.ndarray] = field(default_factory=dict)
    rows: list[np.ndarray] = field(default_factory=list)  # per sweep: head values, dendrite values, extras
    sweeps: list[int] = field(default_factory=list)

    def add(self, sweep_index: int, traces: dict[str, tuple[np.ndarray, np.ndarray]], align_ms: float,
            extras: list[float]) -> None:
        """Keep one sweep, resampled onto the role's grid (times from the aligning event)."""
        if not self.grids:
            self.grids = {roi: t - align_ms for roi, (t, _) in traces.items()}
        parts = [align(traces[roi][0], traces[roi][1], align_ms, self.grids[roi]) for roi in ROIS]
        self.rows.append(np.concatenate(parts + [np.asarray(extras, float)]))
        self.sweeps.append(sweep_index)

    def stack(self) -> np.ndarray:
        """(sweeps, values) array."""
        return np.array(self.rows)

    def split(self, mean_row: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """A (mean) row as per-ROI (grid, values)."""
        out, a = {}, 0
        for roi in ROIS:
            n = self.grids[roi].size
            out[roi] = (self.grids[roi], mean_row[a:a + n])
            a += n
        return out


class VsdAnalysis:
    """Keeps every sweep by type and publishes head, dendrite and isolated spine responses in mV after each sweep."""

    def __init__(self, step: VsdStep):
        self.step = step
        self.roles = {r: RoleSweeps() for r in ROLES}
        self._warned: set[str] = set()
        self._clear: dict[str, bool] = {}

    # ----- one sweep ----------------------------------------------------------------
    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray]) -> AnalysisUpdate:
        """Add this sweep to its type; when every type has 2 sweeps, publish the calibrated estimates."""
        update = AnalysisUpdate()
        role = plan.meta.role
        if role not in self.roles:
            return update
        try:
            self._add(sweep_index, plan, data, role, update)
        except (ValueError, KeyError) as exc:
            update.notices.append(Notice("warning", "vsd", f"sweep {sweep_index + 1} ({role}): not used ({exc})",
                                         sweep_index))
            return update
        final = plan.sweep_in_step == plan.meta.kind_as(VsdMeta).sweeps_in_step - 1
        missing = [r for r in ROLES if len(self.roles[r].rows) < 2]
        if missing:
            if final:
                update.notices.append(Notice("warning", "vsd", "no voltage estimate: fewer than 2 usable sweeps of "
                                             f"type {', '.join(missing)}", sweep_index))
            return update
        self._publish(sweep_index, plan.step_name, final, update)
        return update

    def _add(self, sweep_index: int, plan: SweepPlan, data: dict[str, np.ndarray], role: str,
             update: AnalysisUpdate) -> None:
        s, m, name = self.step, plan.meta, plan.step_name
        event = m.kind_as(VsdMeta).event_ms
        channel = m.green_channel if s.rois.vsd_pmt == s.imaging.green_pmt else m.red_channel
        v = np.asarray(data[f"{plan.amplifier}.primary"], float)
        rate = plan.sample_rate_hz
        spots = {"head": (plan.target_um, s.imaging.head_roi_radius_um),
                 "dendrite": (s.rois.dendrite_um, s.rois.dendrite_roi_radius_um)}
        traces = {}
        for roi, (point, radius) in spots.items():
            rt = roi_trace(data[channel], plan.line_scan, rate, point, radius)
            traces[roi] = (rt.times_ms, delta_f_over_f(rt.counts, rt.dark, rt.times_ms < event))
        if role == "ap":
            ap = detect_ap(v, rate, event)
            self.roles[role].add(sweep_index, traces, ap.peak_ms, [ap.amplitude_mV])
            update.features.append(Feature(sweep_index, name, "soma_ap_amplitude_mV", ap.amplitude_mV, math.nan,
                                           math.nan, "mV"))
        elif role == "synaptic":
            epsp = epsp_amplitude_mV(v, rate, event, min(20.0, event - 1.0), s.analysis.response_window_ms)[0]
            self.roles[role].add(sweep_index, traces, event, [])
            update.features.append(Feature(sweep_index, name, "soma_epsp_mV", epsp, math.nan, math.nan, "mV"))
        else:
            hyp = s.hyperpolarizing_step
            lo, hi = event + hyp.duration_ms - hyp.steady_window_ms, event + hyp.duration_ms
            k = rate / 1000.0
            dv = float(np.mean(v[int(lo * k):int(hi * k)]) - np.mean(v[int((event - 20) * k):int(event * k)]))
            steady = [float(np.mean(y[(t >= lo) & (t < hi)])) for t, y in traces.values()]
            if not all(math.isfinite(x) for x in steady):
                raise ValueError("no line in the steady-state window of the step")
            self.roles[role].add(sweep_index, traces, event, steady + [dv])
            update.features.append(Feature(sweep_index, name, "soma_hyp_steady_mV", dv, math.nan, math.nan, "mV"))

    # ----- estimates ----------------------------------------------------------------
    def _statistic(self, syn: np.ndarray, ap: np.ndarray, hyp: np.ndarray) -> dict[str, float]:
        return self.result(syn, ap, hyp).values()

    def scale(self, hyp: np.ndarray) -> MvScale:
        """The mV scale of the step's calibration for these hyperpolarizing sweeps (the assumption's central value)."""
        c = self.step.calibration
        if c.scale == "bap" and c.bap_amplitude_mV is not None:  # the schema requires the amplitude with 'bap'
            return MvScale("bap", float(c.bap_amplitude_mV))
        return MvScale("step", float(hyp.mean(axis=0)[-1]) * c.steady_state_attenuation)

    def result(self, syn: np.ndarray, ap: np.ndarray, hyp: np.ndarray) -> VoltageResult:
        """Calibrated responses of the mean of the given sweep stacks (rows as RoleSweeps keeps them: ROI values,
        then the extras: somatic AP amplitude; steady head dF/F, dendrite dF/F, somatic mV of the step)."""
        s = self.step
        hyp_mean = hyp.mean(axis=0)
        split = self.roles["synaptic"].split
        halves = (split(syn[0::2].mean(axis=0)), split(syn[1::2].mean(axis=0))) if syn.shape[0] >= 2 else None
        return voltage_responses(split(syn.mean(axis=0)), self.roles["ap"].split(ap.mean(axis=0)),
                                 {"head": float(hyp_mean[-3]), "dendrite": float(hyp_mean[-2])}, self.scale(hyp),
                                 s.calibration.ap_window_ms, s.analysis.response_window_ms, s.analysis.threshold_sd,
                                 halves)

    def _scale_basis(self, hyp: np.ndarray, n_hyp: int) -> str:
        c = self.step.calibration
        if c.scale == "bap":
            return (f"mV scale: the bAP in the parent dendrite is {c.bap_amplitude_mV:g} mV (operator's value, "
                    f"{_pct(c.bap_amplitude_rel_sd)} SD)")
        soma = float(hyp.mean(axis=0)[-1])
        return (f"mV scale: the step's steady state at the imaged site, {soma:.1f} mV at the soma (mean of {n_hyp} "
                f"steps) x {c.steady_state_attenuation:g} soma-to-site attenuation (operator's value, "
                f"{_pct(c.steady_state_attenuation_rel_sd)} SD)")

    def _publish(self, sweep_index: int, name: str, final: bool, update: AnalysisUpdate) -> None:
        s, a = self.step, self.step.analysis
        groups = [self.roles[r].stack() for r in ROLES]
        try:
            full = self.result(*groups)
        except ValueError as exc:
            self._notice(update, sweep_index, "calibration", f"no voltage estimate yet: {exc}", final)
            return
        rng = np.random.default_rng(a.seed)
        reps = bootstrap(groups, self._statistic, a.bootstrap_samples, rng)
        # the mV scale's assumption: one log-normal factor per resampling on every value in mV
        factor = np.exp(rng.normal(0.0, s.calibration.rel_sd, a.bootstrap_samples))
        for key in MV_VALUES:
            if key in reps:
                reps[key] = reps[key] * factor[:reps[key].size]
        values = full.values()
        n = {r: len(self.roles[r].rows) for r in ROLES}
        scale_basis = self._scale_basis(groups[2], n["hyperpolarizing"])
        basis = (f"averages of {n['synaptic']} synaptic sweeps (aligned to the stimulus), {n['ap']} AP sweeps "
                 f"(aligned to the somatic AP peak), {n['hyperpolarizing']} hyperpolarizing steps; dF/F of each ROI "
                 f"normalized by its steady-state step response; {scale_basis}; "
                 f"{_pct(a.confidence_level)} bootstrap interval over sweeps ({a.bootstrap_samples} resamplings, "
                 "with the scale's uncertainty)")

        def emit(key: str, unit: str, text: str, trend: AmplitudeTrend | None = None) -> None:
            lo, hi = percentile_interval(reps.get(key, np.empty(0)), a.confidence_level)
            value = values[key]
            if math.isfinite(value) and math.isfinite(lo) and math.isfinite(hi):
                lo, hi = min(lo, value), max(hi, value)
                sentence = ""
                if (trend is not None and trend.p_value < TREND_ALPHA and math.isfinite(trend.fold)
                        and trend.present_factor > 0 and lo > 0):
                    value, lo, hi, sentence = _present(key, value, lo, hi, trend, a.confidence_level)
                    text += (f"; the response changed over the sweeps (per-sweep size on sweep number, slope p = "
                             f"{trend.p_value:.2g}): the value is the present one, the line's at the last synaptic "
                             "sweep")
                update.estimates.append(Estimate(sweep_index, name, key, value, lo, hi, unit, text, trend=sentence))
            else:
                self._notice(update, sweep_index, key, f"no interval for {key} yet (fewer than 80 % of the "
                             "bootstrap resamplings give a value)", final)

        def emit_bound(key: str, unit: str, text: str) -> None:
            r = reps.get(key, np.empty(0))
            finite = r[np.isfinite(r)]
            value = values[key]
            if math.isfinite(value) and finite.size >= 0.8 * max(r.size, 1):
                hi = max(float(np.percentile(finite, 100 * a.confidence_level)), value)
                update.estimates.append(Estimate(sweep_index, name, key, value, math.nan, hi, unit, text,
                                                 bound="upper"))
            else:
                self._notice(update, sweep_index, key, f"no bound for {key} yet (fewer than 80 % of the "
                             "bootstrap resamplings give one)", final)

        trends = self._trends(full, groups[0])
        for resp in _RESPONSES:
            r = full.responses[resp]
            emit(f"{resp}_mV", "mV", f"peak EPSP of the {_LABEL[resp]}: {basis}; noise SD {r.noise_sd_mV:.2f} mV",
                 trends.get(resp))
            self._detection(sweep_index, resp, r.amplitude_mV, r.noise_sd_mV, r.clear, n["synaptic"], final, update)
            if r.clear:
                line_ms = 1000.0 / s.imaging.line_rate_hz
                emit_bound(f"{resp}_rise_10_90_upper_bound_ms", "ms", f"upper bound of the 10-90 % rise time of the "
                           f"averaged {_LABEL[resp]} response: from the last line below 10 % to the first line above "
                           f"90 % of the peak (line period {line_ms:.2f} ms; {_pct(a.confidence_level)} one-sided "
                           "bootstrap bound)")
                bounds = reps.get(f"{resp}_rise_10_90_upper_bound_ms", np.empty(0))
                bounds = bounds[np.isfinite(bounds)]
                if bounds.size and float(np.percentile(bounds, 100 * (1 - a.confidence_level))) >= RESOLVED_LINES * line_ms:
                    emit(f"{resp}_rise_10_90_ms", "ms", f"10-90 % rise time of the averaged {_LABEL[resp]} response "
                         f"(resolved: the rise spans {r.rise_10_90_bound_ms / line_ms:.0f} lines of {line_ms:.2f} ms)")
                emit(f"{resp}_half_width_ms", "ms", f"full width at half maximum of the averaged {_LABEL[resp]} "
                     "response")
        if full.responses["dendrite"].clear:
            emit("head_to_dendrite_ratio", "1", "peak head / peak dendrite EPSP (independent of the mV scale)")
        if s.calibration.scale == "step":  # on the "bap" scale the bAP amplitude is the operator's, not measured
            emit("bap_amplitude_mV", "mV", f"peak of the bAP in the parent dendrite (averaged AP sweeps): {basis}")
        emit("bap_head_to_dendrite_ratio", "1", "bAP in the head / in the dendrite, each in units of its own "
             "steady-state hyperpolarization response (1: the bAP invades the head undiminished)")

    def _trends(self, full: VoltageResult, syn: np.ndarray) -> dict[str, AmplitudeTrend | None]:
        """The per-sweep size trend of each response (synaptic rows in mV on the calibration of `full`)."""
        split, cal = self.roles["synaptic"].split, full.calibration
        per_roi: dict[str, list[np.ndarray]] = {"head": [], "dendrite": [], "spine_minus_dendrite": []}
        grids = self.roles["synaptic"].grids
        for row in syn:
            parts = split(row)
            head = cal.to_mV("head", parts["head"][1])
            dend = cal.to_mV("dendrite", parts["dendrite"][1])
            per_roi["head"].append(head)
            per_roi["dendrite"].append(dend)
            per_roi["spine_minus_dendrite"].append(head - np.interp(grids["head"], grids["dendrite"], dend,
                                                                    left=np.nan, right=np.nan))
        sweeps = self.roles["synaptic"].sweeps
        window = self.step.analysis.response_window_ms
        return {resp: amplitude_trend(grids["dendrite" if resp == "dendrite" else "head"], np.array(rows), sweeps,
                                      window) for resp, rows in per_roi.items()}

    def _detection(self, sweep_index: int, resp: str, peak: float, noise: float, clear: bool, n_syn: int,
                   final: bool, update: AnalysisUpdate) -> None:
        """A notice when a response is not (or no longer) clear, and at the last sweep for every unclear one."""
        was = self._clear.get(resp)
        self._clear[resp] = clear
        if clear and not final:
            return
        if clear:
            return
        if was is None or was or final:
            th = self.step.analysis.threshold_sd
            update.notices.append(Notice("warning", "vsd", f"no clear {_LABEL[resp]} response: peak {peak:.2f} mV "
                                         f"is below {th:g} x noise SD ({th * noise:.2f} mV) after {n_syn} synaptic "
                                         "sweeps; no rise time or half-width", sweep_index))

    def _notice(self, update: AnalysisUpdate, sweep_index: int, key: str, message: str, final: bool) -> None:
        if key not in self._warned or final:
            self._warned.add(key)
            update.notices.append(Notice("warning", "vsd", message, sweep_index))


def _present(key: str, value: float, lo: float, hi: float, trend: AmplitudeTrend,
             level: float) -> tuple[float, float, float, str]:
    """An average over a changing spine moved to the present (the trend line at the last sweep): the value scaled by
    the line's present / average ratio, the interval's log half-widths widened by that ratio's SE (in quadrature)."""
    z = two_sided_z(level)
    f = trend.present_factor
    extra = z * trend.present_rel_se / f
    down = math.hypot(math.log(value / lo), extra)
    up = math.hypot(math.log(hi / value), extra)
    verb, factor = ("rose", trend.fold) if trend.fold > 1 else ("fell", 1.0 / trend.fold)
    sentence = f"{key} {verb} x{factor:.2f} over sweeps {trend.first_sweep + 1}-{trend.last_sweep + 1}"
    present = value * f
    return present, present * math.exp(-down), present * math.exp(up), sentence


def _pct(level: float) -> str:
    return f"{100 * level:g} %"
