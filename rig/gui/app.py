"""Entry point of `rig gui`: load the profile (simulated by default), open the window, leave the rig safe on exit."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rig.api import PROJECT_ROOT, default_profile_path
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("runs")


def library_dir() -> Path:
    """./protocols if present, else the protocols beside the package."""
    local = Path.cwd() / "protocols"
    return local if local.is_dir() else PROJECT_ROOT / "protocols"


def build_window(profile_path: Path | None = None, out_dir: Path = DEFAULT_OUT_DIR, library: Path | None = None):
    """Create the session (rig built from the profile, paced to the wall clock if simulated) and the window."""
    from rig.gui.main_window import MainWindow
    from rig.gui.session import RigSession, with_realtime_pace

    loaded = with_realtime_pace(load_profile(profile_path or default_profile_path()))
    session = RigSession(loaded, out_dir)
    return MainWindow(session, library or library_dir())


def main(profile_path: Path | None) -> int:
    """Open the operator's window; returns the process exit status."""
    from PyQt5.QtWidgets import QApplication

    from rig.gui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    try:
        window = build_window(profile_path)
    except InvalidInput as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        return 2
    window.show()
    return int(app.exec_())
