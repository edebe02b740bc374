"""How well the bookings forecast does on the bundled sample, against a seasonal-naive baseline.

Every complete quarter FY2024-Q4..FY2026-Q3 is forecast from what was known at
each origin: the start of the quarter k quarters before it (k = 0, 1, 2: what a
report rendered at a quarter's end shows) and halfway through it (k = 0..3: a
report rendered mid-quarter), by

- the kit's season-aware forecast (``forecast_track_record``: the default
  ``bookings_forecast``, its interval from past errors);
- the forecast before issue 10 (``calibration="in_quarter"``: rates pooled over
  the year, a normal interval of 1.2816 model standard deviations), made on the
  tables cut at each origin;
- the seasonal-naive baseline: what the same quarter booked a year earlier.

**Tuning / scoring split.** The method's design (season-aware rates, the
open-deal matrix, counting created amounts as known at the origin, the curve
combination, the interval from past errors) and its defaults (season weight 0.5,
8 calibration quarters, 8 track quarters, prior weight 1) were chosen looking at
the target quarters FY2024-Q4..FY2025-Q2 only ("tuning"); the scores that count
are those of FY2025-Q3..FY2026-Q3 ("scored"). The sample generator was not
touched. (After the first scoring run the data's first quarter was left out of
the pacing curves and the creation level, a rule stated without reference to the
scores; see docs/metrics/forecast.md.)

Also recorded: the issue's "done when" check (the FY2026-Q4 forecast as of
2026-09-30 against the range that the bookings seen by 2026-11-14 imply through
the historical Q4 curve) and the false "behind" alarms of linear against curve
pacing.

Run: ``.venv/bin/python benchmarks/forecast_backtest.py``; prints the tables and
writes them to ``benchmarks/results/forecast_backtest.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import polars as pl

from alignment_lib import (
    FiscalCalendar,
    FiscalQuarter,
    bookings_forecast,
    forecast_track_record,
    load_funnel,
    pacing,
    parse_as_of,
)
from alignment_lib.metrics.forecast.seasonal import origin_instant
from alignment_lib.metrics.scorecard import AT_RISK_PACING

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "sample"
OUT = REPO / "benchmarks" / "results" / "forecast_backtest.md"
CALENDAR = FiscalCalendar(1, "UTC")
FIRST, LAST = FiscalQuarter(2024, 4), FiscalQuarter(2026, 3)
TUNING_LAST = FiscalQuarter(2025, 2)
#: the horizons a report shows: from a quarter's start the next three quarters (k = 0..2);
#: mid-quarter the current one and the next three (k = 0..3)
HORIZONS = {0.0: (0, 1, 2), 0.5: (0, 1, 2, 3)}
ORIGIN = {0.0: "start", 0.5: "mid-quarter"}


def index(q: FiscalQuarter) -> int:
    return FiscalCalendar.quarter_index(q)


def kit_record(data, as_of: dt.datetime) -> pl.DataFrame:
    frames = [
        forecast_track_record(
            data.opportunities,
            data.stage_history,
            data.targets,
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


def before_record(data, actuals: pl.DataFrame) -> pl.DataFrame:
    """The forecast before issue 10, made on the tables cut at each origin."""
    frames, keys = [], []
    for elapsed, ks in HORIZONS.items():
        top = max(ks)
        for origin in range(index(FIRST) - top, index(LAST) + 1):
            instant = origin_instant(CALENDAR, origin, elapsed)
            seen = data.at(instant)
            frames.append(
                bookings_forecast(
                    seen.opportunities,
                    seen.stage_history,
                    calendar=CALENDAR,
                    quarter=FiscalCalendar.quarter_from_index(origin),
                    as_of=instant,
                    quarters=top + 1,
                    calibration="in_quarter",
                ).select(
                    "quarter_index", "quarters_ahead", "forecast", "forecast_low", "forecast_high"
                )
            )
            keys.append(elapsed)
    rows = pl.concat(
        [
            f.with_columns(pl.lit(e).alias("elapsed"))
            for f, e in zip(pl.collect_all(frames), keys, strict=True)
        ]
    )
    wanted = pl.concat(
        [
            pl.DataFrame(
                {"elapsed": [e], "quarters_ahead": [k]},
                schema={"elapsed": pl.Float64, "quarters_ahead": pl.Int32},
            )
            for e, ks in HORIZONS.items()
            for k in ks
        ]
    )
    return (
        rows.join(wanted, on=["elapsed", "quarters_ahead"], how="inner")
        .filter(pl.col("quarter_index").is_between(index(FIRST), index(LAST)))
        .join(actuals, on="quarter_index", how="left")
        .with_columns(
            (pl.col("forecast") / pl.col("actual") - 1).alias("error"),
            (
                (pl.col("forecast_low") <= pl.col("actual"))
                & (pl.col("actual") <= pl.col("forecast_high"))
            ).alias("inside_interval"),
        )
    )


def summary(frame: pl.DataFrame, error: str, inside: str | None) -> pl.DataFrame:
    known = pl.col(error).is_not_null()
    aggs = [
        known.sum().alias("n"),
        pl.col(error).filter(known).abs().mean().alias("mae"),
        pl.col(error).filter(known).mean().alias("bias"),
    ]
    if inside:
        aggs.append(pl.col(inside).filter(known).sum().alias("inside"))
    return frame.group_by("elapsed", "quarters_ahead").agg(aggs).sort("elapsed", "quarters_ahead")


def pct(value: float | None) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:+.1%}"
    )


def mae(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def money(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.2f}"


def span(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{money(low)}-{money(high)}"


def table(kit: pl.DataFrame, before: pl.DataFrame, naive: pl.DataFrame) -> list[str]:
    lines = [
        "| origin | quarters ahead | n | kit MAE | kit bias | kit 80% range held | before MAE "
        "| before bias | before range held | baseline n | baseline MAE | baseline bias |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    joined = (
        kit.join(before, on=["elapsed", "quarters_ahead"], how="left", suffix="_before")
        .join(naive, on=["elapsed", "quarters_ahead"], how="left", suffix="_naive")
        .sort("elapsed", "quarters_ahead")
    )
    for r in joined.iter_rows(named=True):
        lines.append(
            f"| {ORIGIN[r['elapsed']]} | {r['quarters_ahead']} | {r['n']} | {mae(r['mae'])} "
            f"| {pct(r['bias'])} | {r['inside']} of {r['n']} | {mae(r['mae_before'])} "
            f"| {pct(r['bias_before'])} | {r['inside_before']} of {r['n_before']} "
            f"| {r['n_naive']} | {mae(r['mae_naive'])} | {pct(r['bias_naive'])} |"
        )
    return lines


def scored(frame: pl.DataFrame, part: str) -> pl.DataFrame:
    cut = index(TUNING_LAST)
    q = pl.col("quarter_index")
    return (
        frame.filter(q <= cut)
        if part == "tuning"
        else frame.filter(q > cut)
        if part == "scored"
        else frame
    )


def per_quarter(kit: pl.DataFrame, elapsed: float, k: int) -> list[str]:
    lines = [
        "| quarter | forecast | 80% range | actual | error | held | same quarter last year "
        "| its error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = kit.filter(pl.col("elapsed") == elapsed, pl.col("quarters_ahead") == k).sort(
        "quarter_index"
    )
    for r in rows.iter_rows(named=True):
        held = "-" if r["inside_interval"] is None else ("yes" if r["inside_interval"] else "no")
        lines.append(
            f"| {r['fiscal_quarter']} | {money(r['forecast'])} "
            f"| {span(r['forecast_low'], r['forecast_high'])} | {money(r['actual'])} "
            f"| {pct(r['error'])} | {held} "
            f"| {money(r['baseline_forecast'])} | {pct(r['baseline_error'])} |"
        )
    return lines


def done_when(data) -> list[str]:
    as_of = parse_as_of("2026-09-30", CALENDAR)
    seen = data.at(as_of)
    q4 = FiscalQuarter(2026, 4)
    fc = (
        bookings_forecast(
            seen.opportunities,
            seen.stage_history,
            seen.targets,
            calendar=CALENDAR,
            quarter=q4,
            as_of=as_of,
        )
        .collect()
        .row(0, named=True)
    )
    later = parse_as_of("2026-11-14", CALENDAR)
    pace = (
        pacing(
            data.opportunities, data.leads, data.targets, calendar=CALENDAR, quarter=q4, as_of=later
        )
        .filter(pl.col("metric") == "bookings")
        .collect()
        .row(0, named=True)
    )
    inside = pace["projected_low"] <= fc["forecast"] <= pace["projected_high"]
    return [
        f"- FY2026-Q4 forecast as of 2026-09-30: {money(fc['forecast'])}M "
        f"(80% range {money(fc['forecast_low'])}M-{money(fc['forecast_high'])}M; target "
        f"{money(fc['target'])}M; the forecast before issue 10 said 5.1M, range 4.1M-6.1M).",
        f"- Booked by 2026-11-14 (day {pace['day_of_quarter']} of {pace['days_in_quarter']}): "
        f"{money(pace['actual'])}M; the earlier Q4s ({pace['curve_basis']}, "
        f"{pace['curve_quarters']} quarters) had booked {pace['curve_share']:.1%} of their "
        f"total by that day ({pace['curve_share_low']:.1%}-{pace['curve_share_high']:.1%}), "
        "which implies "
        f"{money(pace['projected_finish'])}M ({money(pace['projected_low'])}M-"
        f"{money(pace['projected_high'])}M).",
        f"- The forecast is {'inside' if inside else 'OUTSIDE'} that range.",
    ]


def alarms(data) -> list[str]:
    linear = curve = weeks = 0
    for q in range(index(FIRST), index(LAST) + 1):
        quarter = FiscalCalendar.quarter_from_index(q)
        start = CALENDAR.quarter_start(quarter)
        frames = [
            pacing(
                data.opportunities,
                None,
                data.targets,
                calendar=CALENDAR,
                quarter=quarter,
                as_of=parse_as_of((start + dt.timedelta(days=7 * w - 1)).isoformat(), CALENDAR),
            ).filter(pl.col("metric") == "bookings")
            for w in range(1, 14)
        ]
        rows = pl.concat(pl.collect_all(frames))
        end = parse_as_of(CALENDAR.quarter_end(quarter).isoformat(), CALENDAR)
        final = (
            pacing(
                data.opportunities,
                None,
                data.targets,
                calendar=CALENDAR,
                quarter=quarter,
                as_of=end,
            )
            .filter(pl.col("metric") == "bookings")
            .collect()
        )
        if final["status"].item() != "hit":
            continue
        weeks += rows.height
        linear += int((rows["linear_pacing"] < AT_RISK_PACING).sum())
        curve += int((rows["status"] == "behind").sum())
    return [
        f"- Quarter-weeks of quarters that ended at or above target: {weeks}. Linear pacing "
        f'below {AT_RISK_PACING:.0%} ("behind"): {linear}. Curve pacing status "behind" (below '
        f"{AT_RISK_PACING:.0%} of target even at the slowest past pace): {curve}.",
    ]


def main() -> None:
    started = time.perf_counter()
    data = load_funnel(DATA, calendar=CALENDAR).materialize()
    as_of = CALENDAR.quarter_end_instant(LAST)
    seen = data.at(as_of)
    kit = kit_record(seen, as_of)
    actuals = kit.select("quarter_index", "actual").unique()
    before = before_record(seen, actuals)
    lines = [
        "# Forecast backtest on the sample",
        "",
        f"Written by `benchmarks/forecast_backtest.py` ({dt.date.today().isoformat()}). Every "
        f"complete quarter {FIRST.label}..{LAST.label} forecast from what was known at each origin "
        "(docs/metrics/forecast.md). Errors are forecast / actual - 1; MAE is their mean absolute "
        "value, bias their mean; 'range held' counts the quarters whose actual fell inside the 80% "
        "range (of those with a forecast). Kit: the season-aware forecast (default). Before: the "
        "forecast before issue 10 (in-quarter rates pooled over the year). Baseline: the same "
        "quarter last year (none for FY2024-Q4: FY2023-Q4 is the data's first quarter).",
        "",
        "**Split.** Design and defaults chosen on the target quarters "
        f"{FIRST.label}..{TUNING_LAST.label} (tuning); scored on "
        f"{TUNING_LAST.shift(1).label}..{LAST.label}. The sample generator was not changed.",
        "",
    ]
    for part, title in (
        ("scored", f"Scored quarters {TUNING_LAST.shift(1).label}..{LAST.label}"),
        (
            "tuning",
            f"Tuning quarters {FIRST.label}..{TUNING_LAST.label} (in-sample for the design)",
        ),
        ("all", f"All quarters {FIRST.label}..{LAST.label}"),
    ):
        k, b = scored(kit, part), scored(before, part)
        naive = summary(k.with_columns(pl.col("baseline_error")), "baseline_error", None)
        lines += [
            f"## {title}",
            "",
            *table(
                summary(k, "error", "inside_interval"),
                summary(b, "error", "inside_interval"),
                naive,
            ),
            "",
        ]
    for elapsed, k in ((0.0, 0), (0.0, 1), (0.0, 2), (0.5, 0)):
        lines += [
            f"## Per quarter: {ORIGIN[elapsed]}, {k} quarter{'s' if k != 1 else ''} ahead (kit)",
            "",
            *per_quarter(kit, elapsed, k),
            "",
        ]
    lines += ["## Done when: FY2026-Q4", "", *done_when(data), ""]
    lines += ['## Pacing: false "behind" alarms, FY2024-Q4..FY2026-Q3', "", *alarms(data), ""]
    lines.append(f"Run time: {time.perf_counter() - started:.1f} s.")
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
