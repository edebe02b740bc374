"""Pipeline created and bookings: marketing's long clock against sales' short one.

Definitions (docs/metrics.md): *pipeline created* is the amount of every
opportunity by the fiscal quarter it was **created** in, whatever its status
today (restricting to open deals is a common bug that erases history);
*bookings* is the amount of won opportunities by the fiscal quarter they
**closed** in. Both are split by source (marketing, sales, partner).
"""

from __future__ import annotations

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import (
    LABEL,
    QUARTER,
    in_range,
    quarter_grid,
    quarter_of,
    with_label,
)
from alignment_lib.metrics._sums import money_sum
from alignment_lib.schema import OPPORTUNITY_SOURCES

__all__ = ["bookings", "marketing_share", "pipeline_created", "pipeline_vs_bookings"]

_COLUMNS = [QUARTER, LABEL, "source", "deals", "amount"]


def _by_quarter_and_source(
    deals: pl.LazyFrame,
    instant: str,
    first: FiscalQuarter,
    last: FiscalQuarter,
    calendar: FiscalCalendar,
) -> pl.LazyFrame:
    counted = (
        deals.with_columns(quarter_of(calendar, pl.col(instant)))
        .filter(in_range(first, last))
        .group_by(QUARTER, "source")
        .agg(pl.len().cast(pl.Int64).alias("deals"), money_sum(pl.col("amount")).alias("amount"))
    )
    return (
        quarter_grid(first, last, keys={"source": OPPORTUNITY_SOURCES})
        .join(counted, on=[QUARTER, "source"], how="left")
        .with_columns(pl.col("deals").fill_null(0), pl.col("amount").fill_null(0.0))
        .pipe(with_label)
        .select(_COLUMNS)
        .sort(QUARTER, "source")
    )


def pipeline_created(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """Pipeline created per fiscal quarter and source.

    One row per quarter from ``first`` to ``last`` and source (marketing, sales,
    partner), zeros included. ``deals``: opportunities created in the quarter;
    ``amount``: their summed amount in the reporting currency (deals without an
    amount count as deals and add nothing to the amount).
    """
    return _by_quarter_and_source(opportunities, "created_at", first, last, calendar)


def bookings(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """Bookings (closed-won) per fiscal quarter of close and source.

    One row per quarter from ``first`` to ``last`` and source, zeros included.
    ``deals``: won deals closed in the quarter; ``amount``: their won amount.
    """
    won = opportunities.filter(pl.col("outcome") == "won")
    return _by_quarter_and_source(won, "closed_at", first, last, calendar)


def marketing_share(per_source: pl.LazyFrame) -> pl.LazyFrame:
    """Marketing-sourced amount / all amount, per quarter.

    Takes the output of :func:`bookings` (marketing's share of the number) or
    :func:`pipeline_created`. One row per quarter: ``total``, ``marketing`` and
    ``share`` (0-1; null when the quarter's total is 0).
    """
    return (
        per_source.group_by(QUARTER, LABEL)
        .agg(
            money_sum(pl.col("amount")).alias("total"),
            money_sum(pl.col("amount").filter(pl.col("source") == "marketing")).alias("marketing"),
        )
        .with_columns(
            pl.when(pl.col("total") > 0).then(pl.col("marketing") / pl.col("total")).alias("share")
        )
        .sort(QUARTER)
    )


def pipeline_vs_bookings(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """Pipeline created and bookings side by side, long format.

    One row per quarter, measure (``pipeline_created`` or ``bookings``) and
    source, with ``deals`` and ``amount`` as in the two functions above.
    """
    kw = {"calendar": calendar, "first": first, "last": last}
    return pl.concat(
        [
            pipeline_created(opportunities, **kw).with_columns(measure=pl.lit("pipeline_created")),
            bookings(opportunities, **kw).with_columns(measure=pl.lit("bookings")),
        ]
    ).select(QUARTER, LABEL, "measure", "source", "deals", "amount")
