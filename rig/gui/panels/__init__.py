"""The dockable panels of the operator's window, one module each."""
