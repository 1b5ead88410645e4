"""Backends come only from the registry: the built-in ones and `spinerig.backends` entry points.

The entry point is registered by a real (tiny) distribution installed into a temporary folder on
sys.path: a package plus a .dist-info with METADATA and entry_points.txt, which
importlib.metadata reads as it reads any installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROFILE, ROOT
from rig.config.backend_registry import ENTRY_POINT_GROUP, known_backends
from rig.config.problems import InvalidInput
from rig.config.profile import load_profile
from rig.engine.rig import build_rig
from rig.validate import validate_files


def _install_distribution(site: Path, dist: str, package: str, entry_points: dict[str, str], body: str) -> None:
    """Write a package and its .dist-info (what `pip install --target site` leaves) into `site`."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(body)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    (info / "RECORD").write_text("")


PLUGIN = '''
"""A lab's own backend: builds the simulated rig and says it was called."""
from pathlib import Path
CALLS = []

def build_rig(loaded):
    from simulated_devices.backend import build_rig as simulated
    CALLS.append(str(loaded.path))
    return simulated(loaded)
'''

MARKER_MODULE = '''
from pathlib import Path
Path(__file__).with_name("IMPORTED").write_text("a profile made me run")

def build(loaded):
    Path(__file__).with_name("CALLED").write_text("a profile made me run")
'''


def _profile_with_backend(tmp_path: Path, backend: str) -> Path:
    text = PROFILE.read_text().replace("backend: simulated", f"backend: {backend}", 1)
    assert f"backend: {backend}" in text
    path = tmp_path / f"profile_{abs(hash(backend))}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A temporary site folder with two distributions: one registers 'mylab', the other tries to take
    'simulated' and registers a backend whose module does not exist."""
    folder = tmp_path / "site"
    folder.mkdir()
    _install_distribution(folder, "mylab-rig", "mylab_rig", {"mylab": "mylab_rig:build_rig"}, PLUGIN)
    _install_distribution(folder, "greedy-rig", "greedy_rig", {"simulated": "greedy_rig:build_rig",
                                                              "broken": "no_such_module_h7:build_rig"},
                          "def build_rig(loaded):\n    raise AssertionError('never called')\n")
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("mylab_rig", "greedy_rig"):
        sys.modules.pop(name, None)


def test_arbitrary_module_in_profile_is_refused_and_never_imported(tmp_path, monkeypatch):
    (tmp_path / "evil_h7.py").write_text(MARKER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _profile_with_backend(tmp_path, "evil_h7:build")
    with pytest.raises(InvalidInput) as caught:
        load_profile(path)
    [problem] = caught.value.problems
    assert str(problem) == f"{path}: backend: unknown backend 'evil_h7:build' (known: ni, simulated)"
    ok, problems = validate_files([path], None)
    assert ok == [] and [str(p) for p in problems] == [str(problem)]
    assert "evil_h7" not in sys.modules
    assert not (tmp_path / "IMPORTED").exists() and not (tmp_path / "CALLED").exists()


def test_registered_backend_validates_and_builds_through_its_entry_point(site, tmp_path):
    known = known_backends()
    assert sorted(known) == ["broken", "mylab", "ni", "simulated"]
    assert known["mylab"].provider == "mylab-rig 0.1" and known["mylab"].target == "mylab_rig:build_rig"
    assert known["simulated"].provider == "built-in"  # a package cannot take over a built-in name

    loaded = load_profile(_profile_with_backend(tmp_path, "mylab"))
    rig = build_rig(loaded)
    try:
        import mylab_rig

        assert mylab_rig.CALLS == [str(loaded.path)]
        assert set(rig.devices) == set(loaded.profile.devices)
    finally:
        rig.make_safe()


def test_unknown_backend_lists_the_registered_ones_too(site, tmp_path):
    path = _profile_with_backend(tmp_path, "mylabb")
    ok, problems = validate_files([path], None)
    assert [str(p) for p in problems] == [f"{path}: backend: unknown backend 'mylabb' (known: broken, mylab, ni, "
                                          f"simulated)"]


def test_registered_backend_that_cannot_import_is_a_problem_not_a_traceback(site, tmp_path):
    loaded = load_profile(_profile_with_backend(tmp_path, "broken"))
    with pytest.raises(InvalidInput) as caught:
        build_rig(loaded)
    [problem] = caught.value.problems
    assert problem.field == "backend"
    assert "backend 'broken' (greedy-rig 0.1) cannot be loaded: No module named 'no_such_module_h7'" in str(problem)


def test_rig_validate_subprocess_sees_entry_points_on_its_path(site, tmp_path):
    good = _profile_with_backend(tmp_path, "mylab")
    bad = _profile_with_backend(tmp_path, "os:system")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "rig", "validate", str(good), str(bad)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout.strip() == f"{good}: ok"
    assert proc.stderr.strip().splitlines() == [
        "WARNING rig.config.backend_registry: backend 'simulated' from greedy-rig 0.1 ignored: the name is already "
        "taken by built-in",
        f"{bad}: backend: unknown backend 'os:system' (known: broken, mylab, ni, simulated)"]
