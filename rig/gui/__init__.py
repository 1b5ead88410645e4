"""The operator's window: PyQt5 + pyqtgraph panels on the same engine as the CLI."""
