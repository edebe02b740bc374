"""The ``alignment`` command: render reports, validate data, write the sample.

Errors of the kit's own family print as one readable message and exit with
the family's code (2 source, 3 data, 4 parameter, 5 render, 6 output folder
or disk, 7 another render of the same folder); Ctrl-C exits 130 and SIGTERM
143, the previous report intact; anything else is an internal error (70),
reported as such (``--debug`` shows the traceback). docs/rendering.md lists
every code.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alignment_lib.exceptions import AlignmentError, ParameterError
from alignment_lib.secrets import redact

__all__ = ["main"]

#: exit codes of an interrupted command (128 + the signal's number, as shells report)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
#: exit code of a bug in the kit (sysexits' EX_SOFTWARE)
EXIT_INTERNAL = 70


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so a render stops as it does on Ctrl-C."""


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alignment", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data",
            default=None,
            metavar="LOCATION",
            help="data location: a folder of CSV/Parquet files, a folder of partitioned Parquet "
            "datasets, a .duckdb file, or a postgresql:// URI with ${VAR} for its password, in "
            "single quotes (default: 'sample', the bundled sample data; with --mapping: the "
            "mapping's location; docs/sources.md)",
        )
        p.add_argument(
            "--env-file",
            default=None,
            metavar="FILE",
            help="a .env-style file of NAME=value lines to fill ${VAR} references in the data "
            "location from, when the environment lacks them",
        )
        mapped = p.add_mutually_exclusive_group()
        mapped.add_argument(
            "--mapping",
            default=None,
            metavar="FILE",
            help="mapping file (TOML) that reads a CRM export into the kit's tables "
            "(docs/mapping.md)",
        )
        mapped.add_argument(
            "--preset",
            default=None,
            metavar="NAME",
            help="a shipped mapping for a common export: "
            + ", ".join(_presets())
            + " (docs/mapping.md)",
        )
        p.add_argument(
            "--fiscal-year-start",
            type=int,
            default=None,
            metavar="MONTH",
            help="month the fiscal year starts, 1-12 (default 1)",
        )
        p.add_argument("--timezone", default=None, help="reporting time zone (default UTC)")

    report = sub.add_parser("report", help="render a quarter's report bundle")
    report.add_argument(
        "--quarter", default=None, help="fiscal quarter, e.g. FY2026-Q3, or 'latest' (default)"
    )
    data_options(report)
    report.add_argument("--as-of", default=None, help="as-of date (default: end of quarter)")
    report.add_argument("--segment", default=None, help="keep only this segment")
    report.add_argument("--region", default=None, help="keep only this region")
    report.add_argument(
        "--targets",
        default=None,
        metavar="FILE",
        help="targets table (CSV or Parquet file, or a data location with a targets table) to "
        "use instead of the data's own",
    )
    report.add_argument(
        "--sla-clock",
        choices=("calendar", "business"),
        default=None,
        help="how the handoff's first-touch SLA counts hours: 'calendar' (default) or "
        "'business' (Monday-Friday 09:00-17:00 in the lead's region; docs/metrics/"
        "funnel-handoff.md)",
    )
    report.add_argument(
        "--stall-days",
        type=float,
        default=None,
        metavar="DAYS",
        help="days after which a touched MQL without a decision counts as stalled (leaked) "
        "(default: the p99 of the data's own decision times)",
    )
    report.add_argument(
        "--read-until-as-of",
        action="store_true",
        help="read only rows dated up to the as-of instant (pushed into the database query or "
        "Parquet scan; for a past quarter of a large source); rows after it are then neither "
        "validated nor counted on the Data health page; needs --quarter",
    )
    report.add_argument(
        "--params",
        type=Path,
        default=None,
        metavar="FILE.yaml",
        help="YAML file of workbook parameters (command-line options win)",
    )
    report.add_argument("--out", type=Path, default=Path("reports"), help="output folder")
    report.add_argument(
        "--no-images", action="store_true", help="skip the SVG/PNG chart images for slides"
    )
    report.add_argument(
        "--no-benchmarks",
        action="store_true",
        help="leave out the typical B2B ranges shown beside six scorecard numbers as context "
        "(shown by default; docs/benchmarks.md)",
    )
    report.add_argument(
        "--wait",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="if another render is writing the same report folder, wait this long for it "
        "before giving up (default 600; 0: give up at once)",
    )
    report.add_argument(
        "--workbook",
        action="append",
        default=None,
        metavar="NAME",
        help="render only this workbook (repeatable; default: all of them)",
    )

    validate = sub.add_parser("validate", help="check a data location against the data model")
    data_options(validate)

    sample = sub.add_parser("sample", help="write the seeded sample data set")
    sample.add_argument("--out", type=Path, required=True, help="folder to write CSV files to")
    sample.add_argument("--seed", type=int, default=None, help="generator seed")
    return parser


def _presets() -> list[str]:
    from alignment_lib.mapping import list_presets

    return list_presets()


def _with_mapping(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the mapping the command names and the defaults its [report] gives.

    Precedence: defaults < the mapping's [report] < parameter file < command line.
    With a mapping, the data location defaults to the mapping's own.
    """
    ref = args.preset or args.mapping or params.get("mapping") or ""
    if args.preset and args.preset not in _presets():
        raise ParameterError(
            f"unknown preset {args.preset!r}; the presets are: {', '.join(_presets())}; fix: "
            "name one of them, or write a mapping file and pass --mapping FILE (docs/mapping.md)"
        )
    if not ref:
        return params
    from alignment_lib.mapping import load_mapping

    if ref.endswith(".toml") or "/" in ref or "\\" in ref:
        ref = str(Path(ref).resolve())  # the kernels run in another folder
    return {**load_mapping(ref).report_defaults, "data_dir": "", **params, "mapping": ref}


def _read_params(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"cannot read parameter file '{path}': {exc}") from exc
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ParameterError(
            f"parameter file '{path}' must be a YAML mapping of parameter names to values"
        )
    return values


def _merge(args: argparse.Namespace, base: dict[str, Any]) -> dict[str, Any]:
    """Parameters by precedence: defaults < parameter file < options given on the line."""
    values = {
        "quarter": "latest",
        "data_dir": "sample",
        "fiscal_year_start_month": 1,
        "timezone": "UTC",
        **base,
    }
    given = {
        "quarter": getattr(args, "quarter", None),
        "data_dir": args.data,
        "fiscal_year_start_month": args.fiscal_year_start,
        "timezone": args.timezone,
        "as_of": getattr(args, "as_of", None),
        "segment": getattr(args, "segment", None),
        "region": getattr(args, "region", None),
        "targets_file": getattr(args, "targets", None),
        "sla_clock": getattr(args, "sla_clock", None),
        "stall_days": getattr(args, "stall_days", None),
        "show_benchmarks": False if getattr(args, "no_benchmarks", False) else None,
    }
    values.update({k: v for k, v in given.items() if v is not None})
    return values


def _check_handoff(values: dict[str, Any]) -> None:
    """The handoff's settings, checked before any workbook runs (a bad value is exit 4,
    not a failed notebook)."""
    clock = values.get("sla_clock", "calendar")
    if clock not in ("calendar", "business"):
        raise ParameterError(
            f"sla_clock must be 'calendar' or 'business' (working hours in the lead's region), "
            f"got {clock!r}"
        )
    days = values.get("stall_days", 0.0)
    if isinstance(days, bool) or not isinstance(days, int | float) or not 0 <= days < 1e6:
        raise ParameterError(
            f"stall_days must be a number of days, 0 for the p99 of the data's decision times, "
            f"got {days!r}"
        )


def _open(values: dict[str, Any], args: argparse.Namespace) -> Any:
    """The source the parameters name: the one place the command line opens the data.

    ``sample``: the bundled sample data; with a mapping (``--mapping``,
    ``--preset`` or the parameter file's ``mapping``), the export read through it.
    """
    from alignment_lib.workbook import open_data_source

    return open_data_source(
        values["data_dir"],
        mapping=values.get("mapping", ""),
        env_file=getattr(args, "env_file", None),
    )


def _close(source: Any) -> None:
    """Close a database source's connection (files need nothing)."""
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _cmd_report(args: argparse.Namespace) -> int:
    from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
    from alignment_lib.load import load_funnel, load_targets, parse_as_of
    from alignment_lib.metrics.scorecard import shared_scorecard
    from alignment_lib.money import check_currency
    from alignment_lib.narrative.scorecard import gate_scorecard
    from alignment_lib.render import WORKBOOKS, Headline, check_output_folder, render_report
    from alignment_lib.sources import Window
    from alignment_lib.workbook import check_filters, latest_complete_quarter

    values = _merge(args, _with_mapping(args, _read_params(args.params)))
    _check_handoff(values)
    check_output_folder(args.out)  # before the data is read: a wrong --out fails at once
    workbooks = None
    if args.workbook:
        unknown = sorted(set(args.workbook) - set(WORKBOOKS))
        if unknown:
            raise ParameterError(
                f"unknown workbook {', '.join(unknown)}; the workbooks are: {', '.join(WORKBOOKS)}"
            )
        workbooks = {name: title for name, title in WORKBOOKS.items() if name in args.workbook}
        if "scorecard" not in workbooks:  # the only workbook that shows the published ranges
            values.pop("show_benchmarks", None)
    calendar = FiscalCalendar(values["fiscal_year_start_month"], values["timezone"])
    window = None
    if args.read_until_as_of:
        if values["quarter"] == "latest":
            raise ParameterError(
                "--read-until-as-of needs --quarter (the latest complete quarter is found from "
                "all of the data); fix: name the quarter, e.g. --quarter FY2026-Q3"
            )
        window = Window(
            until=parse_as_of(values["as_of"], calendar)
            if values.get("as_of")
            else parse_as_of(calendar.quarter_end(FiscalQuarter.parse(values["quarter"])), calendar)
        )
    source = _open(values, args)
    print(f"reading {source.description}", file=sys.stderr, flush=True)
    # Read and validate the data once, before any workbook runs: bad input never reaches a
    # page, and every workbook gets this same data (a snapshot in the render's staging area).
    try:
        data = load_funnel(source, calendar=calendar, window=window)
        if values.get("targets_file"):
            data = data.with_targets(load_targets(values["targets_file"], calendar=calendar))
        data = data.materialize()
        check_currency(data.currency)  # an unknown currency code fails before any workbook runs
    finally:
        _close(source)
    # a filter value no row has is a parameter error (exit 4) before any workbook runs
    check_filters(
        data, {k: values[k] for k in ("segment", "region") if values.get(k) not in (None, "")}
    )
    quarter = (
        latest_complete_quarter(data)
        if values["quarter"] == "latest"
        else FiscalQuarter.parse(values["quarter"])
    )
    values.update(quarter=quarter.label)
    as_of = (
        parse_as_of(values["as_of"], calendar)
        if values.get("as_of")
        else parse_as_of(calendar.quarter_end(quarter), calendar)
    )
    seen = data.where(segment=values.get("segment"), region=values.get("region")).at(as_of)
    headline = Headline(
        as_of,
        # a target the data cannot measure reads "not tracked" on the index too
        gate_scorecard(
            shared_scorecard(
                seen.leads,
                seen.opportunities,
                seen.targets,
                calendar=calendar,
                quarter=quarter,
                as_of=as_of,
                # the SLA on the clock the handoff page and the scorecard count it on
                sla_clock=values.get("sla_clock") or "calendar",
            ).collect(),
            seen.tracking,
        ),
        currency=data.currency,
        # a filtered render compares only with its filter's targets (FunnelData.where);
        # without any, the index shows the actuals and says why
        targets_note=" ".join(seen.tracking.missing("targets")),
    )
    print(f"rendering {quarter.label} into {Path(args.out).resolve()}", file=sys.stderr)
    result = render_report(
        quarter=quarter.label,
        parameters=values,
        out_dir=args.out,
        workbooks=workbooks,
        progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True),
        images=not args.no_images,
        headline=headline,
        wait=args.wait,
        data=data,
    )
    for name, page in result.analyst.items():
        print(f"  {name}: analyst page {page}", file=sys.stderr)
    print(result.index)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    import polars as pl

    from alignment_lib.fiscal import FiscalCalendar
    from alignment_lib.load import load_funnel
    from alignment_lib.metrics.health import health_report
    from alignment_lib.narrative.health import health_report_text
    from alignment_lib.workbook import latest_complete_quarter

    values = _merge(args, _with_mapping(args, {}))
    calendar = FiscalCalendar(values["fiscal_year_start_month"], values["timezone"])
    source = _open(values, args)
    try:
        data = load_funnel(source, calendar=calendar)
    finally:
        _close(source)
    counts = (
        pl.concat(
            [
                data.leads.select(pl.len().alias("leads")),
                data.opportunities.select(pl.len().alias("opportunities")),
                data.stage_history.select(pl.len().alias("stage_history")),
                data.targets.select(pl.len().alias("targets")),
            ],
            how="horizontal",
        )
        .collect()
        .row(0, named=True)
    )
    # a source with nothing dated before now has no quarter to report: SourceError, exit 2
    quarter = latest_complete_quarter(data)
    print(f"{data.source}: valid ({', '.join(f'{v:,} {k}' for k, v in counts.items())})")
    for kind, notes in (("warning", data.warnings), ("repaired", data.repairs)):
        for note in notes:
            print(f"  {kind}: {note.describe()}")
    print(f"latest complete quarter: {quarter.label} (the report's default quarter)")
    print()
    print(health_report_text(health_report(data.materialize()), tracking=data.tracking))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from alignment_lib.sample import SAMPLE_SEED, write_sample

    written = write_sample(args.out, seed=SAMPLE_SEED if args.seed is None else args.seed)
    for path in written:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (``argv`` None: the process's arguments)."""
    try:
        return _main(argv)
    finally:
        if argv is None:
            # the command line's own process: once the command is done (and has said
            # so), a signal during interpreter shutdown must not turn the exit code
            # into "killed by SIGINT"; nothing is left to stop
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    commands = {"report": _cmd_report, "validate": _cmd_validate, "sample": _cmd_sample}
    try:
        with _sigterm_stops():
            return commands[args.command](args)
    except AlignmentError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except _Terminated:
        print("terminated (SIGTERM); the previous report is untouched", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("interrupted; the previous report is untouched", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {redact(str(exc))}\n"
            "This is a bug in the kit, not in your data; rerun with --debug for the "
            "traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
