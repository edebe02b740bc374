"""Tables of the 'Pipeline vs closes' workbook."""

from __future__ import annotations

from typing import Any

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.gate import missing
from alignment_lib.money import fmt_money, format_money
from alignment_lib.narrative._format import format_count, format_share
from alignment_lib.schema import OPPORTUNITY_SOURCES
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.theme import SOURCE_LABELS
from alignment_lib.tracking import Tracking

__all__ = ["table_bookings_forecast", "table_pipeline_vs_bookings"]

_MEASURES = {"pipeline_created": "Pipeline created", "bookings": "Bookings"}


def _amount_notes(long: pl.DataFrame, shown: list[str]) -> list[str]:
    """How the table treats opportunities without an amount, with their count (none: no note)."""
    if "pipeline_created" not in shown or "deals_without_amount" not in long.columns:
        return []
    created = long.filter(pl.col("measure") == "pipeline_created")
    missing_amount, deals = int(created["deals_without_amount"].sum()), int(created["deals"].sum())
    if not missing_amount:
        return []
    return [
        f"{format_count(missing_amount)} of the {format_count(deals)} opportunities created in "
        "these quarters have no amount: counted as opportunities, left out of the amounts "
        "(and of the win rate by amount), never given a guessed one."
    ]


@shows()
def table_pipeline_vs_bookings(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "pipeline-vs-bookings",
    currency: str | None = None,
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per quarter: pipeline created and bookings by source, totals, marketing share.

    ``frame`` is :func:`alignment_lib.metrics.pipeline_vs_bookings` output.
    Amounts in ``currency`` (default: the reporting currency). The columns of a
    measure the data cannot support (``tracking``: pipeline created without
    creation dates or lost deals; the marketing share without deal sources) are
    left out, with the reason in a note below. Opportunities without an amount
    are counted in a note (left out of the amounts, docs/metrics.md).
    """
    shown = [m for m in _MEASURES if not missing(tracking, m)]
    said = missing(tracking, *_MEASURES, "team_shares")
    if not shown:
        return table_no_data(
            "Pipeline created and bookings by quarter", " ".join(said), table_id=table_id
        )
    long = collect(frame)
    wide = (
        long.with_columns(key=pl.col("measure") + "__" + pl.col("source"))
        .pivot(
            "key",
            index=["quarter_index", "fiscal_quarter"],
            values="amount",
            aggregate_function="sum",
        )
        .sort("quarter_index")
    )
    columns: dict[str, list[str]] = {}
    for measure in _MEASURES:
        keys = [f"{measure}__{s}" for s in OPPORTUNITY_SOURCES]
        for k in keys:
            if k not in wide.columns:
                wide = wide.with_columns(pl.lit(0.0).alias(k))
        wide = wide.with_columns(pl.sum_horizontal(keys).alias(f"{measure}__total"))
        columns[measure] = [*keys, f"{measure}__total"]
    wide = wide.with_columns(
        pl.when(pl.col("bookings__total") > 0)
        .then(pl.col("bookings__marketing") / pl.col("bookings__total"))
        .alias("marketing_share")
    ).select(
        "fiscal_quarter", *columns["pipeline_created"], *columns["bookings"], "marketing_share"
    )
    labels = {"fiscal_quarter": "Quarter", "marketing_share": "Marketing share of bookings"}
    for keys in columns.values():
        for k in keys:
            source = k.split("__")[1]
            labels[k] = "Total" if source == "total" else SOURCE_LABELS[source].split("-")[0]
    table = (
        gt.GT(wide, id=table_id)
        .tab_header(
            title="Pipeline created and bookings by quarter",
            subtitle="Amounts by source; pipeline by creation quarter, bookings by close quarter",
        )
        .cols_label(cases={**labels})  # a dict display: typed as cols_label wants
        .pipe(fmt_money, [*columns["pipeline_created"], *columns["bookings"]], currency=currency)
        .fmt_percent(columns="marketing_share", decimals=0)
        .sub_missing(columns="marketing_share", missing_text="–")
    )
    by_source = not missing(tracking, "team_shares")
    hidden = [c for m, keys in columns.items() if m not in shown for c in keys]
    if not by_source:  # without deal sources only the totals mean anything
        hidden += [c for keys in columns.values() for c in keys[:-1]]
    if not by_source or "bookings" not in shown:
        hidden.append("marketing_share")
    if hidden:
        table = table.cols_hide(list(dict.fromkeys(hidden)))
    for measure, keys in columns.items():
        if measure in shown:
            table = table.tab_spanner(label=_MEASURES[measure], columns=keys)
    if len(shown) == 1:  # one measure left: the title names it alone
        by = "creation" if shown == ["pipeline_created"] else "close"
        table = table.tab_header(
            title=f"{_MEASURES[shown[0]]} by quarter",
            subtitle=f"Amounts by source, by {by} quarter" if by_source else f"By {by} quarter",
        )
    for note in [*said, *_amount_notes(long, shown)]:
        table = table.tab_source_note(note)
    return table.tab_style(
        # "FY2026-Q3" must not wrap at the hyphen on a narrow screen
        style=gt.style.text(whitespace="nowrap"),
        locations=gt.loc.body(columns="fiscal_quarter"),
    ).tab_style(
        style=gt.style.text(weight="bold"),
        locations=gt.loc.body(columns=[columns["pipeline_created"][-1], columns["bookings"][-1]]),
    )


def _estimates(r: dict[str, Any]) -> str:
    """The estimates the forecast weighs, with their weights, in a cell."""
    if r.get("calibration", "seasonal") != "seasonal":
        return "pipeline estimate only (no stage history)"
    parts = [
        f"{name} {format_money(r[value])} ({format_share(r[weight])})"
        for name, value, weight in (
            ("pipeline", "pipeline_forecast", "pipeline_weight"),
            ("last year grown", "naive_forecast", "naive_weight"),
            ("pace so far", "curve_forecast", "curve_weight"),
        )
        if r.get(value) is not None and r.get(weight)
    ]
    return " · ".join(parts) or "–"


def _record(r: dict[str, Any]) -> str:
    n = r.get("record_quarters") or 0
    if not n:
        return "no past forecast yet"
    text = (
        f"range held {r['record_inside']} of {n}; mean error {r['record_mean_absolute_error']:.1%}"
    )
    baseline, m = r.get("record_baseline_mean_absolute_error"), r.get("record_baseline_quarters")
    same = r.get("record_mean_absolute_error_same_quarters")
    if baseline is not None and m == n:
        text += f" (last year's quarter {baseline:.1%})"
    elif baseline is not None and same is not None:
        text += f"; on the {m} with a year-ago quarter {same:.1%} vs last year's {baseline:.1%}"
    return text


@shows("forecast")
def table_bookings_forecast(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "bookings-forecast",
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per quarter shown: forecast, 80% range, target, the same quarter last year,
    the estimates weighed and the track record at the same point.

    ``frame`` is :func:`alignment_lib.metrics.forecast_overview` output.
    """
    data = collect(frame).sort("quarter_index")
    if data.is_empty():
        return table_no_data("Bookings forecast", "No quarter to forecast", table_id=table_id)
    rows = [
        {
            "fiscal_quarter": r["fiscal_quarter"],
            "forecast": r["forecast"],
            "range": (
                f"{format_money(r['forecast_low'])} to {format_money(r['forecast_high'])}"
                if r["forecast_low"] is not None and r["forecast_high"] is not None
                else "–"
            ),
            "target": r["target"],
            "of_target": (
                r["forecast"] / r["target"] if r["forecast"] is not None and r["target"] else None
            ),
            "baseline": (
                f"{format_money(r['baseline_forecast'])} ({r['baseline_quarter']})"
                if r["baseline_forecast"] is not None
                else "–"
            ),
            "estimates": _estimates(r) if r["forecast"] is not None else "–",
            "record": _record(r),
        }
        for r in data.iter_rows(named=True)
    ]
    table = pl.DataFrame(
        rows,
        schema={
            "fiscal_quarter": pl.String,
            "forecast": pl.Float64,
            "range": pl.String,
            "target": pl.Float64,
            "of_target": pl.Float64,
            "baseline": pl.String,
            "estimates": pl.String,
            "record": pl.String,
        },
    )
    first, last = data["record_first"][0], data["record_last"][0]
    return (
        gt.GT(table, id=table_id)
        .tab_header(
            title="Bookings forecast",
            subtitle="The estimates weighed by their past accuracy, and how the forecast did",
        )
        .cols_label(
            fiscal_quarter="Quarter",
            forecast="Forecast",
            range="80% range",
            target="Target",
            of_target="Of target",
            baseline="Same quarter last year",
            estimates="Estimates weighed (weight)",
            record="Track record",
        )
        .pipe(fmt_money, ["forecast", "target"])
        .fmt_percent(columns="of_target", decimals=0)
        .cols_align(align="right", columns=["forecast", "range", "target", "of_target"])
        .sub_missing(missing_text="–")
        .tab_source_note(
            f"Track record: the forecasts made at the same point (as far ahead, as far into a "
            f"quarter) for {first} to {last}, against what each quarter booked; mean error = "
            "mean of |forecast / actual - 1|."
        )
    )
