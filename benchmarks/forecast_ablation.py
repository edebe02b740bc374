"""What each piece of the forecast's combination contributes on the sample (an ablation).

The kit's forecast (docs/metrics/forecast.md, "Bookings forecast") weighs the pipeline
estimate, last year's same quarter grown with pipeline creation and, mid-quarter, the
pace so far, by their past accuracy. This script measures the track record
(``forecast_track_record``, every complete quarter FY2024-Q4..FY2026-Q3, from the
quarters' starts and halfway through them) with one piece changed at a time:

- each estimate alone (read from the default record's columns);
- no creation growth (last year's quarter not grown, the creation level not carried
  forward);
- no reference rule (a year-ago quarter counts from the data's second quarter on, as the
  baseline's does), and the rule's share at 80% or 95% instead of 90%;
- the shrinkage of the weights (and of the interval) at 2 past errors instead of 1.

The variants replace module constants or one private function of
``alignment_lib.metrics.forecast`` for the length of a run (measurement only; the
package itself has no switch for them). Mean absolute errors over the tuning quarters
FY2024-Q4..FY2025-Q2 and the scored quarters FY2025-Q3..FY2026-Q3, and how often the 80%
range held over all quarters.

Run: ``.venv/bin/python benchmarks/forecast_ablation.py``; prints the table and writes
``benchmarks/results/forecast_ablation.md``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

import alignment_lib.metrics.forecast.seasonal as seasonal
import alignment_lib.metrics.forecast.track as track
from alignment_lib import FiscalCalendar, FiscalQuarter, forecast_track_record, load_funnel

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "forecast_ablation.md"
CALENDAR = FiscalCalendar(1, "UTC")
FIRST, LAST = FiscalQuarter(2024, 4), FiscalQuarter(2026, 3)
SCORED_FROM = FiscalCalendar.quarter_index(FiscalQuarter(2025, 3))
HORIZONS = {0.0: (0, 1, 2), 0.5: (0, 1, 2, 3)}
CELLS = [(e, k) for e, ks in HORIZONS.items() for k in ks]


def record(data) -> pl.DataFrame:
    as_of = CALENDAR.quarter_end_instant(LAST)
    seen = data.at(as_of)
    frames = [
        forecast_track_record(
            seen.opportunities,
            seen.stage_history,
            seen.targets,
            calendar=CALENDAR,
            first=FIRST,
            last=LAST,
            as_of=as_of,
            elapsed=elapsed,
            quarters_ahead=ks,
        )
        for elapsed, ks in HORIZONS.items()
    ]
    return pl.concat(pl.collect_all(frames))


def scores(frame: pl.DataFrame, estimate: str = "forecast") -> dict[str, list]:
    error = (pl.col(estimate) / pl.col("actual") - 1).abs()
    out: dict[str, list] = {}
    for part, keep in (
        ("tuning", pl.col("quarter_index") < SCORED_FROM),
        ("scored", pl.col("quarter_index") >= SCORED_FROM),
    ):
        got = (
            frame.filter(keep)
            .group_by("elapsed", "quarters_ahead")
            .agg(error.mean().alias("mae"))
            .sort("elapsed", "quarters_ahead")
        )
        by = {(r["elapsed"], r["quarters_ahead"]): r["mae"] for r in got.iter_rows(named=True)}
        out[part] = [by.get(c) for c in CELLS]
    held = frame.group_by("elapsed", "quarters_ahead").agg(
        pl.col("inside_interval").sum().alias("inside"),
        pl.col("forecast").is_not_null().sum().alias("made"),
    )
    by = {(r["elapsed"], r["quarters_ahead"]): r for r in held.iter_rows(named=True)}
    out["held"] = (
        [f"{by[c]['inside']}/{by[c]['made']}" for c in CELLS] if estimate == "forecast" else []
    )
    return out


@contextmanager
def patched(module, name: str, value) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def without_growth(original: Callable) -> Callable:
    def growth(*args):
        return original(*args).with_columns(pl.lit(None, dtype=pl.Float64).alias("creation_growth"))

    return growth


def without_reference_rule(original: Callable) -> Callable:
    def lag(*args):
        return original(*args).with_columns(pl.lit(0, dtype=pl.Int32).alias("reference_lag"))

    return lag


def pct(value) -> str:
    return "-" if value is None else f"{value:.2%}"


def main() -> None:
    started = time.perf_counter()
    data = load_funnel(REPO / "data" / "sample", calendar=CALENDAR).materialize()
    default = record(data)
    rows = [
        ("the kit (default)", scores(default)),
        ("pipeline estimate alone", scores(default, "pipeline_forecast")),
        ("last year's quarter grown alone", scores(default, "naive_forecast")),
        ("same quarter last year (the baseline)", scores(default, "baseline_forecast")),
    ]
    with patched(seasonal, "_creation_growth", without_growth(seasonal._creation_growth)):
        rows.append(("no creation growth", scores(record(data))))
    with patched(seasonal, "_reference_lag", without_reference_rule(seasonal._reference_lag)):
        rows.append(("no reference rule (year-ago from the 2nd quarter)", scores(record(data))))
    for share in (0.8, 0.95):
        with patched(seasonal, "REFERENCE_SHARE", share):
            rows.append((f"reference rule at {share:.0%}", scores(record(data))))
    with patched(track, "PRIOR_WEIGHT", 2):
        rows.append(("shrinkage worth 2 errors", scores(record(data))))
    head = " | ".join(f"{'s' if e == 0 else 'm'}{k}" for e, k in CELLS)
    lines = [
        "# Forecast ablation on the sample",
        "",
        f"Written by `benchmarks/forecast_ablation.py` ({dt.date.today().isoformat()}). Mean "
        "absolute error by origin (s = a quarter's start, m = halfway) and quarters ahead; "
        "'held': the 80% range held / forecasts made, all quarters FY2024-Q4..FY2026-Q3.",
        "",
        "## Scored quarters FY2025-Q3..FY2026-Q3",
        "",
        f"| variant | {head} | held |",
        "|---|" + "---|" * (len(CELLS) + 1),
    ]
    for name, got in rows:
        lines.append(
            f"| {name} | {' | '.join(pct(v) for v in got['scored'])} "
            f"| {' '.join(got['held']) or '-'} |"
        )
    lines += ["", "## Tuning quarters FY2024-Q4..FY2025-Q2", "", f"| variant | {head} |"]
    lines.append("|---|" + "---|" * len(CELLS))
    for name, got in rows:
        lines.append(f"| {name} | {' | '.join(pct(v) for v in got['tuning'])} |")
    lines += ["", f"Run time: {time.perf_counter() - started:.1f} s."]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
