"""Hyperpolarizing steps with the driving-force check (CC, no imaging).

Each sweep: a synaptic stimulus at rest, then a hyperpolarizing current step (150 ms, -300 to
-400 pA) with a second stimulus at its steady state. The EPSP during the step should scale by
(E_syn - V_hyp)/(E_syn - V_rest) if no voltage-gated channel boosts it; the steady-state
hyperpolarization per pA is the input resistance (the calibration of voltage imaging).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from rig.analysis.ap_calcium import epsp_amplitude_mV
from rig.analysis.calibration import driving_force_ratio
from rig.analysis.responses import ratio_of_means
from rig.config.profile import HardwareProfile
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.engine.program import RunContext
from rig.protocols.calcium_scan import StimulusSpec, calcium_sweep, check_condition, check_current, check_stimulus
from rig.protocols.calcium_transients import finite
from rig.protocols.common import AnalysisUpdate, StepBase, StepProblem, resolve_device


class HyperpolarizingStepsStep(StepBase):
    """Synaptic responses at rest and at the steady state of hyperpolarizing current steps."""

    kind: Literal["hyperpolarizing_steps"]
    steps_pA: list[float] = Field(default=[-300.0, -400.0], min_length=1, description="step amplitudes (< 0)")
    sweeps: int = Field(default=5, ge=2, le=10000, description="sweeps per step amplitude (interleaved)")
    step_ms: float = Field(default=150.0, gt=0)
    stimulus: StimulusSpec = StimulusSpec()
    stimulus_rest_ms: float = Field(default=50.0, gt=0)
    step_onset_ms: float = Field(default=150.0, gt=0)
    stimulus_in_step_ms: float = Field(default=100.0, gt=0, description="from step onset to the second stimulus")
    baseline_ms: float = Field(default=20.0, gt=0)
    window_ms: tuple[float, float] = Field(default=(1.0, 30.0))
    e_syn_mV: float | Literal["reversal"] = Field(
        default=0.0, description="synaptic reversal potential (mV, assumed), or 'reversal': found by an earlier step")
    cc_holding_pA: float = 0.0
    sweep_ms: float = Field(default=400.0, gt=0)
    interval_s: float = Field(default=2.0, ge=0)
    sample_rate_hz: float = Field(default=10_000.0, gt=0)
    condition: str = "control"
    confidence_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _timing(self) -> "HyperpolarizingStepsStep":
        if any(s >= 0 for s in self.steps_pA):
            raise ValueError("steps_pA must be negative (hyperpolarizing)")
        second = self.step_onset_ms + self.stimulus_in_step_ms
        if self.stimulus_rest_ms + self.window_ms[1] > self.step_onset_ms:
            raise ValueError("the response at rest must end before the step starts")
        if second + self.window_ms[1] > self.step_onset_ms + self.step_ms:
            raise ValueError("the response during the step must end before the step ends")
        if self.step_onset_ms + self.step_ms + 20 > self.sweep_ms:
            raise ValueError("sweep_ms must leave 20 ms after the step")
        if self.baseline_ms > self.stimulus_rest_ms or self.baseline_ms > self.stimulus_in_step_ms:
            raise ValueError("baseline_ms must fit before each stimulus")
        return self

    def stimuli_ms(self) -> tuple[float, float]:
        """Stimulus at rest and at the step's steady state."""
        return self.stimulus_rest_ms, self.step_onset_ms + self.stimulus_in_step_ms


class HyperpolarizingStepsAnalysis:
    """Per step amplitude: EPSPs at rest and hyperpolarized, V_rest, V_hyp; measured vs expected ratio."""

    def __init__(self, step: HyperpolarizingStepsStep):
        self.step = step
        self.rows: dict[float, list[tuple[float, float, float, float]]] = {}
        self._warned: set[float] = set()

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Measure both EPSPs and potentials of this sweep; publish the check for its step amplitude."""
        s, update, name = self.step, AnalysisUpdate(), plan.step_name
        v = np.asarray(data[f"{plan.amplifier}.primary"], float)
        level = float(plan.parameters["step_pA"])
        rest_ms, hyp_ms = s.stimuli_ms()
        try:
            epsp_rest, v_rest = epsp_amplitude_mV(v, plan.sample_rate_hz, rest_ms, s.baseline_ms, s.window_ms)
            epsp_hyp, v_hyp = epsp_amplitude_mV(v, plan.sample_rate_hz, hyp_ms, s.baseline_ms, s.window_ms)
        except ValueError as exc:
            update.notices.append(Notice("warning", "hyperpolarizing_steps", f"sweep {sweep_index + 1}: {exc}",
                                         sweep_index))
            return update
        rows = self.rows.setdefault(level, [])
        rows.append((epsp_rest, epsp_hyp, v_rest, v_hyp))
        tag = f"{level:g}pA"
        update.features += [Feature(sweep_index, name, f"epsp_rest_mV_{tag}", epsp_rest, np.nan, np.nan, "mV"),
                            Feature(sweep_index, name, f"epsp_hyp_mV_{tag}", epsp_hyp, np.nan, np.nan, "mV")]
        arr = np.array(rows)
        if arr.shape[0] < 2:
            return update
        v_rest_m, v_hyp_m = float(arr[:, 2].mean()), float(arr[:, 3].mean())
        e_syn = plan.parameters.get("e_syn_mV", s.e_syn_mV)
        source = plan.parameters.get("e_syn_source", "assumed")
        expected = driving_force_ratio(float(e_syn), v_hyp_m, v_rest_m)
        r_in = (arr[:, 3] - arr[:, 2]) / level * 1e3  # mV / pA -> MOhm
        half = float(2 * r_in.std(ddof=1) / np.sqrt(r_in.size))
        update.estimates.append(Estimate(sweep_index, name, "input_resistance_MOhm", float(r_in.mean()),
                                         float(r_in.mean()) - half, float(r_in.mean()) + half, "MOhm",
                                         "steady-state hyperpolarization / step current (mean +- 2 SE)"))
        update.estimates.append(Estimate(sweep_index, name, f"response_ratio_expected_{tag}", expected,
                                         expected, expected, "1",
                                         f"(E_syn - V_hyp)/(E_syn - V_rest), E_syn {float(e_syn):.2f} mV ({source}), "
                                         f"V_rest {v_rest_m:.1f} mV, V_hyp {v_hyp_m:.1f} mV measured"))
        ratio = ratio_of_means(arr[:, 1], arr[:, 0], s.confidence_level)
        if not finite(ratio.value, ratio.low, ratio.high):
            if level not in self._warned:
                self._warned.add(level)
                update.notices.append(Notice("warning", "hyperpolarizing_steps", f"{tag}: the EPSP at rest is not "
                                             "significantly above zero; no measured ratio yet", sweep_index))
            return update
        update.estimates.append(Estimate(sweep_index, name, f"response_ratio_measured_{tag}", ratio.value, ratio.low,
                                         ratio.high, "1", f"mean EPSP hyperpolarized / at rest ({arr.shape[0]} "
                                         f"sweeps), Fieller interval; expected {expected:.3f} without "
                                         "voltage-gated boosting"))
        return update


class HyperpolarizingStepsKind:
    """The hyperpolarizing_steps step kind."""

    schema = HyperpolarizingStepsStep

    def check(self, step: HyperpolarizingStepsStep, profile: HardwareProfile) -> list[StepProblem]:
        """Amplifier, stimulus, condition and every step current within the holding_pA limits."""
        amp, problems = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")
        problems += check_stimulus(profile, step.stimulus) + check_condition(step.condition)
        for k, level in enumerate(step.steps_pA):
            problems += check_current(profile, amp, step.cc_holding_pA, level, f"steps_pA.{k}")
        return problems

    def compile(self, step: HyperpolarizingStepsStep, step_index: int, profile: HardwareProfile) -> list[SweepPlan]:
        """`sweeps` sweeps per step amplitude, amplitudes interleaved."""
        amp = resolve_device(profile, "patch_amplifier", step.amplifier, "amplifier")[0] or ""
        plans = []
        for k in range(step.sweeps * len(step.steps_pA)):
            level = step.steps_pA[k % len(step.steps_pA)]
            plans.append(calcium_sweep(
                profile, step_index=step_index, step_name=step.name or "hyperpolarizing_steps",
                kind="hyperpolarizing_steps", sweep_in_step=k, amplifier=amp, mode="CC", holding=step.cc_holding_pA,
                duration_ms=step.sweep_ms, stimulus=step.stimulus, stimuli_ms=step.stimuli_ms(),
                current_pulses=((step.step_onset_ms, step.step_ms, level),), condition=step.condition,
                parameters={"role": "step", "step_pA": level}, interval_after_s=step.interval_s,
                sample_rate_hz=step.sample_rate_hz))
        return plans

    def analysis(self, step: HyperpolarizingStepsStep) -> HyperpolarizingStepsAnalysis:
        """A fresh online analysis."""
        return HyperpolarizingStepsAnalysis(step)

    def program(self, step: HyperpolarizingStepsStep, step_index: int, profile: HardwareProfile,
                analysis: object) -> "ReversalStampedProgram":
        """The compiled sweeps, each told the E_syn of the driving-force check when the step starts."""
        return ReversalStampedProgram(step, step_index, self.compile(step, step_index, profile))


class ReversalStampedProgram:
    """Fixed sweeps whose driving-force E_syn is the step's value or the reversal an earlier step found."""

    adaptive = False

    def __init__(self, step: HyperpolarizingStepsStep, step_index: int, plans: list[SweepPlan]):
        self.step, self.step_index = step, step_index
        self._plans, self._next = list(plans), 0

    def envelope(self) -> list[SweepPlan]:
        """All its plans (E_syn changes no output)."""
        return list(self._plans)

    def next_plan(self, context: RunContext) -> SweepPlan | None:
        """Plans in order; the first call reads the reversal potential when the step asks for it."""
        if self._next == 0 and self.step.e_syn_mV == "reversal":
            e_syn, source = context.get("reversal_mV"), f"from step '{context.found_by['reversal_mV']}'"
            self._plans = [replace(p, parameters=dict(p.parameters) | {"e_syn_mV": e_syn, "e_syn_source": source})
                           for p in self._plans]
        if self._next >= len(self._plans):
            return None
        self._next += 1
        return self._plans[self._next - 1]


KIND = HyperpolarizingStepsKind()
