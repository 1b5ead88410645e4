"""Which fluorophores a detector sees, and how bright each is, from the specimen's concentrations.

Weights are in units of Alexa 594 at its loaded concentration (the optics' reference):
w = concentration / c_Alexa * excitation(wavelength) * per-uM emission of the present form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulated_devices.indicators import indicator, passes
from simulated_devices.specimen import ChunkSamples, Specimen


@dataclass
class EmitterWeights:
    """Emission weight of the dendrite (per sample) and of each head (per sample and spine)."""

    dendrite: np.ndarray  # (n,)
    heads: np.ndarray  # (n, spines)


def emitter_weights(specimen: Specimen, samples: ChunkSamples, band: str, wavelength_nm: float) -> EmitterWeights:
    """Sum of every fluorophore that the band passes, excited at the wavelength."""
    sim = specimen.sim
    n, s = samples.ca_free_uM.shape
    dend = np.zeros(n)
    heads = np.zeros((n, s))
    alexa_uM = sim.dye.concentration_uM
    alexa = indicator("alexa594")
    if passes(alexa.emission_nm, band) and (e := alexa.excitation(wavelength_nm)):
        dend += e
        heads += e * samples.alexa_unbleached
    ca = specimen.ca_indicator
    if sim.calcium.indicator_uM > 0 and passes(ca.emission_nm, band) and (e := ca.excitation(wavelength_nm)):
        w = sim.calcium.indicator_uM / alexa_uM * e
        dend += w * float(ca.fluorescence_per_uM(ca.bound_fraction(sim.calcium.rest_uM)))
        heads += w * ca.fluorescence_per_uM(ca.bound_fraction(samples.ca_free_uM)) * samples.indicator_unbleached
    na = specimen.na_indicator
    if na is not None and sim.sodium.indicator_uM > 0 and passes(na.emission_nm, band) \
            and (e := na.excitation(wavelength_nm)):
        w = sim.sodium.indicator_uM / alexa_uM * e
        dend += w * float(na.fluorescence_per_uM(na.bound_fraction(sim.sodium.rest_mM * 1e3)))
        heads += w * na.fluorescence_per_uM(na.bound_fraction(samples.na_mM * 1e3))
    vsd = sim.vsd
    if vsd.concentration_uM > 0 and passes(vsd.emission_nm, band):
        w = vsd.concentration_uM / alexa_uM
        rest = sim.soma.resting_mV
        # The shaft sees the dendritic voltage at the spine bases (mean over the imaged stretch's spines) when the
        # electrical samples carry it; older samples only have the soma, 175 um away (EPSPs ~10x smaller there).
        v_dend = getattr(samples, "v_dend_at_spine_mV", None)
        v_shaft = samples.v_soma_mV if v_dend is None else np.asarray(v_dend).reshape(len(v_dend), -1).mean(axis=1)
        dend += w * (1.0 + vsd.fraction_per_100mV * (v_shaft - rest) / 100.0)
        heads += w * (1.0 + vsd.fraction_per_100mV * (samples.v_head_mV - rest) / 100.0)
    return EmitterWeights(dend, heads)
