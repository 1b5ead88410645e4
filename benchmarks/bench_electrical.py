"""Speed of the electrical core, as simulated seconds per wall-clock second (x real time).

`--steady-states`: instead, the time of the specimen's steady-state solves (hardware_profiles/simulated.yaml's
cell) over VC -100..+40 mV and CC -500..+1000 pA, found and not found (near threshold no equilibrium exists and
the solver must give up); run it with PYTHONPATH at another tree for that code's figures.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from simulated_devices.electrical import CellModel, CellSpec

SIM_MS = 1000.0


def _run(model: CellModel, dt_ms: float, command: np.ndarray, events: list[tuple[int, int, float]]) -> float:
    """Wall time (s) of one advance call."""
    t0 = time.perf_counter()
    model.advance(dt_ms, command.size, "CC", command, events)
    return time.perf_counter() - t0


def scenarios(n_steps: int, dt_ms: float) -> dict[str, tuple[np.ndarray, list[tuple[int, int, float]]]]:
    """Quiescent, 10 synaptic events, and 10 somatic APs (2 ms, 1.5 nA pulses) in 1 s."""
    quiet = np.zeros(n_steps)
    events = [(int(k), 0, 1.0) for k in np.linspace(0.05, 0.95, 10) * n_steps]
    aps = np.zeros(n_steps)
    width = int(round(2.0 / dt_ms))
    for k in (np.arange(10) * 100.0 + 20.0) / dt_ms:
        aps[int(k) : int(k) + width] = 1500.0
    return {"quiescent": (quiet, []), "10 synaptic events": (quiet, events), "10 somatic APs (10 Hz)": (aps, [])}


def main() -> None:
    """Print one line per scenario and time step, fast path on and off."""
    spec = CellSpec()
    n_comp = 1 + spec.dendrite.n_segments + len(spec.spines)
    print(f"cell: soma + {spec.dendrite.n_segments} dendritic compartments + {len(spec.spines)} spine head(s) "
          f"= {n_comp} compartments; 1 s simulated per run")
    print(f"{'scenario':<26} {'dt ms':>6} {'fast path':>9} {'wall ms':>9} {'x real time':>12} {'solver steps':>13}")
    for dt_ms in (0.025, 0.05):
        n_steps = int(round(SIM_MS / dt_ms))
        for name, (command, events) in scenarios(n_steps, dt_ms).items():
            for fast in (True, False):
                model = CellModel(spec)
                model.fast_path.enabled = fast
                # Warm-up builds and caches the linearisations (a one-off per drive and dt).
                _run(model, dt_ms, command, events)
                model.reset_to_rest()
                model.n_solved_steps = 0
                wall_s = _run(model, dt_ms, command, events)
                print(f"{name:<26} {dt_ms:>6.3f} {'on' if fast else 'off':>9} {wall_s * 1e3:>9.1f} "
                      f"{SIM_MS / 1e3 / wall_s:>12.2f} {model.n_solved_steps:>13d}")
    t0 = time.perf_counter()
    CellModel(spec).advance(0.025, 400, "CC", np.zeros(400))
    print(f"model construction + first linearisation: {(time.perf_counter() - t0) * 1e3:.0f} ms")


def steady_states() -> None:
    """Time every steady-state solve of the simulated rig's cell over a range of holdings; found and given up."""
    from rig.api import prepare_run
    from rig.engine.rig import build_rig

    root = Path(__file__).resolve().parents[1]
    prepared = prepare_run(root / "protocols" / "frap.yaml", root / "hardware_profiles" / "simulated.yaml")
    model = build_rig(prepared.profile).extras["specimen"].model  # type: ignore[attr-defined]
    found: list[float] = []
    failed: list[float] = []
    for mode, commands in (("VC", range(-100, 41, 10)), ("CC", range(-500, 1001, 100))):
        for command in commands:
            t0 = time.process_time()
            try:
                model.steady_state(mode, float(command))
                found.append(time.process_time() - t0)
            except RuntimeError:
                failed.append(time.process_time() - t0)
    print(f"steady states (CPU s): {len(found)} found, median {np.median(found):.3f} s, max {max(found):.3f} s; "
          f"{len(failed)} with no equilibrium, given up after {min(failed, default=0):.2f}-{max(failed, default=0):.2f} s")


if __name__ == "__main__":
    steady_states() if sys.argv[1:] == ["--steady-states"] else main()
