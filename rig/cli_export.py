"""`rig export nwb`, `rig table` and `rig report`: data that leaves the rig (imports pynwb/pandas/matplotlib lazily).

Bad input (a missing or foreign file, an output that exists, a bad option) gets one line per problem and exit 2,
with nothing written; every input is checked before any output is made. `rig reanalyze` exits 1 when some files
could not be re-analysed (each listed with its reason; the others are done).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

EXPORT_COMMANDS = ("export", "table", "report", "reanalyze")
EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"
                           r"(/P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?)?$")
_SEXES = ("M", "F", "U", "O")


def add_export_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the export, table and report sub-commands to the `rig` parser."""
    export = sub.add_parser("export", help="export a run file to a standard format")
    formats = export.add_subparsers(dest="format", required=True)
    nwb = formats.add_parser("nwb", help="write the run as an NWB 2 file (pynwb)")
    nwb.add_argument("file", type=Path)
    nwb.add_argument("-o", "--out", type=Path, default=None, help="NWB file to write (default: RUN.nwb beside it)")
    nwb.add_argument("--subject-id")
    nwb.add_argument("--species", help="Latin binomial, e.g. 'Rattus norvegicus'")
    nwb.add_argument("--sex", choices=_SEXES)
    nwb.add_argument("--age", help="ISO 8601 duration or range, e.g. P21D or P14D/P28D")
    nwb.add_argument("--experimenter", action="append", default=[], help="'Last, First' (repeat for several)")
    nwb.add_argument("--lab")
    nwb.add_argument("--institution")
    nwb.add_argument("--description", help="session description (default: the protocol's)")
    table = sub.add_parser("table", help="one row per run, spine, step and estimate (CSV or Parquet)")
    table.add_argument("files", type=Path, nargs="+")
    table.add_argument("-o", "--out", type=Path, default=None, help="table.csv or table.parquet (default: CSV on stdout)")
    report = sub.add_parser("report", help="write a self-contained HTML report of a run")
    report.add_argument("file", type=Path)
    report.add_argument("-o", "--out", type=Path, default=None, help="HTML file (default: RUN.html beside it)")
    again = sub.add_parser("reanalyze", help="re-run the current online analysis over every run file of a folder "
                           "(dask.distributed; originals never modified, a RUN.reanalysis.json sidecar each)")
    again.add_argument("archive", type=Path)
    where = again.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    where.add_argument("--scheduler", default=None, help="address of an existing dask scheduler (a lab cluster)")
    again.add_argument("-o", "--out", type=Path, default=None, help="results.csv (default: CSV on stdout)")


def _run_file_problems(path: Path) -> list[str]:
    """Why a path is not a readable run file (empty when it is one)."""
    if not path.is_file():
        return [f"{path}: no such run file"]
    import h5py

    from rig.storage.layout import FORMAT

    try:
        with h5py.File(path, "r", locking=False) as f:
            if f.attrs.get("format") != FORMAT:
                return [f"{path}: not a spinerig run file (format attribute is not {FORMAT!r})"]
    except OSError as exc:
        return [f"{path}: not readable as HDF5 ({exc.__class__.__name__})"]
    return []


def _output_problems(out: Path, allowed: tuple[str, ...]) -> list[str]:
    problems = []
    if out.suffix.lower() not in allowed:
        problems.append(f"{out}: output suffix must be one of {', '.join(allowed)}")
    if out.exists():
        problems.append(f"{out}: exists; give another --out (exports never overwrite)")
    elif not out.parent.is_dir():
        problems.append(f"{out}: folder {out.parent} does not exist")
    return problems


def _say_problems(problems: list[str]) -> int:
    for p in problems:
        print(p, file=sys.stderr)
    return EXIT_BAD_INPUT


def run_export_command(args: argparse.Namespace) -> int:
    """Run `rig export nwb`, `rig table` or `rig report`."""
    if args.command == "export":
        return _export_nwb(args)
    if args.command == "table":
        return _table(args)
    if args.command == "reanalyze":
        return _reanalyze(args)
    return _report(args)


def _export_nwb(args: argparse.Namespace) -> int:
    out = args.out or args.file.with_suffix(".nwb")
    problems = _run_file_problems(args.file) + _output_problems(out, (".nwb",))
    if args.age is not None and not _ISO_DURATION.match(args.age):
        problems.append(f"--age {args.age!r}: must be an ISO 8601 duration such as P21D, or a range P14D/P28D")
    if args.species is not None and not re.match(r"^[A-Z][a-z]+ [a-z]+", args.species):
        problems.append(f"--species {args.species!r}: must be a Latin binomial such as 'Rattus norvegicus'")
    if problems:
        return _say_problems(problems)
    from rig.export.nwb import SIMULATED_SUBJECT, SessionMetadata, write_nwb
    from rig.export.run_view import RunView

    with RunView(args.file) as view:
        simulated = view.simulated
        site = view.profile.site  # the rig's own record of its lab; the CLI options override it
    meta = SessionMetadata(subject_id=args.subject_id, species=args.species, sex=args.sex, age=args.age,
                           experimenter=tuple(args.experimenter) or tuple(site.experimenters if site else ()),
                           lab=args.lab or (site.lab if site else None),
                           institution=args.institution or (site.institution if site else None),
                           session_description=args.description)
    missing = (SIMULATED_SUBJECT.filled_by(meta) if simulated else meta).missing()
    if missing:
        print(f"warning: not given, left out of the NWB file: {', '.join(missing)}", file=sys.stderr)
    write_nwb(args.file, out, meta)
    print(f"NWB file: {out}")
    return EXIT_OK


def _table(args: argparse.Namespace) -> int:
    problems = [p for f in args.files for p in _run_file_problems(f)]
    if args.out is not None:
        problems += _output_problems(args.out, (".csv", ".parquet"))
        if args.out.suffix.lower() == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                problems.append(f"{args.out}: Parquet needs pyarrow (pip install 'spinerig[parquet]'); or write .csv")
    if problems:
        return _say_problems(problems)
    from rig.export.table import estimates_table, write_table

    table = estimates_table(args.files)
    if args.out is None:
        try:
            table.to_csv(sys.stdout, index=False)
        except BrokenPipeError:  # `rig table ... | head`
            sys.stdout = open(os.devnull, "w")
    else:
        write_table(table, args.out)
        print(f"table: {args.out} ({len(table)} rows)")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    out = args.out or args.file.with_suffix(".html")
    problems = _run_file_problems(args.file) + _output_problems(out, (".html", ".htm"))
    if problems:
        return _say_problems(problems)
    from rig.export.report import write_report

    write_report(args.file, out)
    print(f"report: {out}")
    return EXIT_OK


def _reanalyze(args: argparse.Namespace) -> int:
    problems = []
    if not args.archive.is_dir():
        problems.append(f"{args.archive}: not a folder")
    if args.scheduler is None and not 1 <= args.workers <= 64:
        problems.append(f"--workers {args.workers}: must be 1-64")
    if args.out is not None:
        problems += _output_problems(args.out, (".csv",))
    if problems:
        return _say_problems(problems)
    from rich.progress import Progress

    from rig.export.reanalyze import FileResult, agreement, as_rows, reanalyse_archive, run_files_in, write_sidecar

    paths = run_files_in(args.archive)
    if not paths:
        return _say_problems([f"{args.archive}: no run files (*.h5) in it"])
    with Progress(transient=True) as progress:
        task = progress.add_task("re-analysing", total=len(paths))

        def done(result: FileResult) -> None:
            write_sidecar(result)
            progress.advance(task)

        results = reanalyse_archive(paths, workers=args.workers, scheduler=args.scheduler, on_result=done)
    import pandas as pd

    table = pd.DataFrame(as_rows(results))
    if args.out is None:
        try:
            table.to_csv(sys.stdout, index=False)
        except BrokenPipeError:
            sys.stdout = open(os.devnull, "w")
    else:
        table.to_csv(args.out, index=False)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"failed: {r.path}: {r.error}", file=sys.stderr)
    same, compared = agreement(results)
    print(f"{len(results) - len(failed)} of {len(results)} files re-analysed; {same} of {compared} estimates "
          "identical to the online ones" + (f"; results: {args.out}" if args.out else ""), file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK
