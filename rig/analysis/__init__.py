"""Pure analysis functions on arrays."""
