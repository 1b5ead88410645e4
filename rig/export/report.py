"""One self-contained HTML report of a run: figures embedded as PNG, the estimates with their truth, every notice."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from rig.export.report_figures import FIGURES
from rig.export.run_view import RunView, StoredEstimate


def _number(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.4g}"


def _interval(e: StoredEstimate) -> str:
    if e.bound == "lower":
        return f"&ge; {_number(e.low)}"
    if e.bound == "upper":
        return f"&le; {_number(e.high)}"
    return f"[{_number(e.low)}, {_number(e.high)}]"


def _estimates_table(view: RunView) -> str:
    rows = []
    for e in view.final_estimates():
        truth = "" if e.truth is None else _number(e.truth)
        rows.append(f"<tr><td>{html.escape(e.step)}</td><td>{html.escape(e.name)}</td><td>{_number(e.value)}</td>"
                    f"<td>{_interval(e)}</td><td>{html.escape(e.unit)}</td><td>{truth}</td>"
                    f"<td>{html.escape(e.trend)}</td><td class=basis>{html.escape(e.basis)}</td></tr>")
    head = "<tr><th>step</th><th>estimate</th><th>value</th><th>95 % interval / bound</th><th>unit</th>" \
           f"<th>{'simulated truth' if view.simulated else 'truth'}</th><th>trend</th><th>basis</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p>No estimates.</p>"


def _notices(view: RunView) -> str:
    notices = view.run.notices()
    if not notices:
        return "<p>None.</p>"
    rows = "".join(f"<tr><td>{n['sweep'] + 1 if n['sweep'] >= 0 else ''}</td><td>{html.escape(n['level'])}</td>"
                   f"<td>{html.escape(n['source'])}</td><td>{html.escape(n['message'])}</td></tr>" for n in notices)
    return f"<table><tr><th>sweep</th><th>level</th><th>source</th><th>message</th></tr>{rows}</table>"


def _safety(view: RunView) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(s.get('device')))}</td><td>{'safe' if s.get('safe') else 'NOT SAFE'}"
                   f"</td><td>{html.escape(str(s.get('detail', '')))}</td></tr>" for s in view.safety())
    return f"<table><tr><th>device</th><th>state</th><th>detail</th></tr>{rows}</table>" if rows else "<p>-</p>"


STYLE = """body{font-family:sans-serif;margin:24px;max-width:1280px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#eee}td.basis{font-size:11px;color:#555;max-width:420px}img{max-width:100%;border:1px solid #ddd}
h2{margin-top:28px;border-bottom:1px solid #ccc}.meta td:first-child{font-weight:bold}"""


def render_report(run_path: Path) -> str:
    """The HTML text of the report of one run file."""
    with RunView(run_path) as view:
        a = view.attrs
        meta = [("file", str(run_path)), ("protocol", str(a.get("protocol_name", ""))), ("status", view.run.status),
                ("message", str(a.get("message", ""))), ("started (UTC)", str(a.get("started_utc", ""))),
                ("ended (UTC)", str(a.get("ended_utc", ""))),
                ("sweeps", f"{view.run.n_sweeps} of {view.run.n_planned_sweeps} planned"),
                ("profile", str(a.get("profile_path", ""))),
                ("rig", "simulated (estimates shown with the specimen's truth)" if view.simulated else "hardware")]
        parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>spinerig report: "
                 f"{html.escape(run_path.name)}</title><style>{STYLE}</style></head><body>",
                 f"<h1>{html.escape(str(a.get('protocol_name', 'run')))} &mdash; {html.escape(run_path.name)}</h1>",
                 "<table class=meta>" + "".join(f"<tr><td>{k}</td><td>{html.escape(v)}</td></tr>" for k, v in meta)
                 + "</table>", "<h2>Estimates</h2>", _estimates_table(view)]
        for title, make in FIGURES:
            png = make(view)
            if png is not None:
                data = base64.b64encode(png).decode("ascii")
                parts += [f"<h2>{html.escape(title)}</h2>", f"<img alt='{html.escape(title)}' "
                          f"src='data:image/png;base64,{data}'>"]
        parts += ["<h2>Notices</h2>", _notices(view), "<h2>Hardware state at the end</h2>", _safety(view),
                  "</body></html>"]
    return "\n".join(parts)


def write_report(run_path: Path, out_path: Path) -> Path:
    """Write the report; refuses to overwrite an existing file (exclusive create)."""
    text = render_report(run_path)
    with open(out_path, "x", encoding="utf-8") as f:
        f.write(text)
    return out_path
