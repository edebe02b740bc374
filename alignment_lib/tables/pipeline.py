"""Tables of the 'Pipeline vs closes' workbook."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.gate import missing
from alignment_lib.money import fmt_money
from alignment_lib.narrative._format import format_count
from alignment_lib.schema import OPPORTUNITY_SOURCES
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.theme import SOURCE_LABELS
from alignment_lib.tracking import Tracking

__all__ = ["table_pipeline_vs_bookings"]

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
        .cols_label(**labels)
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
