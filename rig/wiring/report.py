"""The wiring check's table (rich, for the terminal) and its JSON form."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from rig.wiring.check import WiringReport


def print_wiring_report(report: WiringReport, console: Console | None = None) -> None:
    """A table of outputs (tone, where it came back, where it should) and one of inputs, then the findings."""
    console = console or Console()
    outputs = Table(title="rig check-wiring: outputs (light held at zero)")
    for column in ("output", "address", "tone", "came back on (SNR)", "expected on"):
        outputs.add_column(column)
    for d in report.driven:
        back = [f"{i.name} ({report.levels[(d.channel, i.name)].snr:.0f})" for i in report.inputs
                if report.seen(d.channel, i.name)]
        expected = report.expected.get(d.channel, ())
        status = ("ok" if all(report.seen(d.channel, i) for i in expected) else "MISSING") if expected else "scope"
        outputs.add_row(d.channel, d.address, f"{d.frequency_hz:g} Hz, {d.amplitude:g} {d.unit}",
                        ", ".join(back) or "-", (", ".join(expected) + f" [{status}]") if expected else "- [scope]")
    for c in report.held_off:
        outputs.add_row(c.name, c.address, "held at 0 (light)", "-", "-")
    console.print(outputs)
    inputs = Table(title="inputs recorded")
    for column in ("input", "address", "tones found"):
        inputs.add_column(column)
    for i in report.inputs:
        found = [d.channel for d in report.driven if report.seen(d.channel, i.name)]
        inputs.add_row(i.name, i.address, ", ".join(found) or "none")
    console.print(inputs)
    for note in report.notes:
        console.print(f"note: {note}")
    for problem in report.problems:
        console.print(f"[bold red]problem:[/] {problem}")
    console.print("wiring: ok" if report.ok else f"wiring: {len(report.problems)} problem(s)")


def wiring_json(report: WiringReport) -> str:
    """The report as one JSON object."""
    return json.dumps({
        "ok": report.ok,
        "driven": [d.__dict__ for d in report.driven],
        "inputs": [{"channel": i.name, "address": i.address} for i in report.inputs],
        "held_off": [{"channel": c.name, "address": c.address} for c in report.held_off],
        "seen": [{"output": o, "input": i, "snr": round(v.snr, 1), "amplitude": v.amplitude}
                 for (o, i), v in report.levels.items() if report.seen(o, i)],
        "problems": list(report.problems), "notes": list(report.notes)})
