"""The `simulation:` section belongs to the simulated backend: validated by its schema (through the backend
registry) with one line per problem, typed as that schema, and `rig validate` imports nothing else of it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import yaml

from conftest import PROFILE, ROOT
from rig.cli import main
from rig.config.profile import load_profile
from rig.config.sections import SimulatedRigSection
from simulated_devices.specimen_config import SimulationSpec


def test_the_section_is_the_simulated_backends_schema() -> None:
    sim = load_profile(PROFILE).profile.simulation
    assert type(sim) is SimulationSpec and isinstance(sim, SimulatedRigSection) and sim.spines


def test_bad_section_values_are_one_line_each_with_exit_2(tmp_path, capsys) -> None:
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"]["soma"]["bogus_key"] = 1
    data["simulation"]["chunk_ms"] = -5
    data["simulation"]["pace"] = "slow"
    data["daq"]["bogus"] = 1
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).strip().splitlines()
    expected = ("daq.bogus", "simulation.chunk_ms", "simulation.pace", "simulation.soma.bogus_key")
    assert len(lines) == len(expected) and all(any(f": {f}: " in line for line in lines) for f in expected)
    assert not any("Traceback" in line for line in lines)


def test_a_section_that_is_not_a_mapping_is_one_problem(tmp_path, capsys) -> None:
    data = yaml.safe_load(PROFILE.read_text())
    data["simulation"] = "yes"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr()
    assert f"{path}: simulation: " in err.err + err.out


def test_rig_does_not_import_the_simulation() -> None:
    """No module of rig/ imports simulated_devices (the registry names it by string only)."""
    offenders = []
    for path in (ROOT / "rig").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "simulated_devices"]
    assert offenders == []


def test_rig_validate_imports_only_the_sections_schema_of_the_simulation() -> None:
    code = ("import sys, runpy\nsys.argv = ['rig', 'validate', sys.argv[1]]\n"
            "try:\n    runpy.run_module('rig', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
            "print(code, sorted(m for m in sys.modules if m.startswith('simulated_devices')), 'scipy' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, str(PROFILE)], capture_output=True, text=True, env=env,
                         cwd=ROOT, check=True).stdout.strip().splitlines()[-1]
    assert out == "0 ['simulated_devices', 'simulated_devices.specimen_config'] False"
