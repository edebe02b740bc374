"""Render time of the report bundle against the naive baseline, in the same run.

Kit: ``render_report`` (papermill's Python API in one process, workbooks in
parallel threads, executive + analyst HTML exported by nbconvert's API), on the
data read and validated once, as ``alignment report`` does (a snapshot every
workbook reads; docs/sources.md).
Baseline: for each workbook in sequence, the ``papermill`` command, then
``jupyter nbconvert --to html`` twice (with and without code): what a team
would script by hand. Both execute the same notebooks on the same data; the
baseline's HTML is not offline-safe, so it does strictly less work.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/render_bundle.py [--repeat N]``).
Prints one line per run and the median ratio baseline / kit.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alignment_lib.load import load_funnel
from alignment_lib.render import NOTEBOOK_DIR, WORKBOOKS, render_report

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "sample"
QUARTER = "FY2026-Q3"
BIN = Path(sys.executable).parent


def kit(out: Path) -> float:
    started = time.perf_counter()
    render_report(
        quarter=QUARTER,
        parameters={"quarter": QUARTER, "data_dir": str(DATA)},
        out_dir=out,
        images=False,
        data=load_funnel(DATA).materialize(),
    )
    return time.perf_counter() - started


def baseline(out: Path) -> float:
    started = time.perf_counter()
    for name in WORKBOOKS:
        executed = out / f"{name}.ipynb"
        subprocess.run(
            [
                str(BIN / "papermill"),
                str(NOTEBOOK_DIR / f"{name}.ipynb"),
                str(executed),
                "-p",
                "quarter",
                QUARTER,
                "-p",
                "data_dir",
                str(DATA),
                "--cwd",
                str(NOTEBOOK_DIR),
                "--no-progress-bar",
            ],
            check=True,
            capture_output=True,
        )
        for extra, stem in (([], f"{name}-analyst"), (["--no-input"], name)):
            subprocess.run(
                [
                    str(BIN / "jupyter"),
                    "nbconvert",
                    "--to",
                    "html",
                    *extra,
                    str(executed),
                    "--output",
                    stem,
                    "--output-dir",
                    str(out),
                ],
                check=True,
                capture_output=True,
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ratios = []
    print(f"{len(WORKBOOKS)} workbook(s), quarter {QUARTER}")
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            # alternate the order so warm caches favour neither side
            if i % 2:
                t_base, t_kit = baseline(Path(a)), kit(Path(b))
            else:
                t_kit, t_base = kit(Path(b)), baseline(Path(a))
        ratios.append(t_base / t_kit)
        print(
            f"run {i + 1}: kit {t_kit:.1f}s  baseline {t_base:.1f}s  "
            f"baseline/kit {t_base / t_kit:.2f}x"
        )
    print(f"median baseline/kit: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
