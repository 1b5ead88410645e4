"""MultiClamp Commander (Windows message API) for amplifier state."""
