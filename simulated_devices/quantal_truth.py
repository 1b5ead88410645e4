"""Truth of the optical quantal analysis' estimates."""

from __future__ import annotations

from simulated_devices.truth import SpineState


def quantal_truth(state: SpineState) -> dict[str, float]:
    """release_probability_lower_bound: what the bound bounds, the target synapse's probability of releasing at
    an isolated stimulus in the present bath (the spine truth's release_probability; the sweeps are seconds
    apart, so facilitation has decayed)."""
    return {"release_probability_lower_bound": state.spine["release_probability"]}
