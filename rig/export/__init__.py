"""Data that leaves the rig: NWB export, estimate tables and HTML reports of run files."""
