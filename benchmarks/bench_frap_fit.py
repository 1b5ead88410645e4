"""Per-sweep FRAP fit: its time against `scipy.optimize.curve_fit` of one exponential on the same data, and
its bias and coverage over a seeded synthetic study (tau 20-1000 ms, 100 and 500 photons per line).

The time ratio is ours / curve_fit on the same sweeps in the same run: every sweep is fitted by both, each
timed as the best of `--repeats` calls (the machine may be loaded; the best is the cost, not the load),
and the ratio is the sum over sweeps. curve_fit fits the recovery alone, a - b exp(-t / tau), from a plain
start (tail mean, first-lines depth, a fifth of the span), as a user would; it measures 1 / (1/tau + k_i),
not tau, and its bias is printed next to ours.

Usage: python benchmarks/bench_frap_fit.py [--draws 300] [--sweeps 10] [--repeats 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

from rig.analysis.frap_kinetics import fit_frap_kinetics  # noqa: E402
from rig.analysis.frap_study import SweepDesign, draw_sweeps, run_designs, run_study  # noqa: E402

TAUS_MS = (20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
PHOTONS = (100.0, 500.0)


def _exponential(t: np.ndarray, a: float, b: float, tau: float) -> np.ndarray:
    return a - b * np.exp(-t / tau)


def _curve_fit(t_post: np.ndarray, post: np.ndarray) -> float:
    tail = float(post[-max(1, post.size // 10):].mean())
    with np.errstate(over="ignore"):  # its trial steps may overflow exp; that is curve_fit's business
        popt, _ = curve_fit(_exponential, t_post, post, p0=[tail, tail - float(post[:5].mean()), t_post[-1] / 5])
    return float(popt[2])


def _best(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def timing(sweeps: int, repeats: int, seed: int) -> list[tuple[float, float, float, float, float]]:
    """(tau, photons, our ms per sweep, curve_fit ms per sweep, curve_fit's median relative bias) per condition."""
    rows = []
    for i, tau in enumerate(TAUS_MS):
        for j, photons in enumerate(PHOTONS):
            design = SweepDesign(tau, photons)
            t_base, t_post = design.line_times()
            base, post = draw_sweeps(design, sweeps, np.random.default_rng(np.random.SeedSequence([seed, i, j])))
            ours = theirs = 0.0
            cf_taus = []
            for b, p in zip(base, post):
                ours += _best(lambda: fit_frap_kinetics(t_base, b, t_post, p, design.dark_counts_per_line), repeats)
                theirs += _best(lambda: _curve_fit(t_post, p), repeats)
                cf_taus.append(_curve_fit(t_post, p))
            rows.append((tau, photons, ours / sweeps * 1e3, theirs / sweeps * 1e3,
                         float(np.median(np.array(cf_taus) / tau - 1.0))))
    return rows


def main() -> None:
    """Print the time ratio (several rounds) and the bias/coverage table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300, help="synthetic sweeps per condition for bias/coverage")
    parser.add_argument("--sweeps", type=int, default=10, help="sweeps per condition for the timing")
    parser.add_argument("--repeats", type=int, default=7, help="calls per sweep and method; the best is kept")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (each prints its overall ratio)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    print("per-sweep FRAP fit time / curve_fit time of one exponential, same sweeps, same run")
    ratios = []
    for r in range(args.rounds):
        rows = timing(args.sweeps, args.repeats, args.seed + r)
        ours = sum(row[2] for row in rows)
        theirs = sum(row[3] for row in rows)
        ratios.append(ours / theirs)
        if r == 0:
            print(f"{'tau ms':>7} {'photons':>7} {'ours ms':>8} {'curve_fit ms':>12} {'ratio':>6} {'curve_fit bias':>14}")
            for tau, photons, o, c, bias in rows:
                print(f"{tau:7g} {photons:7g} {o:8.3f} {c:12.3f} {o / c:6.2f} {bias:+14.1%}")
        print(f"round {r + 1}: ratio {ours / theirs:.2f} (ours {ours / len(rows):.3f} ms, curve_fit "
              f"{theirs / len(rows):.3f} ms per sweep)")
    print(f"ratio over rounds: {min(ratios):.2f}-{max(ratios):.2f} (target <= 1)")
    print()
    print(f"bias and 95 % coverage, {args.draws} seeded sweeps per condition; combined = groups of 10 sweeps "
          "combined as the online analysis does (rig.analysis.frap_combine, combine_log_normal)")
    print(f"{'tau ms':>7} {'photons':>7} {'delivered':>9} {'median bias':>11} {'coverage':>8} {'median width':>12} "
          f"{'combined cov':>12} {'comb bias':>9}")
    study = run_study(TAUS_MS, PHOTONS, args.draws, args.seed)
    for row in study:
        print(f"{row.tau_ms:7g} {row.head_photons_per_line:7g} {row.delivered:9.1%} {row.median_rel_bias:+11.2%} "
              f"{row.coverage:8.1%} {row.median_rel_width:12.1%} {row.combined_coverage:12.0%} "
              f"{row.combined_median_rel_bias:+9.2%}")
    groups = sum(r.combined_groups for r in study)
    pooled = sum(r.combined_coverage * r.combined_groups for r in study) / groups
    print(f"worst |median bias| {max(abs(r.median_rel_bias) for r in study):.2%} (target <= 2 %); per-sweep coverage "
          f"{min(r.coverage for r in study):.1%}-{max(r.coverage for r in study):.1%} (target 90-98 %); combined "
          f"coverage pooled over {groups} groups {pooled:.1%}")
    _print_envelope(args.draws, args.seed)


def _print_envelope(draws: int, seed: int) -> None:
    """The design envelope: a 1 s spine with recoveries of 1-3 tau (the rows above use 4 tau, at most 3 s)."""
    print()
    print("short recoveries (tau 1000 ms; 65 photons/line is the simulated rig's head):")
    designs = [SweepDesign(1000.0, h, recovery_ms=t) for h in (65.0, 100.0) for t in (1000.0, 2000.0, 3000.0)]
    for row in run_designs(designs, draws, seed + 1):
        print(f"  recovery {row.recovery_ms:5.0f} ms, {row.head_photons_per_line:3.0f} photons: delivered "
              f"{row.delivered:6.1%}, median bias {row.median_rel_bias:+.2%}, coverage {row.coverage:.1%}, combined "
              f"coverage {row.combined_coverage:.0%}, combined bias {row.combined_median_rel_bias:+.2%}")


if __name__ == "__main__":
    main()
