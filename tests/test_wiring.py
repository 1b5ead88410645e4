"""`rig check-wiring` on the simulated rig: tones come back where the profile says, a swapped pair of lines is
named, and the light never comes on (the simulated hardware's journal)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rig.cli import main
from rig.config.profile import load_profile
from rig.engine.rig import build_rig
from rig.wiring.check import LightNotLockedOut, check_wiring, lock_out_light, wiring_plan
from rig.wiring.tones import HARMONICS, tone_frequencies

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "hardware_profiles" / "simulated.yaml"


def _swapped(tmp_path: Path, a: tuple[str, ...], b: tuple[str, ...]) -> Path:
    """The profile with the addresses at key paths a and b exchanged, on a rig whose cables are as simulated.yaml."""
    data = yaml.safe_load(SIM.read_text())

    def at(path: tuple[str, ...]) -> dict:
        node = data
        for key in path[:-1]:
            node = node[key]
        return node

    first, second = at(a)[a[-1]], at(b)[b[-1]]
    at(a)[a[-1]], at(b)[b[-1]] = second, first
    # the profile now says the wrong thing about these two lines: the real cables cross relative to it
    data["simulation"]["hidden_calibration"] = {"swapped_channels": [[first, second]]}
    path = tmp_path / "swapped.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, out.getvalue()


LIGHT = ("laser.power", "shutter.open", "leds.uv385", "leds.blue460", "leds.green520")


def _journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _light_ever_on(events: list[dict]) -> bool:
    """Any light output non-zero in a journaled state (the 'light' events also cover the trigger lines the watchdog
    guards, so each light channel is read from what they say was held)."""
    held = [e["held"] for e in events if e["event"] in ("light", "stop")]
    static = [{e["channel"]: e["value"]} for e in events if e["event"] == "static"]
    return any(state.get(c, 0.0) != 0.0 for state in held + static for c in LIGHT)


def test_tones_are_distinct_and_no_odd_harmonic_of_another() -> None:
    """A TTL square wave's odd harmonics never land on another output's tone."""
    tones = tone_frequencies(12, 10.0)
    assert len(set(tones)) == 12
    assert all(abs(a - h * b) > 20 for a in tones for b in tones if a != b for h in HARMONICS)


def test_the_plan_holds_every_light_output_at_zero_and_refuses_otherwise() -> None:
    """Laser power, shutter and LEDs are zero in every sample; a plan that lights anything is refused."""
    profile = load_profile(SIM).profile
    plan, driven = wiring_plan(profile)
    light = {"laser.power", "shutter.open", "leds.uv385", "leds.blue460", "leds.green520"}
    assert light <= set(plan.outputs) and all(not np.any(plan.outputs[c]) for c in light)
    assert {d.channel for d in driven} == {"amplifier.command", "scanner.x", "scanner.y", "stimulator.trigger",
                                           "camera.trigger"}
    assert len({d.frequency_hz for d in driven}) == len(driven)
    lit = dict(plan.outputs)
    lit["shutter.open"] = np.ones(plan.n_samples, np.float32)
    with pytest.raises(LightNotLockedOut, match="shutter.open"):
        lock_out_light(type(plan)(**{**plan.__dict__, "outputs": lit}), profile)


def test_a_correct_rig_passes_and_the_light_never_comes_on(tmp_path, monkeypatch) -> None:
    """The amplifier's tone on its primary and secondary; the journal has no light event, the rig ends safe."""
    journal = tmp_path / "journal.jsonl"
    monkeypatch.setenv("SPINERIG_SIM_JOURNAL", str(journal))
    rig = build_rig(load_profile(SIM))
    report = check_wiring(rig)
    assert report.ok, report.problems
    assert report.seen("amplifier.command", "amplifier.primary")
    assert report.seen("amplifier.command", "amplifier.secondary")
    assert not report.seen("amplifier.command", "scanner.green")
    events = _journal(journal)
    assert any(e["event"] == "start" for e in events) and any(e["event"] == "light" for e in events)
    assert not _light_ever_on(events)
    assert all(r.safe for r in rig.make_safe())


def test_swapped_outputs_are_named(tmp_path, monkeypatch) -> None:
    """Amplifier command and galvo x crossed: the report names both addresses, and the light stayed off."""
    journal = tmp_path / "journal.jsonl"
    monkeypatch.setenv("SPINERIG_SIM_JOURNAL", str(journal))
    profile = _swapped(tmp_path, ("devices", "amplifier", "channels", "command"), ("devices", "scanner", "channels", "x"))
    code, out = _cli("check-wiring", "--profile", str(profile), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert any("the outputs SimDev1/ao2 and SimDev1/ao0 look swapped" in p for p in report["problems"]), report
    assert not _light_ever_on(_journal(journal))


def test_swapped_inputs_are_named(tmp_path) -> None:
    """Amplifier primary and the green PMT crossed: the report names the two inputs' addresses."""
    profile = _swapped(tmp_path, ("devices", "amplifier", "channels", "primary"),
                       ("devices", "scanner", "pmts", "green", "channel"))
    code, out = _cli("check-wiring", "--profile", str(profile), "--json")
    problems = json.loads(out)["problems"]
    assert code == 1 and len(problems) == 1, problems
    assert "came back on scanner.green (SimDev1/ai0), expected on amplifier.primary (SimDev1/ai2)" in problems[0]
    assert "the inputs SimDev1/ai2 and SimDev1/ai0 look swapped" in problems[0]


def test_the_table_names_every_output_and_input(tmp_path, monkeypatch) -> None:
    """The terminal table lists each driven output with its tone, the light held at 0, and every input."""
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at 80 columns when the output is not a terminal
    code, out = _cli("check-wiring", "--profile", str(SIM))
    assert code == 0 and "wiring: ok" in out
    for name in ("amplifier.command", "scanner.x", "camera.trigger", "laser.power", "scanner.red"):
        assert name in out
    assert "held at 0 (light)" in out
