"""Truth of the optical quantal analysis' estimates."""

from __future__ import annotations

from simulated_devices.truth import SpineState


def quantal_truth(state: SpineState) -> dict[str, float]:
    """release_probability_lower_bound: what the bound bounds, the target synapse's probability of releasing at
    an isolated stimulus in the present bath (the spine truth's release_probability; the sweeps are seconds
    apart, so facilitation has decayed). The clamp (CC at rest or VC stepped to 0 mV) and SNX-482 change which
    releases give a CaT, not whether the synapse releases: release_probability, of the same definition, is the spine
    truth's (simulated_devices.truth)."""
    return {"release_probability_lower_bound": state.spine["release_probability"]}
