"""Pipeline coverage: open pipeline against what is left of each quarter's target.

Definition: docs/metrics/forecast.md ("Pipeline coverage").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, with_label
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.deals import (
    _instant,
    _lit_instant,
    _ratio,
    closed_deal_stats,
)
from alignment_lib.metrics.forecast._common import (
    _booked,
    _bookings_targets,
    _expected_quarter,
    _index_frame,
    _open_at,
    _quarter_index,
    _stages,
    _whole,
)

__all__ = ["DEFAULT_EXCLUDED_STAGES", "pipeline_coverage"]

#: stages that are not qualified pipeline by default (not counted in coverage)
DEFAULT_EXCLUDED_STAGES: tuple[str, ...] = ("Discovery",)


# -- pipeline coverage --------------------------------------------------------------------------
def pipeline_coverage(
    opportunities: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 3,
    window_days: int = 365,
    exclude_stages: Sequence[str] = DEFAULT_EXCLUDED_STAGES,
) -> pl.LazyFrame:
    """Open pipeline against what is left of each quarter's bookings target.

    Grain: one row per fiscal quarter from ``quarter`` on, ``quarters`` of them,
    sorted. Columns:

    - ``open_deals`` (Int64), ``open_pipeline`` (currency): opportunities open
      at ``as_of`` (created on or before it, or without a creation date; not
      closed by it) whose ``expected_close_date`` falls in the quarter and whose stage is not in
      ``exclude_stages`` (only qualified, in-period pipeline counts; a deal
      without an expected close date is in no quarter; a missing amount adds 0);
    - ``bookings_to_date``: won amount closed in the quarter on or before
      ``as_of``;
    - ``target``: the quarter's ``bookings`` target of team ``shared`` (null
      when there is none);
    - ``remaining`` = max(target - bookings_to_date, 0);
    - ``coverage`` = open_pipeline / remaining (a multiple; null when remaining
      is 0 or null);
    - ``win_rate``: win rate **by amount** of the deals closed in the trailing
      ``window_days`` (:func:`~alignment_lib.metrics.deals.closed_deal_stats`),
      the same for every row;
    - ``required_coverage`` = 1 / win_rate (null when the win rate is 0 or
      unknown): 3x is only the inverse of a 33% win rate;
    - ``coverage_gap`` = coverage - required_coverage;
    - ``status``: ``"covered"`` when coverage >= required_coverage or the target
      is already met (remaining 0), ``"short"`` when coverage is below it, null
      when either is unknown (no target, no win rate).
    """
    first = _quarter_index(quarter)
    quarters = _whole("quarters", quarters)
    excluded = _stages(exclude_stages)
    as_of = _instant(as_of)
    cut = _lit_instant(as_of)
    grid = _index_frame(QUARTER, range(first, first + quarters)).pipe(with_label)
    open_ = (
        _open_at(opportunities, cut)
        .filter(pl.col("expected_close_date").is_not_null(), ~pl.col("stage").is_in(excluded))
        .with_columns(_expected_quarter(calendar))
        .group_by(QUARTER)
        .agg(
            pl.len().cast(pl.Int64).alias("open_deals"),
            money_sum(pl.col("amount")).alias("open_pipeline"),
        )
    )
    win_rate = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_amount").alias("win_rate")
    )
    coverage, required = pl.col("coverage"), pl.col("required_coverage")
    status = (
        pl.when(pl.col("remaining") == 0)
        .then(pl.lit("covered"))
        .when(coverage.is_null() | required.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(coverage >= required)
        .then(pl.lit("covered"))
        .otherwise(pl.lit("short"))
    )
    return (
        grid.join(open_, on=QUARTER, how="left")
        .join(_booked(opportunities, calendar, cut), on=QUARTER, how="left")
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .join(win_rate, how="cross")
        .with_columns(
            pl.col("open_deals").fill_null(0),
            pl.col("open_pipeline").fill_null(0.0),
            pl.col("_booked").fill_null(0.0).alias("bookings_to_date"),
        )
        .with_columns(
            (pl.col("target") - pl.col("bookings_to_date")).clip(lower_bound=0.0).alias("remaining")
        )
        .with_columns(
            _ratio(pl.col("open_pipeline"), pl.col("remaining")).alias("coverage"),
            _ratio(pl.lit(1.0), pl.col("win_rate")).alias("required_coverage"),
        )
        .with_columns((coverage - required).alias("coverage_gap"))
        .with_columns(status.alias("status"))
        .select(
            QUARTER,
            LABEL,
            "open_deals",
            "open_pipeline",
            "bookings_to_date",
            "target",
            "remaining",
            "coverage",
            "win_rate",
            "required_coverage",
            "coverage_gap",
            "status",
        )
        .sort(QUARTER)
    )
