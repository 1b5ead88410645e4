"""Entry point of `rig gui`: load the profile (simulated by default), open the window, leave the rig safe on exit."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rig.api import PROJECT_ROOT, default_profile_path
from rig.config.pace import with_pace
from rig.config.problems import InvalidInput
from rig.config.profile import LoadedProfile, load_profile

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("runs")


def library_dir() -> Path:
    """./protocols if present, else the protocols beside the package."""
    local = Path.cwd() / "protocols"
    return local if local.is_dir() else PROJECT_ROOT / "protocols"


def window_profile(profile_path: Path | None, pace: str | None) -> LoadedProfile:
    """The window's profile: a simulated rig paced as asked (default realtime); InvalidInput on bad input."""
    loaded = load_profile(profile_path or default_profile_path())
    if pace is not None or loaded.profile.simulation is not None:  # a pace asked of a real rig is refused
        loaded = with_pace(loaded, pace or "realtime", "rig gui --pace")
    return loaded


def build_window(profile_path: Path | LoadedProfile | None = None, out_dir: Path = DEFAULT_OUT_DIR, library: Path | None = None,
                 pace: str | None = None, settings=None):
    """Create the session (rig built from the profile; a simulated rig paced as asked, by default to the wall
    clock so the window shows sweeps as they happen) and the window (it remembers its layout and last protocol
    in `settings`, a QSettings, when one is given: `rig gui` does; tests and screenshots start from the default)."""
    from rig.gui.main_window import MainWindow
    from rig.gui.session import RigSession

    loaded = profile_path if isinstance(profile_path, LoadedProfile) else window_profile(profile_path, pace)
    session = RigSession(loaded, out_dir)
    return MainWindow(session, library or library_dir(), settings)


def main(profile_path: Path | None, out_dir: Path = DEFAULT_OUT_DIR, pace: str | None = None) -> int:
    """Open the operator's window (run files into `out_dir`); returns the process exit status."""
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from rig.gui.theme import apply_theme

    settings = QSettings("spinerig", "gui")  # layout, geometry, last protocol and profile kept between sessions
    restored = last_profile(settings) if profile_path is None else None
    try:
        loaded = window_profile(profile_path or restored, pace)  # bad input is reported before any window is needed
    except InvalidInput as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        return 2
    settings.setValue(LAST_PROFILE_KEY, str(loaded.path.resolve()))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    window = build_window(loaded, out_dir, settings=settings)
    window.show()
    if restored is not None:
        window.status.showMessage(f"profile of the last session: {restored} (rig gui --profile FILE for another)", 15000)
    return int(app.exec_())


LAST_PROFILE_KEY = "profile/last"


def last_profile(settings) -> Path | None:
    """The profile file of the last session (QSettings), if it still exists."""
    value = settings.value(LAST_PROFILE_KEY)
    path = Path(value) if isinstance(value, str) and value else None
    if path is not None and path.is_file():
        log.info("profile of the last session: %s", path)
        return path
    return None
