"""Where the kit's full metric set spends its time: CPU seconds per step and per frame.

On one generated data set (``--size``, default 10M; ``benchmarks/datasets.py``),
in one process: ``open_workbook`` on the validated snapshot (read, as-of cut,
into memory), then every frame of ``workbook_metrics`` collected alone (so a
frame's time includes the work it would share with others when the workbook
collects them together). CPU seconds (user + system of this process) are shown
beside the wall time: less sensitive to other jobs on the machine.

Run: ``make bench-profile SIZE=10M`` or ``.venv/bin/python benchmarks/profile.py --size 10M``.
Writes ``benchmarks/results/profile.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "benchmarks" / "results"
QUARTER = "FY2026-Q3"


def _timed(step) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def profile(size: str, note: str = "") -> list[str]:
    """The Markdown report: one row per step, the costliest first."""
    import alignment_lib as al
    import alignment_lib.export  # imported by every kernel; not timed
    from alignment_lib.workbook_metrics import (
        WORKBOOK_NAMES,
        collect_metrics,
        metric_names,
        workbook_metrics,
    )
    from benchmarks.datasets import dataset
    from benchmarks.metrics import machine

    data = dataset(size)
    leads = data.counts()["leads"]
    holder = {}

    def open_it() -> None:
        holder["wb"] = al.open_workbook(quarter=QUARTER, data_dir=str(data.snapshot))

    rows = [("open_workbook (read the snapshot, as-of cut, into memory)", *_timed(open_it))]
    wb = holder["wb"]
    for name in WORKBOOK_NAMES:
        # the data-health page's frames are fields of one report, computed once for them all
        groups = [None] if name == "data_health" else [[k] for k in metric_names(name)]
        for only in groups:
            step = lambda n=name, o=only: collect_metrics(workbook_metrics(n, wb, only=o))  # noqa: E731
            label = f"{name}.{only[0]}" if only else f"{name} (the health report, all frames)"
            rows.append((label, *_timed(step)))
            print(f"  {label}: {rows[-1][2]:.2f} s CPU", flush=True)
    total_cpu = sum(r[2] for r in rows)
    report = [
        f"# Profile: the kit's full metric set at {size} ({leads:,} leads)",
        "",
        f"Written by `benchmarks/profile.py` on {dt.date.today():%Y-%m-%d}; one process, "
        "each frame collected alone; CPU = user + system seconds of the process.",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        *([f"- conditions: {note}"] if note else []),
        "",
        "| step | wall s | CPU s | share of CPU |",
        "|---|---|---|---|",
        *(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {cpu / total_cpu:.0%} |"
            for label, wall, cpu in sorted(rows, key=lambda r: -r[2])
        ),
        f"| total |  | {total_cpu:.2f} |  |",
        "",
    ]
    print("\n".join(report), flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10M", help="a size of benchmarks/datasets.py")
    parser.add_argument("--out", type=Path, default=RESULTS / "profile.md")
    parser.add_argument(
        "--note", default="", help="a line on the conditions of the run, written in the header"
    )
    args = parser.parse_args(argv)
    from benchmarks.datasets import parse_sizes

    (size,) = parse_sizes(args.size)
    report = profile(size, args.note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
