"""Tables of the 'Business cycles' workbook."""

from __future__ import annotations

import great_tables as gt
import polars as pl

from alignment_lib._frames import collect
from alignment_lib.gate import missing
from alignment_lib.metrics.cycles import MONTH3_HEALTHY_MAX, MONTH3_SEVERE_MIN
from alignment_lib.metrics.deals import DEAL_SIZE_BANDS
from alignment_lib.money import fmt_money
from alignment_lib.tables._empty import shows, table_no_data
from alignment_lib.theme import SOURCE_LABELS
from alignment_lib.tracking import Tracking

__all__ = ["table_business_cycles", "table_sales_cycle"]

_NOWRAP = gt.style.text(whitespace="nowrap")


@shows("linearity")
def table_business_cycles(
    linearity: pl.DataFrame | pl.LazyFrame,
    slipped: pl.DataFrame | pl.LazyFrame,
    *,
    table_id: str = "business-cycles",
    currency: str | None = None,
    tracking: Tracking | None = None,
) -> gt.GT:
    """One row per quarter: how back-loaded its bookings were and what became of the
    deals expected in it.

    ``linearity`` is :func:`alignment_lib.metrics.bookings_linearity` output
    (without ``by``), ``slipped`` is :func:`alignment_lib.metrics.slipped_deals`
    output over the same quarters. Amounts in ``currency`` (default: the
    reporting currency, :mod:`alignment_lib.money`).
    """
    lin = collect(linearity).select(
        "quarter_index",
        "fiscal_quarter",
        "bookings",
        "deals",
        "month3_share",
        "last_two_weeks_share",
        "linearity_status",
    )
    slip = collect(slipped).select(
        "quarter_index",
        "expected_deals",
        "slipped_deals",
        "slipped_share_deals",
        "slipped_amount",
        "pushed_deals",
        "still_open_deals",
        "won_deals",
    )
    wide = (
        lin.join(slip, on="quarter_index", how="left")
        .with_columns(
            pl.when(pl.col("expected_deals") > 0)
            .then(pl.col("won_deals") / pl.col("expected_deals"))
            .alias("won_share_deals")
        )
        .sort("quarter_index")
        .drop("quarter_index", "won_deals")
    )
    linearity_cols = ["bookings", "deals", "month3_share", "last_two_weeks_share"]
    slipped_cols = [
        "expected_deals",
        "slipped_deals",
        "slipped_share_deals",
        "slipped_amount",
        "pushed_deals",
        "still_open_deals",
        "won_share_deals",
    ]
    table = (
        gt.GT(wide, id=table_id)
        .tab_header(
            title="Bookings linearity and slipped deals by quarter",
            subtitle=f"Healthy: up to {MONTH3_HEALTHY_MAX:.0%} of a quarter's bookings in its "
            f"third month; severe hockey stick: {MONTH3_SEVERE_MIN:.0%} and up",
        )
        .cols_label(
            fiscal_quarter="Quarter",
            bookings="Bookings",
            deals="Won deals",
            month3_share="Month 3",
            last_two_weeks_share="Last two weeks",
            linearity_status="Status",
            expected_deals="Expected",
            slipped_deals="Slipped",
            slipped_share_deals="Slipped share",
            slipped_amount="Slipped amount",
            pushed_deals="Pushed out",
            still_open_deals="Still open",
            won_share_deals="Won in the quarter",
        )
        .tab_spanner(label="Bookings closed in the quarter", columns=linearity_cols)
        .tab_spanner(label="Deals expected at the quarter's start", columns=slipped_cols)
        .pipe(fmt_money, ["bookings", "slipped_amount"], currency=currency)
        .fmt_integer(
            columns=["deals", "expected_deals", "slipped_deals", "pushed_deals", "still_open_deals"]
        )
        .fmt_percent(
            columns=[
                "month3_share",
                "last_two_weeks_share",
                "slipped_share_deals",
                "won_share_deals",
            ],
            decimals=0,
        )
        .sub_missing(missing_text="–")
        .tab_style(
            style=_NOWRAP, locations=gt.loc.body(columns=["fiscal_quarter", "linearity_status"])
        )
    )
    said = missing(tracking, "slipped_deals")
    if not said:
        return table.tab_source_note(
            "Expected: open at the quarter's start with an expected close date inside it "
            "(from stage history). Slipped: did not close in the quarter, either pushed out "
            "(the date moved past the quarter by its end) or still open (the date not moved "
            "out); the rest were won or lost in it. Amounts as recorded at the quarter's start."
        )
    # the slipped columns cannot be computed from this data: left out, and why
    table = table.cols_hide(slipped_cols).tab_header(
        title="Bookings linearity by quarter",
        subtitle=f"Healthy: up to {MONTH3_HEALTHY_MAX:.0%} of a quarter's bookings in its "
        f"third month; severe hockey stick: {MONTH3_SEVERE_MIN:.0%} and up",
    )
    for note in said:
        table = table.tab_source_note(note)
    return table


def _band_order(value: str | None) -> int:
    order = [band for band, _ in DEAL_SIZE_BANDS]
    return order.index(value) if value in order else len(order)


@shows("sales_cycle")
def table_sales_cycle(
    by_segment: pl.DataFrame | pl.LazyFrame,
    by_band: pl.DataFrame | pl.LazyFrame,
    *,
    quarter: str,
    by_source: pl.DataFrame | pl.LazyFrame | None = None,
    table_id: str = "sales-cycle",
    tracking: Tracking | None = None,
) -> gt.GT:
    """Sales cycle of the deals closed in ``quarter`` (a label), by source, segment and size.

    ``by_segment``, ``by_band`` and (optional) ``by_source`` are ``sales_cycle``
    output grouped by ``segment``, by ``deal_size_band`` and by ``source``.
    Medians and the 90th percentile, never a mean.
    """
    columns = ["won", "closed", "median_days_won", "median_days_closed", "p90_days_closed"]
    seg = (
        collect(by_segment)
        .filter(pl.col("fiscal_quarter") == quarter)
        .select(
            pl.lit("By segment").alias("split"),
            pl.col("segment").fill_null("(none)").alias("group"),
            *columns,
        )
        .sort("group")
    )
    band = collect(by_band).filter(pl.col("fiscal_quarter") == quarter)
    band = (
        band.with_columns(
            pl.Series("_order", [_band_order(v) for v in band["deal_size_band"]], dtype=pl.Int64)
        )
        .sort("_order")
        .select(
            pl.lit("By deal size").alias("split"),
            pl.col("deal_size_band").fill_null("no amount").alias("group"),
            *columns,
        )
    )
    parts = [seg, band]
    if by_source is not None:
        src = collect(by_source).filter(pl.col("fiscal_quarter") == quarter)
        order = {code: i for i, code in enumerate(SOURCE_LABELS)}
        parts.insert(
            0,
            src.with_columns(pl.Series("_order", [order.get(v, len(order)) for v in src["source"]]))
            .sort("_order", "source")
            .select(
                pl.lit("By source").alias("split"),
                pl.col("source")
                .replace_strict(SOURCE_LABELS, default=pl.col("source"))
                .fill_null("(none)")
                .alias("group"),
                *columns,
            ),
        )
    data = pl.concat(parts)
    if data.is_empty():
        return table_no_data(
            f"Sales cycle of the deals closed in {quarter}",
            f"No deals closed in {quarter}",
            table_id=table_id,
        )
    table = (
        gt.GT(data, id=table_id, rowname_col="group", groupname_col="split")
        .tab_header(
            title=f"Sales cycle of the deals closed in {quarter}",
            subtitle="Days from creation to close; medians, never a mean",
        )
        .cols_label(
            won="Won",
            closed="Closed",
            median_days_won="Median days, won",
            median_days_closed="Median days, all closed",
            p90_days_closed="90th percentile, all closed",
        )
        .tab_spanner(label="Deals", columns=["won", "closed"])
        .tab_spanner(
            label="Days", columns=["median_days_won", "median_days_closed", "p90_days_closed"]
        )
        .fmt_integer(columns=columns)
        .sub_missing(missing_text="–")
    )
    if (data["group"] == "no amount").any():
        table = table.tab_source_note(
            "No amount: lost deals recorded without an amount (a won deal always has one)."
        )
    return table
