"""Deal economics: win rate, sales cycle, average deal size and sales velocity.

Definitions (docs/metrics/deals-lag.md, after the domain reference):

- *win rate* = won / (won + lost) over **closed** deals, by count and by
  amount (columns say which). Open deals are excluded; every lost outcome,
  "No decision" included, counts as lost.
- *sales cycle* = ``closed_at - created_at`` of closed deals in elapsed days
  (fractional: 6 hours is 0.25 days). Reported as medians (won only, and all
  closed) and a 90th percentile, never as a mean: a blended mean hides the
  long enterprise cycles. Split by ``segment`` or by :func:`deal_size_band`.
- *average deal size* = won amount / won count.
- *sales velocity* = open qualified, current deals x win rate (count) of
  qualified closes x average deal size / **mean** won cycle in days: amount
  per day, with the rates taken from a trailing window of closed deals
  (:func:`sales_velocity`).

Quantiles use linear interpolation between the two nearest values (DuckDB's
``quantile_cont``; ``median`` is the 0.5 quantile), so a median of an even
number of deals is the mean of the middle two.

Quarter-ranged results (:func:`win_rates`, :func:`sales_cycle`) are keyed by
the fiscal quarter of ``closed_at`` in the calendar's time zone and hold every
quarter from ``first`` to ``last``; with ``by`` columns, every quarter is
crossed with every combination of ``by`` values seen among the deals closed in
the range (a missing value is a group of its own), so a quarter without closes
shows zeros and null rates instead of disappearing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from alignment_lib.exceptions import ParameterError
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
from alignment_lib.metrics._sums import money_sum, stable_mean
from alignment_lib.schema import TABLES

__all__ = [
    "DEAL_SIZE_BANDS",
    "DEFAULT_EXCLUDED_STAGES",
    "closed_deal_stats",
    "deal_size_band",
    "sales_cycle",
    "sales_velocity",
    "win_rates",
]

#: Deal-size bands of :func:`deal_size_band`, smallest first, with their lower edges.
DEAL_SIZE_BANDS: tuple[tuple[str, float], ...] = (
    ("<25K", 0.0),
    ("25K-100K", 25_000.0),
    (">=100K", 100_000.0),
)

#: stages that are not qualified pipeline by default (not counted in coverage or velocity)
DEFAULT_EXCLUDED_STAGES: tuple[str, ...] = ("Discovery",)

_DAY_US = 86_400_000_000
_WON = pl.col("outcome") == "won"


# -- helpers shared with lag.py -------------------------------------------------
def _by_columns(frame: pl.LazyFrame, by: Sequence[str] | str, table: str) -> list[str]:
    """``by`` as a list of column names of ``frame`` (any column of ``table``, a
    dimension, or a column the caller added; :func:`alignment_lib.metrics._by.by_columns`)."""
    hint = (
        "; to group by deal size, add the column first: "
        "opportunities.with_columns(deal_size_band(pl.col('amount')))"
        if table == "opportunities"
        else ""
    )
    return by_columns(frame, by, table=TABLES[table], hint=hint)


def _instant(as_of: dt.datetime) -> dt.datetime:
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None:
        raise ParameterError(
            f"as_of must be a time-zone aware datetime, got {as_of!r}; use e.g. "
            "alignment_lib.parse_as_of('2026-09-30', calendar) or FunnelData.at(...).as_of"
        )
    return as_of.astimezone(dt.UTC)


def _lit_instant(value: dt.datetime) -> pl.Expr:
    return pl.lit(value, dtype=pl.Datetime("us", "UTC"))


def _days(end: str, start: str) -> pl.Expr:
    """Elapsed days between two timestamp columns, Float64 (fractions of a day kept)."""
    return (pl.col(end) - pl.col(start)).dt.total_microseconds().cast(pl.Float64) / _DAY_US


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator as Float64; null when the denominator is not positive."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator)


def _grid(first: FiscalQuarter, last: FiscalQuarter, groups: pl.LazyFrame | None) -> pl.LazyFrame:
    """Quarters first..last, crossed with the distinct rows of ``groups`` when given."""
    grid = quarter_grid(first, last)
    return grid if groups is None else grid.join(groups.unique(), how="cross")


def _fill_grid(
    counted: pl.LazyFrame,
    grid_source: pl.LazyFrame,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: list[str],
    *,
    extra: pl.LazyFrame | None = None,
    extra_keys: Sequence[str] = (),
) -> pl.LazyFrame:
    """Left-join per-quarter results onto the complete grid (null group keys match).

    ``extra`` (e.g. the lag buckets) is crossed into the grid and joined on
    ``extra_keys``.
    """
    grid = _grid(first, last, grid_source.select(by) if by else None)
    if extra is not None:
        grid = grid.join(extra, how="cross")
    return grid.join(counted, on=[QUARTER, *by, *extra_keys], how="left", nulls_equal=True)


def _closed_in_quarters(
    opportunities: pl.LazyFrame, calendar: FiscalCalendar, first: FiscalQuarter, last: FiscalQuarter
) -> pl.LazyFrame:
    return (
        opportunities.filter(pl.col("closed_at").is_not_null())
        .with_columns(quarter_of(calendar, pl.col("closed_at")))
        .filter(in_range(first, last))
    )


def _outcome_counts() -> list[pl.Expr]:
    missing = pl.col("amount").is_null()
    return [
        _WON.sum().cast(pl.Int64).alias("won"),
        (~_WON).sum().cast(pl.Int64).alias("lost"),
        money_sum(pl.col("amount").filter(_WON)).alias("won_amount"),
        money_sum(pl.col("amount").filter(~_WON)).alias("lost_amount"),
        missing.sum().cast(pl.Int64).alias("closed_without_amount"),
        (_WON & ~missing).sum().cast(pl.Int64).alias("_won_with_amount"),
    ]


def _outcome_rates() -> list[pl.Expr]:
    """The rates of :func:`_outcome_counts`. By amount, only the deals with an amount count
    (docs/metrics/deals-lag.md, "Deals without an amount"): in the win rate by amount and in
    the average deal size a deal without one is left out, never weighed 0."""
    won, lost = pl.col("won"), pl.col("lost")
    won_amount, lost_amount = pl.col("won_amount"), pl.col("lost_amount")
    return [
        _ratio(won, won + lost).alias("win_rate_count"),
        _ratio(won_amount, won_amount + lost_amount).alias("win_rate_amount"),
        _ratio(won_amount, pl.col("_won_with_amount")).alias("avg_deal_size"),
    ]


def _sorted(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    return frame.sort(keys) if keys else frame


def _aggregate(frame: pl.LazyFrame, by: list[str], aggs: list[pl.Expr]) -> pl.LazyFrame:
    """Group by ``by``; with no ``by`` columns, exactly one row (also for no input)."""
    return frame.group_by(by).agg(aggs) if by else frame.select(aggs)


# -- public metrics -------------------------------------------------------------
def deal_size_band(amount: pl.Expr) -> pl.Expr:
    """Deal-size band label of an amount expression, named ``deal_size_band``.

    Bands (reporting currency): ``"<25K"`` below 25,000; ``"25K-100K"`` from
    25,000 up to (not including) 100,000; ``">=100K"`` from 100,000. A missing
    amount has no band (null). Add it as a column before grouping::

        opps.with_columns(deal_size_band(pl.col("amount")))
        sales_cycle(opps, ..., by=("deal_size_band",))
    """
    (small, _), (mid, mid_from), (large, large_from) = DEAL_SIZE_BANDS
    return (
        pl.when(amount >= large_from)
        .then(pl.lit(large))
        .when(amount >= mid_from)
        .then(pl.lit(mid))
        .when(amount.is_not_null())
        .then(pl.lit(small))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("deal_size_band")
    )


def win_rates(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Win rate by count and by amount, and average deal size, per close quarter.

    Grain: one row per fiscal quarter of ``closed_at`` (``first`` to ``last``)
    x ``by`` group, zeros included. Columns: ``quarter_index``,
    ``fiscal_quarter``, the ``by`` columns, ``won``, ``lost`` (deals, Int64),
    ``won_amount``, ``lost_amount`` (reporting currency), ``win_rate_count`` =
    won / (won + lost), ``win_rate_amount`` = won_amount / (won_amount +
    lost_amount) (0-1, null when the denominator is 0), ``avg_deal_size`` =
    won_amount / won deals with an amount (currency, null without them),
    ``closed_without_amount`` (Int64): the closed deals without an amount.
    Open deals are excluded; every lost deal ("No decision" included) counts
    as lost. A deal without an amount counts in the count rate and is **left
    out** of the amount rate and the average deal size (not weighed 0 as if
    it were worth nothing, not given a guessed amount): the win rate by amount
    is that of the deals someone put a number on, the same population as
    pipeline created's amount (:func:`~alignment_lib.metrics.pipeline_created`),
    which it converts. On the sample these are deals lost in Discovery, before
    an amount was set. ``closed_without_amount`` says how many, for the pages.
    """
    cols = _by_columns(opportunities, by, "opportunities")
    closed = _closed_in_quarters(opportunities, calendar, first, last)
    counted = closed.group_by(QUARTER, *cols).agg(_outcome_counts())
    return (
        _fill_grid(counted, closed, first, last, cols)
        .with_columns(
            pl.col("won", "lost", "closed_without_amount", "_won_with_amount").fill_null(0),
            pl.col("won_amount", "lost_amount").fill_null(0.0),
        )
        .with_columns(_outcome_rates())
        .pipe(with_label)
        .select(
            QUARTER,
            LABEL,
            *cols,
            "won",
            "lost",
            "won_amount",
            "lost_amount",
            "closed_without_amount",
            "win_rate_count",
            "win_rate_amount",
            "avg_deal_size",
        )
        .sort(QUARTER, *cols)
    )


def sales_cycle(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Sales cycle in days (created to closed) of the deals closed in each quarter.

    Grain: one row per fiscal quarter of ``closed_at`` x ``by`` group, zeros
    included. Columns: ``quarter_index``, ``fiscal_quarter``, the ``by``
    columns, ``won`` and ``closed`` (deals, Int64), ``median_days_won``
    (median over won deals), ``median_days_closed`` (median over won and lost
    deals), ``p90_days_closed`` (90th percentile over closed deals, linear
    interpolation); days are elapsed time ``closed_at - created_at`` / 24 h,
    Float64, null when there are no such deals. No mean on purpose: a blended
    mean hides enterprise cycles; use ``by=("segment",)`` or a
    :func:`deal_size_band` column.
    """
    cols = _by_columns(opportunities, by, "opportunities")
    closed = _closed_in_quarters(opportunities, calendar, first, last).with_columns(
        _days("closed_at", "created_at").alias("_days")
    )
    days = pl.col("_days")
    counted = closed.group_by(QUARTER, *cols).agg(
        _WON.sum().cast(pl.Int64).alias("won"),
        pl.len().cast(pl.Int64).alias("closed"),
        days.filter(_WON).median().alias("median_days_won"),
        days.median().alias("median_days_closed"),
        days.quantile(0.9, interpolation="linear").alias("p90_days_closed"),
    )
    return (
        _fill_grid(counted, closed, first, last, cols)
        .with_columns(pl.col("won", "closed").fill_null(0))
        .pipe(with_label)
        .select(
            QUARTER,
            LABEL,
            *cols,
            "won",
            "closed",
            "median_days_won",
            "median_days_closed",
            "p90_days_closed",
        )
        .sort(QUARTER, *cols)
    )


def _closed_in_window(
    opportunities: pl.LazyFrame, as_of: dt.datetime, window_days: int
) -> pl.LazyFrame:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days <= 0:
        raise ParameterError(
            f"window_days must be a whole number of days above 0, got {window_days!r}"
        )
    start = as_of - dt.timedelta(days=window_days)
    closed = pl.col("closed_at")
    return opportunities.filter(closed > _lit_instant(start), closed <= _lit_instant(as_of))


def closed_deal_stats(
    opportunities: pl.LazyFrame,
    *,
    as_of: dt.datetime,
    window_days: int = 365,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Win rates, average deal size and cycle over a trailing window of closed deals.

    The window is the deals whose ``closed_at`` lies in ``(as_of -
    window_days, as_of]`` (elapsed days; a close exactly ``window_days`` before
    ``as_of`` is outside). Grain: one row per ``by`` group seen in the window;
    exactly one row when ``by`` is empty (zeros and null rates when nothing
    closed). Columns: the ``by`` columns, ``won``, ``lost`` (Int64),
    ``won_amount``, ``lost_amount`` (currency), ``closed_without_amount``
    (Int64), ``win_rate_count``, ``win_rate_amount`` (0-1), ``avg_deal_size``
    (currency), ``median_cycle_days_won``, ``median_cycle_days_closed`` (days,
    Float64), with the definitions of :func:`win_rates` and
    :func:`sales_cycle`; ``mean_cycle_days_won`` (days: the mean, the one a
    flow such as :func:`sales_velocity` needs). The trailing rates pipeline
    needed uses.
    """
    cols = _by_columns(opportunities, by, "opportunities")
    as_of = _instant(as_of)
    closed = _closed_in_window(opportunities, as_of, window_days).with_columns(
        _days("closed_at", "created_at").alias("_days")
    )
    stats = _aggregate(
        closed,
        cols,
        [
            *_outcome_counts(),
            pl.col("_days").filter(_WON).median().alias("median_cycle_days_won"),
            pl.col("_days").median().alias("median_cycle_days_closed"),
            stable_mean(pl.col("_days").filter(_WON)).alias("mean_cycle_days_won"),
        ],
    )
    return (
        stats.with_columns(_outcome_rates())
        .select(
            *cols,
            "won",
            "lost",
            "won_amount",
            "lost_amount",
            "closed_without_amount",
            "win_rate_count",
            "win_rate_amount",
            "avg_deal_size",
            "median_cycle_days_won",
            "median_cycle_days_closed",
            "mean_cycle_days_won",
        )
        .pipe(_sorted, cols)
    )


def _qualified_closes(
    closed: pl.LazyFrame, stage_history: pl.LazyFrame | None, excluded: Sequence[str]
) -> pl.LazyFrame:
    """The closed deals that were qualified pipeline: ``stage_history`` records them, before
    their close, in a stage other than the excluded ones (the closing row itself, "Closed
    Won" / "Closed Lost" at ``closed_at``, does not count). Without a history: all of them."""
    if stage_history is None:
        return closed
    visits = (
        stage_history.select("opportunity_id", "changed_at", "stage")
        .filter(~pl.col("stage").is_in(list(excluded)))
        .join(closed.select("opportunity_id", "closed_at"), on="opportunity_id", how="inner")
        .filter(pl.col("changed_at") < pl.col("closed_at"))
        .select("opportunity_id")
        .unique()
    )
    return closed.join(visits, on="opportunity_id", how="semi")


def sales_velocity(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    stage_history: pl.LazyFrame | None = None,
    window_days: int = 365,
    exclude_stages: Sequence[str] = DEFAULT_EXCLUDED_STAGES,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Sales velocity: the amount per day the open qualified pipeline is expected to turn into.

    The textbook formula (DOMAIN.md): ``velocity_per_day`` = ``open_deals`` x
    ``win_rate_count`` x ``avg_deal_size`` / ``mean_cycle_days_won`` (currency
    per day), each factor of the same population:

    - ``open_deals``: opportunities open at ``as_of`` (created on or before it
      or without a creation date, not closed by it) that are *qualified* (stage
      not in ``exclude_stages``) and *current*: not overdue (no expected close
      date, or one whose local day had not ended by ``as_of``, the rule of
      :func:`~alignment_lib.metrics.pipeline_coverage` and data health). Early
      stages and stale close dates are not pipeline that is moving.
    - ``win_rate_count``: won / closed over the qualified deals closed in the
      trailing ``window_days`` before ``as_of``: with ``stage_history``, the
      deals recorded in a stage not in ``exclude_stages`` before they closed (a
      deal lost in Discovery is not in the rate, as it is not in the open deals);
      without it (None), every closed deal (lower, since early losses count).
    - ``avg_deal_size``: won amount / won deals with an amount, in the window.
    - ``mean_cycle_days_won``: the **mean** days from creation to close of the
      deals won in the window. A mean, not the median the cycle pages show:
      velocity is a flow (Little's law: deals won per day = the open deals that
      will be won / the mean time they spend open), and a median, lower than
      the mean for right-skewed cycles, overstates it.

    Grain: one row when ``by`` is empty; otherwise one row per ``by`` group
    with open qualified deals or qualified closes in the window. Columns: the
    ``by`` columns, ``open_deals`` (Int64), ``win_rate_count`` (0-1),
    ``avg_deal_size`` (currency), ``mean_cycle_days_won`` (days),
    ``velocity_per_day`` (currency per day; null when a factor is unknown or
    the cycle is 0).
    """
    cols = _by_columns(opportunities, by, "opportunities")
    as_of = _instant(as_of)
    excluded = [exclude_stages] if isinstance(exclude_stages, str) else list(exclude_stages)
    cut = _lit_instant(as_of)
    # the first local day not yet over at as_of: an expected close before it is overdue
    today = calendar.local_date(as_of + dt.timedelta(microseconds=1))
    ecd = pl.col("expected_close_date")
    moving = opportunities.filter(
        pl.col("created_at").is_null() | (pl.col("created_at") <= cut),
        pl.col("closed_at").is_null() | (pl.col("closed_at") > cut),
        ~pl.col("stage").is_in(excluded),
        ecd.is_null() | (ecd >= pl.lit(today)),
    )
    open_deals = _aggregate(moving, cols, [pl.len().cast(pl.Int64).alias("open_deals")])
    closed = _qualified_closes(
        _closed_in_window(opportunities, as_of, window_days), stage_history, excluded
    ).with_columns(_days("closed_at", "created_at").alias("_days"))
    stats = _aggregate(
        closed,
        cols,
        [
            *_outcome_counts(),
            stable_mean(pl.col("_days").filter(_WON)).alias("mean_cycle_days_won"),
        ],
    ).with_columns(_outcome_rates())
    stats = stats.select(*cols, "win_rate_count", "avg_deal_size", "mean_cycle_days_won")
    joined = (
        open_deals.join(stats, how="cross")
        if not cols
        else open_deals.join(stats, on=cols, how="full", coalesce=True, nulls_equal=True)
    )
    cycle = pl.col("mean_cycle_days_won")
    return (
        joined.with_columns(pl.col("open_deals").fill_null(0))
        .with_columns(
            pl.when(cycle > 0)
            .then(pl.col("open_deals") * pl.col("win_rate_count") * pl.col("avg_deal_size") / cycle)
            .alias("velocity_per_day")
        )
        .select(
            *cols,
            "open_deals",
            "win_rate_count",
            "avg_deal_size",
            "mean_cycle_days_won",
            "velocity_per_day",
        )
        .pipe(_sorted, cols)
    )
