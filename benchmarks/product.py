"""The cost curve of the whole product: ``alignment validate`` and ``alignment report``.

Times the two commands as a user runs them, each in a fresh process, on the
generated data sets (``benchmarks/datasets.py``: the sample tiled; default
30k, 300k and 3M leads), interleaved: for each size and round, ``validate``
then ``report --no-images`` (FY2026-Q3, into a temporary folder). Peak memory
is sampled every 0.1 s over the whole process tree (the command and the
workbook kernels it starts, added up), with the largest single process
beside it. The report's page sizes (the six executive pages and the index)
show whether pages carry aggregates only (they should not grow with the rows).

``--compare-with REF`` (a git commit, e.g. the main branch before a change)
runs that version of the kit the same way in the same rounds, from a copy
of its files (``git archive``) put first on the Python path, so a speed-up is
measured on the same machine at the same time.

Run: ``make bench`` (with the other benchmarks), ``make bench-product
PRODUCT_SIZES=30k,300k,3M``, or ``.venv/bin/python benchmarks/product.py --help``
(docs/performance.md).
Writes ``benchmarks/results/product.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.datasets import CACHE, dataset, parse_sizes  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
QUARTER = "FY2026-Q3"
PAGES = (
    "index.html",
    "scorecard.html",
    "pipeline_vs_closes.html",
    "handoff.html",
    "funnel.html",
    "business_cycles.html",
    "data_health.html",
)


@dataclass(frozen=True)
class Run:
    """One command's run: wall and CPU seconds, peak memory (tree and largest process), exit code.

    CPU: user + system time of the command and every process it waited for (its
    workbook kernels), less sensitive than the wall time to other jobs on the machine.
    """

    wall: float
    cpu: float
    tree_mb: float
    process_mb: float
    code: int
    pages_kb: dict[str, float]
    error: str = ""


def _watch(process: subprocess.Popen, peaks: dict[str, float], stop: threading.Event) -> None:
    """Sample the resident memory of ``process`` and its descendants until ``stop``."""
    try:
        root = psutil.Process(process.pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        total, largest = 0, 0
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in members:
            try:
                rss = member.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            largest = max(largest, rss)
        peaks["tree"] = max(peaks["tree"], total / 2**20)
        peaks["process"] = max(peaks["process"], largest / 2**20)
        stop.wait(0.1)


def run_command(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> Run:
    """Run ``alignment`` with ``args``; its wall time and sampled peak memory."""
    command = [
        sys.executable,
        "-c",
        "import sys; from alignment_lib.cli import main; sys.exit(main(sys.argv[1:]))",
        *args,
    ]
    peaks = {"tree": 0.0, "process": 0.0}
    stop = threading.Event()
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watcher = threading.Thread(target=_watch, args=(process, peaks, stop), daemon=True)
    watcher.start()
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        err += f"\ntimed out after {timeout:.0f} s"
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    watcher.join()
    error = "" if process.returncode == 0 else (err.strip().splitlines() or ["?"])[-1]
    return Run(wall, cpu, peaks["tree"], peaks["process"], process.returncode, {}, error)


def _pages(out: Path) -> dict[str, float]:
    """Sizes in KiB of the report's executive pages (the published build)."""
    folder = out / QUARTER
    return {p: (folder / p).stat().st_size / 1024 for p in PAGES if (folder / p).is_file()}


def export(ref: str, into: Path) -> Path:
    """A copy of the kit's files at git ``ref`` (``git archive``) in ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _env(kit: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["ALIGNMENT_STATIC_PICTURES"] = "0"  # the pictures under the charts: off, as --no-images
    if kit is not None:  # this copy of the kit first on the path (kernels inherit it)
        env["PYTHONPATH"] = os.pathsep.join([str(kit), env.get("PYTHONPATH", "")]).strip(os.pathsep)
    return env


def bench(
    sizes: list[str],
    repeat: int,
    compare_with: str | None,
    timeout: float,
    cache: Path,
    note: str = "",
) -> list[str]:
    """Run the benchmark; the Markdown report (printed as it goes)."""
    from benchmarks.metrics import machine

    info = machine()
    report = [
        "# Product benchmark: `alignment validate` and `alignment report --no-images`",
        "",
        f"Written by `benchmarks/product.py` on {dt.date.today():%Y-%m-%d}; median of "
        f"{repeat} interleaved runs, each a fresh process; memory: peak resident memory "
        "of the command and its workbook kernels together, sampled every 0.1 s (largest "
        "single process in brackets).",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        *([f"- conditions: {note}"] if note else []),
        "",
    ]
    print("\n".join(report), flush=True)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        kits: dict[str, Path | None] = {"this commit": None}
        if compare_with:
            kits[compare_with] = export(compare_with, Path(tmp) / "kit-before")
        for size in sizes:
            data = dataset(size, cache=cache)
            leads = data.counts()["leads"]
            runs: dict[tuple[str, str], list[Run]] = {}
            for i in range(repeat):
                order = list(kits) if i % 2 == 0 else list(reversed(kits))
                for label in order:
                    env = _env(kits[label])
                    for command in ("validate", "report"):
                        out = Path(tmp) / f"out-{size}-{i}-{label.replace(' ', '_')}"
                        args = ["validate", "--data", str(data.data)]
                        if command == "report":
                            args = [
                                "report",
                                "--data",
                                str(data.data),
                                "--quarter",
                                QUARTER,
                                "--no-images",
                                "--out",
                                str(out),
                            ]
                        run = run_command(args, env=env, cwd=Path(tmp), timeout=timeout)
                        if command == "report" and run.code == 0:
                            run = replace(run, pages_kb=_pages(out))
                        runs.setdefault((label, command), []).append(run)
                        shown = run.error or (
                            f"{run.wall:.1f} s ({run.cpu:.1f} s CPU), {run.tree_mb:,.0f} MB "
                            f"({run.process_mb:,.0f} MB)"
                        )
                        print(f"  {size} run {i + 1} {label}: {command}: {shown}", flush=True)
            for (label, command), done in runs.items():
                ok = [r for r in done if r.code == 0]
                if len(ok) < len(done):
                    rows.append(
                        [size, f"{leads:,}", label, command, "failed", "", "", "", done[0].error]
                    )
                    continue
                wall = statistics.median(r.wall for r in ok)
                base = runs.get(("this commit", command))
                cpu = statistics.median(r.cpu for r in ok)
                ratio = ""
                if label != "this commit" and base and all(r.code == 0 for r in base):
                    ratio = (
                        f"this commit: {statistics.median(r.wall for r in base) / wall:.2f}x wall, "
                        f"{statistics.median(r.cpu for r in base) / cpu:.2f}x CPU"
                    )
                pages = ok[-1].pages_kb
                rows.append(
                    [
                        size,
                        f"{leads:,}",
                        label,
                        command,
                        f"{wall:.1f}",
                        f"{cpu:.1f}",
                        f"{max(r.tree_mb for r in ok):,.0f} ({max(r.process_mb for r in ok):,.0f})",
                        f"{sum(pages.values()):,.0f}" if pages else "",
                        ratio,
                    ]
                )
    header = [
        "size",
        "leads",
        "kit",
        "command",
        "median s",
        "CPU s",
        "peak MB",
        "pages KiB",
        "ratio",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    print("\n".join(table), flush=True)
    return [*report, *table, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="30k,300k,3M", help="comma-separated sizes (default 30k,300k,3M)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per command (default 1)")
    parser.add_argument(
        "--compare-with",
        default=None,
        metavar="REF",
        help="also run the kit as of this git commit or branch, interleaved",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    parser.add_argument("--cache", type=Path, default=CACHE, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "product.md")
    parser.add_argument(
        "--note", default="", help="a line on the conditions of the run, written in the header"
    )
    args = parser.parse_args(argv)
    report = bench(
        parse_sizes(args.sizes),
        args.repeat,
        args.compare_with,
        args.timeout,
        args.cache,
        args.note,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
