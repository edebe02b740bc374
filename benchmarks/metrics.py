"""The kit's metrics against DuckDB, pandas and the read floor, on generated data.

For each size (``--sizes 1M,10M``; ``benchmarks/datasets.py`` generates and
caches the data), every engine runs ``--repeat`` times, interleaved (the
order rotates each round), each run in its own process, so that peak RSS is
the engine's own. A run's wall time starts after the imports and ends when
the last result is in memory.

Engines:

- ``kit``: the **full metric set** of the six workbooks for one quarter, as
  the workbooks compute it: ``open_workbook`` on the report's validated
  snapshot (read, as-of cut, into memory), then every frame of
  ``workbook_metrics`` (``alignment_lib/workbook_metrics.py``: each
  notebook's metric calls, same arguments), collected per workbook.
- ``kit_core``: the same start, then only the :data:`CORE` metrics (nine
  calls of five workbooks, the workbooks' own arguments).
- ``duckdb``: :data:`CORE` as DuckDB SQL over the Parquet files
  (``benchmarks/core_duckdb.py``), the as-of cut included.
- ``pandas``: :data:`CORE` in idiomatic pandas (``benchmarks/core_pandas.py``),
  the as-of cut included.
- ``floor``: reading just the columns :data:`CORE` needs into memory (polars).
- ``floor_all``: reading every column of the four tables (what ``kit`` starts
  from: a workbook's data holds them all).

Like is compared with like: ``duckdb``, ``pandas`` and ``floor`` against
``kit_core``; ``kit`` against ``floor_all`` (no other engine computes the full
set: the forecast, coverage, pipeline needed, curves, slipped deals, the
data-health rules are the kit's own and would be a second kit). Before any
time is reported, every core engine's results are checked against
``kit_core``'s (:func:`compare`): counts exactly, amounts and durations to a
relative 1e-9 (float sums and quantile interpolation in another order),
rows with nothing in them left out (the kit's grids add zero rows).

Run: ``make bench`` (every benchmark), ``make bench-metrics SIZES=1M,10M REPEAT=3``,
``make bench-100m``; or ``.venv/bin/python benchmarks/metrics.py --help``
(docs/performance.md).
Writes ``benchmarks/results/metrics.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the benchmarks package is beside the kit
    sys.path.insert(0, str(REPO))

import polars as pl  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
QUARTER = "FY2026-Q3"
#: the quarters the workbooks show (history_quarters = 8), as indexes
FIRST_INDEX, LAST_INDEX = 2024 * 4 + 3, 2026 * 4 + 2
AS_OF = dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
ENGINES = ("kit", "kit_core", "duckdb", "pandas", "floor", "floor_all")
#: engine -> the engine it is compared with (like with like)
BASELINE = {
    "kit_core": "kit_core",
    "duckdb": "kit_core",
    "pandas": "kit_core",
    "floor": "kit_core",
    "kit": "floor_all",
    "floor_all": "floor_all",
}


@dataclass(frozen=True)
class Core:
    """One core metric: where the workbooks compute it and what is compared."""

    workbook: str
    frame: str
    keys: tuple[str, ...]
    counts: tuple[str, ...]
    values: tuple[str, ...]
    #: a row counts when this column is above 0
    nonzero: str


#: the core metric set: nine metrics of five workbooks, as their notebooks call them
CORE = {
    "pvb": Core(
        "pipeline_vs_closes",
        "pvb",
        ("quarter_index", "measure", "source"),
        ("deals",),
        ("amount",),
        "deals",
    ),
    "lag": Core(
        "pipeline_vs_closes",
        "lag",
        ("quarter_index", "lag_quarters"),
        ("deals",),
        ("amount", "share"),
        "deals",
    ),
    "outcomes": Core(
        "handoff",
        "outcomes",
        ("quarter_index", "channel"),
        ("mqls", "accepted", "rejected", "pending", "leaked"),
        (),
        "mqls",
    ),
    "response": Core(
        "handoff",
        "by_channel",
        ("quarter_index", "channel"),
        ("mqls_due", "touched", "within_sla"),
        ("median_hours", "p90_hours"),
        "mqls_due",
    ),
    "reasons": Core(
        "handoff",
        "reasons",
        ("quarter_index", "rejection_reason", "channel"),
        ("rejected",),
        ("share",),
        "rejected",
    ),
    "cohorts": Core(
        "funnel",
        "cohorts",
        ("quarter_index", "step", "channel", "segment"),
        ("entered", "reached", "mature"),
        ("median_days", "maturity_days"),
        "entered",
    ),
    "durations": Core(
        "funnel",
        "durations",
        ("quarter_index", "step"),
        ("records",),
        ("median_days", "p90_days"),
        "records",
    ),
    "cycle": Core(
        "business_cycles",
        "cycle_segment",
        ("quarter_index", "segment"),
        ("won", "closed"),
        ("median_days_won", "median_days_closed", "p90_days_closed"),
        "closed",
    ),
    "linearity": Core(
        "business_cycles",
        "linearity",
        ("quarter_index",),
        ("deals",),
        ("bookings", "month3_bookings", "last_two_weeks_bookings"),
        "deals",
    ),
}

#: the columns the core metrics read, per table (the floor reads just these)
CORE_COLUMNS = {
    "leads": (
        "channel",
        "segment",
        "created_at",
        "mql_at",
        "accepted_at",
        "rejected_at",
        "rejection_reason",
        "first_touch_at",
        "sql_at",
        "opportunity_id",
    ),
    "opportunities": (
        "opportunity_id",
        "created_at",
        "closed_at",
        "outcome",
        "amount",
        "source",
        "segment",
    ),
    "stage_history": ("opportunity_id", "changed_at", "stage", "amount"),
}
TABLES = ("leads", "opportunities", "stage_history", "targets")
REL_TOL = 1e-9


# -- the engines (each runs in a worker process) ---------------------------------------------
def _open(snapshot: Path):  # -> the kit's Workbook, imported lazily
    import alignment_lib as al

    return al.open_workbook(quarter=QUARTER, data_dir=str(snapshot))


def run_kit(folder: Path) -> dict[str, pl.DataFrame]:
    from alignment_lib.workbook_metrics import WORKBOOK_NAMES, collect_metrics, workbook_metrics

    wb = _open(folder / "snapshot")
    out: dict[str, pl.DataFrame] = {}
    for name in WORKBOOK_NAMES:
        for key, frame in collect_metrics(workbook_metrics(name, wb)).items():
            out[f"{name}.{key}"] = frame
    return out


def run_kit_core(folder: Path) -> dict[str, pl.DataFrame]:
    from alignment_lib.workbook_metrics import collect_metrics, workbook_metrics

    wb = _open(folder / "snapshot")
    frames = {}
    for name, core in CORE.items():
        frames[name] = workbook_metrics(core.workbook, wb, only=[core.frame])[core.frame]
    return collect_metrics(frames)


def run_duckdb(folder: Path) -> dict[str, pl.DataFrame]:
    from benchmarks import core_duckdb

    return core_duckdb.run(folder / "data", first=FIRST_INDEX, last=LAST_INDEX, as_of=AS_OF)


def run_pandas(folder: Path) -> dict[str, pl.DataFrame]:
    from benchmarks import core_pandas

    return core_pandas.run(folder / "data", first=FIRST_INDEX, last=LAST_INDEX, as_of=AS_OF)


def run_floor(folder: Path) -> dict[str, pl.DataFrame]:
    return {
        t: pl.read_parquet(folder / "data" / f"{t}.parquet", columns=list(c))
        for t, c in CORE_COLUMNS.items()
    }


def run_floor_all(folder: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(folder / "data" / f"{t}.parquet") for t in TABLES}


RUNNERS = {
    "kit": run_kit,
    "kit_core": run_kit_core,
    "duckdb": run_duckdb,
    "pandas": run_pandas,
    "floor": run_floor,
    "floor_all": run_floor_all,
}


def _preload(engine: str) -> None:
    """Imports a run needs, done before the clock starts (a kernel has them already)."""
    if engine.startswith("kit"):
        import alignment_lib
        import alignment_lib.export
        import alignment_lib.theme
        import alignment_lib.workbook_metrics  # noqa: F401
    elif engine == "duckdb":
        import duckdb  # noqa: F401

        import benchmarks.core_duckdb
    elif engine == "pandas":
        import pandas  # noqa: F401

        import benchmarks.core_pandas  # noqa: F401


def peak_rss_kb() -> int:
    """This process's peak resident set size in KiB.

    Linux's ``VmHWM`` (the high-water mark of this program's memory): unlike
    ``getrusage``'s ``ru_maxrss``, it does not inherit the parent's peak
    across ``fork`` + ``exec``, so each engine's figure is its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker(engine: str, folder: Path, results: Path | None) -> None:
    """Run one engine once; print its wall time and peak RSS as JSON (stdout's last line)."""
    _preload(engine)
    started = time.perf_counter()
    out = RUNNERS[engine](folder)
    wall = time.perf_counter() - started
    peak_kb = peak_rss_kb()
    if results is not None:
        results.mkdir(parents=True, exist_ok=True)
        for name, frame in out.items():
            if engine.startswith("floor"):
                continue  # the floor's "results" are the raw tables
            frame.write_parquet(results / f"{name}.parquet")
    print(json.dumps({"engine": engine, "wall": wall, "rss_mb": peak_kb / 1024}))


# -- comparing the engines ----------------------------------------------------------------------
def _normal(frame: pl.DataFrame, core: Core) -> pl.DataFrame:
    cols = [*core.keys, *core.counts, *core.values]
    out = frame.select(cols).filter(pl.col(core.nonzero) > 0)
    casts = {k: pl.Int64 for k in core.keys if out.schema[k].is_integer()}
    casts |= {c: pl.Int64 for c in core.counts if out.schema[c] != pl.Boolean}
    casts |= {v: pl.Float64 for v in core.values}
    return out.cast(casts).sort(core.keys, nulls_last=True)


def compare(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> list[str]:
    """Differences between two engines' core results ([] when equal within tolerance)."""
    from polars.testing import assert_frame_equal

    problems = []
    for name, core in CORE.items():
        if name not in got or name not in want:
            problems.append(f"{name}: missing")
            continue
        a, b = _normal(got[name], core), _normal(want[name], core)
        try:
            assert_frame_equal(a, b, check_exact=False, rel_tol=REL_TOL, abs_tol=1e-9)
        except AssertionError as exc:
            problems.append(f"{name}: {str(exc).splitlines()[0]}")
    return problems


def _read_results(folder: Path) -> dict[str, pl.DataFrame]:
    return {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet")}


# -- the driver ------------------------------------------------------------------------------
def _run(engine: str, folder: Path, results: Path | None, timeout: float) -> dict:
    command = [sys.executable, __file__, "--worker", engine, "--folder", str(folder)]
    if results is not None:
        command += ["--results", str(results)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        return {"engine": engine, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    """Versions and the machine, for the table's header."""
    import duckdb

    try:
        import pandas

        pandas_version = pandas.__version__
    except ImportError:
        pandas_version = "not installed"
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = os.getloadavg()
    return {
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()}",
        "python": platform.python_version(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "pandas": pandas_version,
        "commit": commit or "?",
        "load average at start": " ".join(f"{x:.1f}" for x in load),
    }


def _fmt_rows(rows: list[list[str]], header: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def bench(
    sizes: list[str], engines: list[str], repeat: int, timeout: float, note: str = ""
) -> list[str]:
    """Run the benchmark; return the Markdown report (also printed as it goes)."""
    from benchmarks.datasets import dataset

    info = machine()
    report = [
        "# Metrics benchmark: the kit against DuckDB, pandas and the read floor",
        "",
        f"Written by `benchmarks/metrics.py` on {dt.date.today():%Y-%m-%d}; "
        f"median of {repeat} interleaved runs per engine, each in its own process.",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        *([f"- conditions: {note}"] if note else []),
        "",
    ]
    print("\n".join(report), flush=True)
    for size in sizes:
        data = dataset(size)
        counts = data.counts()
        title = (
            f"## {size}: {counts['leads']:,} leads, {counts['opportunities']:,} opportunities, "
            f"{counts['stage_history']:,} stage changes ({data.copies} x sample)"
        )
        print(title, flush=True)
        runs: dict[str, list[dict]] = {e: [] for e in engines}
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(repeat):
                order = engines[i % len(engines) :] + engines[: i % len(engines)]
                for engine in order:
                    results = Path(tmp) / engine if i == 0 else None
                    run = _run(engine, data.folder, results, timeout)
                    runs[engine].append(run)
                    shown = run.get("error") or f"{run['wall']:.2f} s, {run['rss_mb']:,.0f} MB"
                    print(f"  run {i + 1} {engine:10s} {shown}", flush=True)
            checks = {}
            core = Path(tmp) / "kit_core"
            for engine in engines:
                ready = runs[engine] and "error" not in runs[engine][0]
                if engine in ("duckdb", "pandas") and "kit_core" in engines and ready:
                    problems = compare(_read_results(Path(tmp) / engine), _read_results(core))
                    checks[engine] = "equal" if not problems else "; ".join(problems)
        rows = []
        medians = {
            e: statistics.median(r["wall"] for r in runs[e])
            for e in engines
            if runs[e] and all("error" not in r for r in runs[e])
        }
        for engine in engines:
            if engine not in medians:
                err = next((r["error"] for r in runs[engine] if "error" in r), "not run")
                rows.append([engine, "failed", "", "", err])
                continue
            base = BASELINE[engine]
            ratio = (
                f"{medians[engine] / medians[base]:.2f}x {base}"
                if base in medians and base != engine
                else ""
            )
            rss = max(r["rss_mb"] for r in runs[engine])
            rows.append(
                [engine, f"{medians[engine]:.2f}", ratio, f"{rss:,.0f}", checks.get(engine, "")]
            )
        # the kit's core set against each other engine, the way the targets are stated
        if "kit_core" in medians:
            for engine in ("duckdb", "pandas", "floor"):
                if engine in medians:
                    rows.append(
                        [
                            f"kit_core / {engine}",
                            "",
                            f"{medians['kit_core'] / medians[engine]:.2f}x",
                            "",
                            "",
                        ]
                    )
        table = _fmt_rows(
            rows, ["engine", "median s", "ratio", "peak RSS MB", "results vs kit_core"]
        )
        report += [title, "", *table, ""]
        print("\n".join(table), flush=True)
        failed = [e for e, c in checks.items() if c != "equal"]
        if failed:
            report.append(f"**Results differ** for {', '.join(failed)} (see the table).")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="300k,1M",
        help="comma-separated sizes: 30k, 300k, 1M, 3M, 10M, 30M, 100M or xN (N copies of "
        "the sample); default 300k,1M",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated engines (default all: {','.join(ENGINES)})",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (default 3)")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds one run may take (default 3600)"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS / "metrics.md", help="Markdown file to write"
    )
    parser.add_argument(
        "--note", default="", help="a line on the conditions of the run, written in the header"
    )
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.folder, args.results)
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine {', '.join(unknown)}; engines: {', '.join(ENGINES)}")
    from benchmarks.datasets import parse_sizes

    report = bench(parse_sizes(args.sizes), engines, args.repeat, args.timeout, args.note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
