"""The figures of a run report (matplotlib, Agg): each returns a PNG as bytes, or None when the run has no such data."""

from __future__ import annotations

import io
import math
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rig.analysis.frap_kinetics import fit_frap_kinetics, fitted_counts  # noqa: E402
from rig.analysis.line_scan import along_line_um, fold_lines, line_times_ms, roi_mask_near  # noqa: E402
from rig.export.run_view import RunView, StoredEstimate, SweepView  # noqa: E402
from rig.protocols.frap.analysis import head_counts, recovery_lines  # noqa: E402

HEAD_ROI_RADIUS_UM = 0.4  # the head ROI drawn in the report (the analysis uses its protocol's own)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def estimates_over_sweeps(view: RunView) -> bytes | None:
    """Every estimate as published after each sweep, with its interval, and the simulated truth of the same name."""
    series: dict[tuple[str, str], list[StoredEstimate]] = defaultdict(list)
    for e in view.estimates():
        series[(e.step, e.name)].append(e)
    if not series:
        return None
    truth: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for sweep, name, value in view.truth_rows():
        truth[name].append((sweep, value))
    n = len(series)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 2.6 * rows), squeeze=False)
    for ax, ((step, name), rows_of) in zip(axes.flat, sorted(series.items())):
        x = np.array([e.sweep + 1 for e in rows_of])
        v = np.array([e.value for e in rows_of])
        lo = np.array([e.low for e in rows_of])
        hi = np.array([e.high for e in rows_of])
        bound = rows_of[-1].bound
        if bound:
            side = lo if bound == "lower" else hi
            ax.plot(x, side, "v" if bound == "upper" else "^", color="C0", label=f"{bound} bound")
        else:
            ax.fill_between(x, lo, hi, color="C0", alpha=0.25, step="mid", label="95 % interval")
            ax.plot(x, v, "o-", color="C0", ms=3, label="estimate")
        sweeps_of_step = {s.index for s in view.sweeps if s.step_name == step}
        t = [(s + 1, val) for s, val in truth.get(name, []) if s in sweeps_of_step]
        if t:
            ax.plot(*zip(*t), "--", color="C3", label="simulated truth")
        ax.set_title(f"{step}: {name}" + (f"  ({rows_of[-1].trend})" if rows_of[-1].trend else ""), fontsize=9)
        _robust_limits(ax, rows_of[len(rows_of) // 2:], [val for _, val in t])
        ax.set_xlabel("after sweep")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(rows_of[-1].unit)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _robust_limits(ax: plt.Axes, late: list[StoredEstimate], truths: list[float]) -> None:
    """Y limits that show the later estimates and the truth, not an early interval hundreds of times wider."""
    values = [v for e in late for v in (e.value, e.low, e.high) if math.isfinite(v)] + truths
    if not values:
        return
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1e-9)
    ax.set_ylim(lo - pad, hi + pad)


def _head_trace(view: RunView, sweep: SweepView, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(line times ms, head-ROI counts per line, folded lines) of a line-scan sweep, park slots dropped."""
    ls = sweep.line_scan
    if ls is None or sweep.target_um is None or not view.has(sweep, f"in:{channel}"):
        return None
    lines = fold_lines(view.data(sweep, f"in:{channel}"), ls.first_sample, ls.samples_per_line, ls.pixels_per_line,
                       ls.n_slots)
    times = line_times_ms(ls.first_sample, ls.samples_per_line, ls.pixels_per_line, ls.n_slots, sweep.sample_rate_hz)
    along = along_line_um(ls.start_um, ls.end_um, ls.line_length_um, sweep.target_um)
    mask = roi_mask_near(ls.pixel_positions_um(), along, HEAD_ROI_RADIUS_UM)
    keep = np.setdiff1d(np.arange(ls.n_slots), ls.park_slots)
    return times[keep], lines[keep][:, mask].sum(axis=1), lines


def _pmt(view: RunView, sweep: SweepView, role: str) -> str | None:
    for channel in sweep.inputs:
        info = view.channel_info.get(channel)
        if info is not None and info.kind == "galvo_scanner" and info.role == role:
            return channel
    return None


def kymograph(view: RunView) -> bytes | None:
    """The first line-scan sweep of each step as a kymograph (distance along the line x time), bleach marked."""
    firsts: dict[str, SweepView] = {}
    for s in view.sweeps:
        if s.line_scan is not None:
            firsts.setdefault(s.step_name, s)
    panels = []
    for step, s in firsts.items():
        channel = _pmt(view, s, "red") or _pmt(view, s, "green")
        if channel is not None:
            panels.append((step, s, channel))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (step, s, channel) in zip(axes.flat, panels):
        ls = s.line_scan
        assert ls is not None
        lines = fold_lines(view.data(s, f"in:{channel}"), ls.first_sample, ls.samples_per_line, ls.pixels_per_line,
                           ls.n_slots)
        times = line_times_ms(ls.first_sample, ls.samples_per_line, ls.pixels_per_line, ls.n_slots, s.sample_rate_hz)
        lo, hi = np.percentile(lines, [1, 99.5])
        ax.imshow(lines.T, aspect="auto", origin="lower", cmap="magma", vmin=lo, vmax=max(hi, lo + 1),
                  extent=(float(times[0]), float(times[-1]), 0.0, ls.line_length_um))
        if "bleach_mid" in s.events_ms:
            ax.axvline(s.events_ms["bleach_mid"], color="cyan", lw=1, ls="--", label="bleach")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{step}, sweep {s.index + 1}: {channel} (counts)", fontsize=9)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("along the line (um)")
    fig.tight_layout()
    return _png(fig)


def _feature(view: RunView, sweep: int, name: str) -> float:
    for f in view.run.features():
        if f["sweep"] == sweep and f["name"] == name:
            return float(f["value"])
    return math.nan


def frap_recoveries(view: RunView) -> bytes | None:
    """Each FRAP sweep's head counts (per fitted head level), the online fit refitted by the same code, residuals."""
    sweeps = [s for s in view.sweeps if s.kind == "frap" and "bleach_mid" in s.events_ms and s.line_scan is not None
              and s.target_um is not None and s.pmt_channel is not None and view.has(s, f"in:{s.pmt_channel}")]
    if not sweeps:
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for i, s in enumerate(sweeps):
        ls, target, channel = s.line_scan, s.target_um, s.pmt_channel
        assert ls is not None and target is not None and channel is not None
        counts, times, dark = head_counts(ls, s.sample_rate_hz, target, view.data(s, f"in:{channel}"),
                                          s.head_roi_radius_um or HEAD_ROI_RADIUS_UM)
        base, post, t_base, t_post = recovery_lines(ls, s.sample_rate_hz, s.events_ms["bleach_mid"], times)
        start = _feature(view, s.index, "start_fraction")
        start = start if math.isfinite(start) else 1.0
        try:
            fit = fit_frap_kinetics(t_base, counts[base], t_post, counts[post], dark, start_fraction=start)
        except ValueError:
            continue
        mu = fitted_counts(fit, t_base, t_post, dark, start)
        y = np.concatenate((counts[base], counts[post]))
        t = np.concatenate((times[base], times[post])) - s.events_ms["bleach_mid"]
        h = fit.head_counts_per_line
        color = f"C{i % 10}"
        top.plot(t, (y - dark) / h, ".", ms=2, color=color, alpha=0.5,
                 label=f"{s.step_name} sweep {s.index + 1}: tau {fit.tau_ms:.3g} ms")
        top.plot(t, (mu - dark) / h, "-", color=color, lw=1.2)
        bottom.plot(t, (y - mu) / np.sqrt(np.maximum(mu, 1e-9)), ".", ms=2, color=color, alpha=0.5)
    top.set_ylabel("head counts / fitted head level")
    top.set_title("FRAP: head counts per line (dots) and the per-sweep Poisson fit (lines)", fontsize=9)
    top.legend(fontsize=7, ncol=2)
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_ylabel("Pearson residual")
    bottom.set_xlabel("time from the bleach (ms)")
    fig.tight_layout()
    return _png(fig)


def calcium_transients(view: RunView) -> bytes | None:
    """Mean green/red (G/R) head transient per step and condition of the line-scan calcium steps."""
    groups: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for s in view.sweeps:
        if s.line_scan is None or s.kind == "frap":
            continue
        green, red = _pmt(view, s, "green"), _pmt(view, s, "red")
        g = _head_trace(view, s, green) if green else None
        r = _head_trace(view, s, red) if red else None
        if g is None or r is None:
            continue
        groups[(s.step_name, f"{s.condition}, {s.amplifier_mode or 'no amplifier'}")].append(
            (g[0], g[1] / np.maximum(r[1], 1.0)))
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for i, ((step, condition), traces) in enumerate(sorted(groups.items())):
        n = min(len(t[1]) for t in traces)
        mean = np.mean([t[1][:n] for t in traces], axis=0)
        ax.plot(traces[0][0][:n], mean, color=f"C{i % 10}", label=f"{step} / {condition} ({len(traces)} sweeps)")
    ax.set_xlabel("time in sweep (ms)")
    ax.set_ylabel("head G/R")
    ax.set_title("Calcium transients: mean head G/R per step, condition and clamp", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def calcium_templates(view: RunView) -> bytes | None:
    """fCaT: each condition's sweeps (mean dG/R) and the template the analysis fitted, replayed through today's
    analysis from the stored sweeps (the template is the analysis' state, not stored in the run file)."""
    if not any(s.kind == "fcat" for s in view.sweeps):
        return None
    from rig.analysis.transients import scale_shape
    from rig.export.reanalyze import replay

    analyses, _ = replay(view)
    panels = [(i, role, group) for i, a in analyses.items() for role, group in getattr(a, "conditions", {}).items()
              if group.traces]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.4), squeeze=False)
    for ax, (i, role, group) in zip(axes.flat, panels):
        n = min(len(t.dg_over_r) for t in group.traces)
        t = group.traces[0].times_ms[:n]
        mean = np.mean([tr.dg_over_r[:n] for tr in group.traces], axis=0)
        ax.plot(t, mean, color="0.4", lw=1, label=f"mean of {len(group.traces)} sweeps")
        if group.template is not None:
            shape = group.template.shape(t)  # the template is on the sweep's own time axis
            ax.plot(t, shape * float(scale_shape(shape, mean)), color="C3", lw=1.5,
                    label=f"template x least-squares amplitude (decay {group.template.tau_decay_ms:.0f} ms)")
        ax.axvline(group.stimulus_ms, color="C0", lw=0.8, ls=":", label="stimulus")
        ax.set_title(f"step {i}: {role}", fontsize=9)
        ax.set_xlabel("time in sweep (ms)")
        ax.set_ylabel("head dG/R")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def camera_channels(view: RunView) -> bytes | None:
    """The mean camera image with the ROIs, and the head dF/F per LED channel (mean over stimulated sweeps)."""
    sweeps = [s for s in view.sweeps if s.camera is not None and view.has(s, f"in:{s.camera.camera}.frames")]
    if not sweeps:
        return None
    from rig.export.nwb import leds_per_frame

    first = sweeps[0]
    cam = first.camera
    assert cam is not None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    image = view.data(first, f"in:{cam.camera}.frames").astype(float).mean(axis=0)
    left.imshow(image, cmap="gray", origin="upper")
    for name, xy in first.rois_um.items():
        if name.startswith("profile_"):  # the ends of the line profile, not regions
            continue
        row, col = cam.um_to_pixel(xy)
        radius_px = (first.roi_radius_um or 0.6) / (cam.pixel_size_um * cam.binning)
        left.add_patch(plt.Circle((col, row), radius_px, fill=False, color="yellow", lw=1))
        left.annotate(name.removesuffix("_um"), (col + radius_px + 1, row), color="yellow", fontsize=7,
                      va="center")
    left.set_title(f"mean frame, sweep {first.index + 1}, with the ROIs", fontsize=9)
    xs, ys = cam.pixel_centers_um()
    legend = {code: led for code, led in enumerate(first.led_channels, start=1)}
    traces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for s in sweeps:
        if not any(k.startswith("stimulus") for k in s.events_ms) or "head_um" not in s.rois_um:
            continue
        c = s.camera
        assert c is not None
        hx, hy = s.rois_um["head_um"]
        mask = (xs[None, :] - hx) ** 2 + (ys[:, None] - hy) ** 2 <= (s.roi_radius_um or 0.6) ** 2
        frames = view.data(s, f"in:{c.camera}.frames").astype(float)
        codes, frame_s = leds_per_frame(view, s, view.data(s, f"in:{c.camera}.frame_number"))
        onset = min(v for k, v in s.events_ms.items() if k.startswith("stimulus"))
        for code, led in legend.items():
            pick = codes == code
            if pick.sum() < 4:
                continue
            head = frames[pick][:, mask].mean(axis=1)
            t_ms = frame_s[pick] * 1000.0
            base = head[t_ms < onset]
            if base.size:
                traces[led].append((t_ms, head / base.mean() - 1.0))
    for i, (led, got) in enumerate(sorted(traces.items())):
        n = min(len(t[1]) for t in got)
        right.plot(got[0][0][:n], np.mean([t[1][:n] for t in got], axis=0), "o-", ms=2, color=f"C{i}",
                   label=f"{led} ({len(got)} sweeps)")
    right.set_xlabel("time in sweep (ms)")
    right.set_ylabel("head dF/F")
    right.set_title("head dF/F per LED channel (mean of stimulated sweeps)", fontsize=9)
    if traces:
        right.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def light_dose(view: RunView) -> bytes | None:
    """Per sweep: the laser's integrated power (fraction x s) and each LED's on-time (s), from the recorded commands."""
    laser: list[tuple[int, float]] = []
    leds: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for s in view.sweeps:
        dt = 1.0 / s.sample_rate_hz
        for channel in s.outputs:
            info = view.channel_info.get(channel)
            if info is None or not view.has(s, f"out:{channel}"):
                continue
            if info.kind == "pockels_laser":
                laser.append((s.index + 1, float(np.sum(view.data(s, f"out:{channel}"))) * dt))
            elif info.kind == "led_source":
                leds[info.role].append((s.index + 1, float(np.sum(view.data(s, f"out:{channel}") > 0.5)) * dt))
    if not laser and not leds:
        return None
    fig, ax = plt.subplots(figsize=(8, 3))
    if laser:
        ax.bar(*zip(*laser), color="C3", alpha=0.7, label="laser (power fraction x s)")
    for i, (led, values) in enumerate(sorted(leds.items())):
        ax.plot(*zip(*values), "os^vD"[i % 5] + "-", ms=4 + 2 * (len(leds) - i), mfc="none", color=f"C{i}",
                label=f"{led} on (s)")
    ax.set_xlabel("sweep")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("dose per sweep")
    ax.set_title("Light dose per sweep (from the recorded commands)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


FIGURES = (("Estimates over sweeps", estimates_over_sweeps), ("FRAP recoveries", frap_recoveries),
           ("Kymographs", kymograph), ("Calcium transients", calcium_transients),
           ("fCaT: sweeps and templates", calcium_templates),
           ("Camera: ROIs and dF/F per LED", camera_channels), ("Light dose", light_dose))
