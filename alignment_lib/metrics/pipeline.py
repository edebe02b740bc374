"""Pipeline created and bookings: marketing's long clock against sales' short one.

Definitions (docs/metrics.md): *pipeline created* is the amount of every
opportunity by the fiscal quarter it was **created** in, whatever its status
today (restricting to open deals is a common bug that erases history);
*bookings* is the amount of won opportunities by the fiscal quarter they
**closed** in. Both are split by source (marketing, sales, partner), and
optionally by more columns (``by``: a dimension such as ``product``, or a
canonical column such as ``segment``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._by import by_columns
from alignment_lib.metrics._quarters import (
    LABEL,
    QUARTER,
    in_range,
    quarter_grid,
    quarter_of,
    with_label,
)
from alignment_lib.metrics._sums import money_sum
from alignment_lib.schema import OPPORTUNITIES, OPPORTUNITY_SOURCES

__all__ = ["bookings", "marketing_share", "pipeline_created", "pipeline_vs_bookings"]


def _by_quarter_and_source(
    deals: pl.LazyFrame,
    instant: str,
    first: FiscalQuarter,
    last: FiscalQuarter,
    calendar: FiscalCalendar,
    by: list[str],
) -> pl.LazyFrame:
    in_quarters = deals.with_columns(quarter_of(calendar, pl.col(instant))).filter(
        in_range(first, last)
    )
    counted = in_quarters.group_by(QUARTER, "source", *by).agg(
        pl.len().cast(pl.Int64).alias("deals"),
        money_sum(pl.col("amount")).alias("amount"),
        pl.col("amount").is_null().sum().cast(pl.Int64).alias("deals_without_amount"),
    )
    grid = quarter_grid(first, last, keys={"source": OPPORTUNITY_SOURCES})
    if by:
        # every quarter and source for each group that has a deal in the quarters
        grid = grid.join(in_quarters.select(by).unique(), how="cross")
    return (
        grid.join(counted, on=[QUARTER, "source", *by], how="left", nulls_equal=True)
        .with_columns(
            pl.col("deals", "deals_without_amount").fill_null(0), pl.col("amount").fill_null(0.0)
        )
        .pipe(with_label)
        .select(QUARTER, LABEL, *by, "source", "deals", "amount", "deals_without_amount")
        .sort(QUARTER, *by, "source", nulls_last=True)
    )


def _by(opportunities: pl.LazyFrame, by: Sequence[str] | str) -> list[str]:
    return by_columns(opportunities, by, table=OPPORTUNITIES)


def pipeline_created(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Pipeline created per fiscal quarter and source.

    One row per quarter from ``first`` to ``last`` and source (marketing, sales,
    partner), zeros included. ``deals``: opportunities created in the quarter;
    ``amount``: their summed amount in the reporting currency;
    ``deals_without_amount``: those of the deals with no amount (Int64): they
    count as deals and are **left out** of the amount (and of the win rate by
    amount, :func:`~alignment_lib.metrics.deals.win_rates`), never given a
    guessed one; the pages say how many (docs/metrics.md). With ``by`` columns,
    one row per quarter, group and source, for every group (a null value is a
    group) with a deal created in the quarters shown; the groups add up to
    the totals.
    """
    return _by_quarter_and_source(
        opportunities, "created_at", first, last, calendar, _by(opportunities, by)
    )


def bookings(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Bookings (closed-won) per fiscal quarter of close and source.

    One row per quarter from ``first`` to ``last`` and source, zeros included.
    ``deals``: won deals closed in the quarter; ``amount``: their won amount;
    ``deals_without_amount``: won deals without one (a won deal needs an amount
    on load; one left out as an implausible outlier has none).
    ``by`` as in :func:`pipeline_created` (groups with a won deal in the
    quarters shown).
    """
    cols = _by(opportunities, by)
    won = opportunities.filter(pl.col("outcome") == "won")
    return _by_quarter_and_source(won, "closed_at", first, last, calendar, cols)


def marketing_share(per_source: pl.LazyFrame, *, by: Sequence[str] = ()) -> pl.LazyFrame:
    """Marketing-sourced amount / all amount, per quarter.

    Takes the output of :func:`bookings` (marketing's share of the number) or
    :func:`pipeline_created`. One row per quarter: ``total``, ``marketing`` and
    ``share`` (0-1; null when the quarter's total is 0). With ``by`` (the same
    columns the input was split by), one row per quarter and group.
    """
    cols = [by] if isinstance(by, str) else list(by)
    return (
        per_source.group_by(QUARTER, LABEL, *cols)
        .agg(
            money_sum(pl.col("amount")).alias("total"),
            money_sum(pl.col("amount").filter(pl.col("source") == "marketing")).alias("marketing"),
        )
        .with_columns(
            pl.when(pl.col("total") > 0).then(pl.col("marketing") / pl.col("total")).alias("share")
        )
        .sort(QUARTER, *cols, nulls_last=True)
    )


def pipeline_vs_bookings(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Pipeline created and bookings side by side, long format.

    One row per quarter, measure (``pipeline_created`` or ``bookings``) and
    source, with ``deals``, ``amount`` and ``deals_without_amount`` as in the
    two functions above; with ``by`` columns also per group (each measure lists
    the groups it has).
    """
    cols = _by(opportunities, by)
    created = pipeline_created(opportunities, calendar=calendar, first=first, last=last, by=by)
    booked = bookings(opportunities, calendar=calendar, first=first, last=last, by=by)
    return pl.concat(
        [
            created.with_columns(measure=pl.lit("pipeline_created")),
            booked.with_columns(measure=pl.lit("bookings")),
        ]
    ).select(QUARTER, LABEL, "measure", *cols, "source", "deals", "amount", "deals_without_amount")
