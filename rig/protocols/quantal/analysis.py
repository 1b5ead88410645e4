"""Online analysis of the quantal step."""

from __future__ import annotations

import math

import numpy as np

from rig.analysis.quantal_mixture import fit_release_probability
from rig.datatypes.records import Estimate, Feature, Notice
from rig.datatypes.sweep_plan import SweepPlan
from rig.protocols.quantal.schema import QuantalStep
from rig.protocols.shared.ap_scan import TraceCollector
from rig.protocols.shared.calcium_scan import DEPOLARIZED_ABOVE_MV, depolarized_ms
from rig.protocols.shared.calcium_transients import ConditionTransients
from rig.protocols.shared.common import AnalysisUpdate

# The mixture is refitted on every sweep up to this count, then every REFIT_EVERY sweeps and on the last one.
REFIT_ALWAYS_UP_TO = 20


REFIT_EVERY = 10


# Release probabilities in 2 mM Ca range 0.09-0.5 (SCIENCE.md, section 4): a spine whose visible responses are
# rarer than the lower end most likely has releases that give no CaT, so they only bound p from below.
MIN_PLAUSIBLE_RELEASE_PROBABILITY = 0.09


MIN_SWEEPS_FOR_P = 10  # before this only the lower bound (the checks below need failures to look at)


MAX_RESOLVED_WIDTH = 0.5  # a release probability interval wider than this says the calls cannot be made


class QuantalAnalysis:
    """Template of the successes, amplitude of every sweep, release probability from a failure/release mixture."""

    def __init__(self, step: QuantalStep):
        self.step = step
        self.collector = TraceCollector(step, "quantal")
        self.transients = ConditionTransients(step.stimulus_ms, threshold_sd=step.threshold_sd, model="free")
        self._warned = False
        self._warned_unresolved = False
        self._published_p = False
        self.depolarized_ms = 0.0

    def _clamp_text(self) -> str:
        """How the sweeps were clamped, and how long the cell was held depolarized so far (for the basis)."""
        s = self.step
        if s.clamp != "VC":
            return f"CC at {s.cc_holding_pA:g} pA (Mg block at rest)"
        vc = s.voltage_clamp
        return (f"VC {vc.rest_mV:g} mV stepped to {vc.depolarized_mV:g} mV for {vc.step_ms:g} ms a sweep (held above "
                f"{DEPOLARIZED_ABOVE_MV:g} mV for {self.depolarized_ms / 1000:.1f} s)")

    def _no_cat_at(self) -> str:
        """Where the releases were looked for (for the Ca-silent notice)."""
        if self.step.clamp == "VC":
            return f"even at {self.step.voltage_clamp.depolarized_mV:g} mV (Mg block relieved)"
        return "at rest"

    def analyze(self, sweep_index: int, plan: SweepPlan, data: dict) -> AnalysisUpdate:
        """Add the sweep, rebuild the template from the successes, re-score every sweep, publish p with its interval."""
        update = AnalysisUpdate()
        trace = self.collector.add(sweep_index, plan, data, update)
        if trace is None:
            return update
        self.depolarized_ms += depolarized_ms(plan)
        t = self.transients
        t.add(sweep_index, trace)
        if not t.fitted and not self._warned:
            self._warned = True
            update.notices.append(Notice("info", "quantal", f"sweep {sweep_index + 1}: no success detected yet; "
                                         f"calls use the {t.source or 'prior shape'} "
                                         "until one is", sweep_index))
        s, name = self.step, plan.step_name
        amplitudes, noise = t.amplitudes(), t.noise_sd()
        successes = amplitudes > s.threshold_sd * noise
        update.features += [Feature(sweep_index, name, "amplitude", float(amplitudes[-1]), math.nan, math.nan, "dG/R"),
                            Feature(sweep_index, name, "success", float(successes[-1]), math.nan, math.nan, "1")]
        n = amplitudes.size
        last = int(plan.sweep_in_step) == s.sweeps - 1
        if n < 2 or not (n <= REFIT_ALWAYS_UP_TO or n % REFIT_EVERY == 0 or last):
            return update
        pooled = float(np.sqrt(np.mean(noise**2)))  # one baseline of ~15 lines is a noisy SD; the noise is stationary
        fit = fit_release_probability(amplitudes, np.full(n, pooled), s.confidence_level)
        calls = f"{int(successes.sum())}/{n} sweeps with a CaT above {s.threshold_sd:g} x baseline-noise SD"
        basis = (f"{self._clamp_text()}; {calls} (template as matched filter); failure/release mixture over every "
                 f"sweep's amplitude (mean release {fit.separation:.1f} x the noise SD), profile-likelihood interval")
        # The releases that stand out bound p from below at any sweep count; p itself once enough sweeps show
        # that every release stands out (no raised failures, a plausible rate).
        update.estimates.append(Estimate(sweep_index, name, "release_probability_lower_bound", fit.value, fit.low,
                                         math.nan, "1", "releases that stand out of the noise; " + basis,
                                         bound="lower"))
        if n < MIN_SWEEPS_FOR_P:
            return update
        why = ""
        if fit.releases_hidden:  # the sweeps called failures are raised: smaller releases hide among them
            why = (f"releases smaller than the ones that stand out hide among the failures (the sweeps called "
                   f"failures are raised by {fit.failure_offset_sd:.1f} SE of their mean)")
        elif n >= REFIT_ALWAYS_UP_TO and fit.high < MIN_PLAUSIBLE_RELEASE_PROBABILITY:
            why = (f"the responses that stand out are rarer than any synapse releases (p < {fit.high:.3f}, below the "
                   f"{MIN_PLAUSIBLE_RELEASE_PROBABILITY:g} of the least reliable synapses, SCIENCE.md): most releases "
                   f"here give no CaT {self._no_cat_at()} (a Ca-silent spine?)")
        elif not fit.resolved or fit.high - fit.low > MAX_RESOLVED_WIDTH:
            why = (f"releases cannot be told from failures: the mean response per release is {fit.separation:.1f} x "
                   f"one sweep's noise SD and p could be anywhere in [{fit.low:.2f}, {fit.high:.2f}]")
            if s.clamp == "VC" and not fit.resolved:
                why += f"; releases give no CaT {self._no_cat_at()}: a Ca-silent spine (few NMDA receptors)?"
        if why:
            self._warn_once(update, sweep_index, f"sweep {sweep_index + 1}: {why}; no release_probability, only "
                            f"release_probability_lower_bound ({calls})")
            if self._published_p:  # withdraw the earlier sweeps' value: it is not what the sweeps show now
                self._published_p = False
                update.estimates.append(Estimate(sweep_index, name, "release_probability", math.nan, math.nan,
                                                 math.nan, "1", f"withdrawn: {why}"))
            return update
        self._published_p = True
        update.estimates.append(Estimate(sweep_index, name, "release_probability", fit.value, fit.low, fit.high, "1",
                                         basis))
        return update

    def _warn_once(self, update: AnalysisUpdate, sweep_index: int, message: str) -> None:
        """One warning per run about what the sweeps cannot tell."""
        if not self._warned_unresolved:
            self._warned_unresolved = True
            update.notices.append(Notice("warning", "quantal", message, sweep_index))
