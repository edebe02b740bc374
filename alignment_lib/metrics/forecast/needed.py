"""Pipeline needed (the reverse waterfall): a target as pipeline and MQLs per creation quarter.

Definition: docs/metrics/forecast.md ("Pipeline needed").
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of, with_label
from alignment_lib.metrics._sums import money_sum, stable_sum
from alignment_lib.metrics.deals import (
    _instant,
    _lit_instant,
    _ratio,
    closed_deal_stats,
)
from alignment_lib.metrics.forecast._common import (
    _TARGET_LABEL,
    _TARGET_QUARTER,
    _bookings_targets,
    _now,
    _quarter_index,
    _whole,
    _window,
)
from alignment_lib.metrics.lag import LAG_BUCKETS, creation_to_close_lag

__all__ = ["TOTAL_COLUMNS", "pipeline_needed", "pipeline_to_create"]


# -- pipeline needed (the reverse waterfall) ---------------------------------------------------
def _status_of(index: int, current: int, elapsed: float) -> str:
    if index < current:
        return "complete"
    if index == current and elapsed > 0:
        return "in progress"
    return "not started"


class _Factors(NamedTuple):
    lag: pl.LazyFrame
    created: pl.LazyFrame
    win_rate: pl.LazyFrame
    trailing: pl.LazyFrame
    conversion: pl.LazyFrame


def _factors(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    window_days: int,
    lag_quarters: int,
) -> _Factors:
    """What turns a bookings target into pipeline and MQLs, as known at ``as_of``.

    ``lag``: (lag_quarters, lag_share) over the last ``lag_quarters`` complete
    quarters' bookings; ``created``: per creation quarter, pipeline and
    marketing-sourced pipeline created by ``as_of``; one-row frames
    ``win_rate`` (by amount, trailing ``window_days``), ``trailing``
    (marketing_share, avg_marketing_opportunity) and ``conversion``
    (mql_to_opportunity). Definitions: :func:`pipeline_needed`.
    """
    cut = _lit_instant(as_of)
    current, _ = _now(calendar, as_of)
    complete = current - 1
    win_rate = closed_deal_stats(opportunities, as_of=as_of, window_days=window_days).select(
        pl.col("win_rate_amount").alias("win_rate"), "closed_without_amount"
    )
    lag = (
        creation_to_close_lag(
            opportunities.filter(pl.col("closed_at") <= cut),
            calendar=calendar,
            first=FiscalCalendar.quarter_from_index(complete - lag_quarters + 1),
            last=FiscalCalendar.quarter_from_index(complete),
        )
        .group_by("lag_quarters")
        .agg(money_sum(pl.col("amount")).alias("_lag_amount"))
        .with_columns(
            _ratio(pl.col("_lag_amount"), money_sum(pl.col("_lag_amount"))).alias("lag_share")
        )
        .select("lag_quarters", "lag_share")
    )

    seen = opportunities.filter(pl.col("created_at") <= cut)
    marketing = pl.col("source") == "marketing"
    created = (
        seen.with_columns(quarter_of(calendar, pl.col("created_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(
            money_sum(pl.col("amount")).alias("pipeline_created_so_far"),
            money_sum(pl.col("amount").filter(marketing)).alias(
                "marketing_pipeline_created_so_far"
            ),
        )
    )
    start = _lit_instant(as_of - dt.timedelta(days=_window(window_days)))
    trailing = seen.filter(pl.col("created_at") > start).select(
        _ratio(money_sum(pl.col("amount").filter(marketing)), money_sum(pl.col("amount"))).alias(
            "marketing_share"
        ),
        _ratio(money_sum(pl.col("amount").filter(marketing)), marketing.sum()).alias(
            "avg_marketing_opportunity"
        ),
    )
    mqls = leads.filter(pl.col("mql_at") > start, pl.col("mql_at") <= cut)
    converted = mqls.join(
        seen.filter(marketing).select("opportunity_id"), on="opportunity_id", how="inner"
    ).select(pl.col("opportunity_id").n_unique().alias("_opps"))
    conversion = (
        mqls.select(pl.len().alias("_mqls"))
        .join(converted, how="cross")
        .select(_ratio(pl.col("_opps"), pl.col("_mqls")).alias("mql_to_opportunity"))
    )

    return _Factors(lag, created, win_rate, trailing, conversion)


def pipeline_needed(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    window_days: int = 365,
    lag_quarters: int = 8,
) -> pl.LazyFrame:
    """The reverse waterfall: a quarter's bookings target as pipeline and MQLs per creation quarter.

    For the target quarter ``T`` = ``quarter`` (typically one to three quarters
    ahead), with ``target`` its shared bookings target:

    - ``win_rate``: win rate **by amount** of the deals closed in the trailing
      ``window_days`` (:func:`~alignment_lib.metrics.deals.closed_deal_stats`):
      of those with an amount, as pipeline created counts only amounts;
      ``closed_without_amount`` (Int64) says how many were left out;
    - ``lag_share`` for ``k`` = 0, 1, 2, 3+ (``lag_quarters``, ``lag_bucket``
      as in :func:`~alignment_lib.metrics.lag.creation_to_close_lag`): of the
      bookings of the last ``lag_quarters`` complete quarters (pooled: summed
      amounts, so an amount-weighted average of the quarterly shares), the
      share created ``k`` quarters before the close quarter;
    - ``pipeline_required`` = target x lag_share / win_rate: the pipeline the
      creation quarter ``T - k`` (``quarter_index``, ``fiscal_quarter``; the 3+
      bucket is assigned to ``T - 3``) must create for ``T``'s bookings;
    - ``pipeline_created_so_far``: amount of the opportunities created in that
      quarter on or before ``as_of`` (all outcomes; 0 for a quarter not begun);
      ``gap`` = max(required - created so far, 0);
    - ``marketing_share``: marketing-sourced share of the pipeline created in
      the trailing ``window_days`` (by amount); ``marketing_pipeline_required``
      = pipeline_required x marketing_share; ``marketing_pipeline_created_so_far``
      and ``marketing_gap`` as above for marketing-sourced opportunities;
    - ``avg_marketing_opportunity`` = amount / number of the marketing-sourced
      opportunities created in the window (a missing amount adds 0);
      ``mql_to_opportunity`` = distinct marketing-sourced opportunities (created
      by ``as_of``) that the window's MQLs (``mql_at`` in the window) converted
      into, via ``leads.opportunity_id`` / those MQLs;
      ``mqls_required`` = marketing_pipeline_required / (avg_marketing_opportunity
      x mql_to_opportunity).

    ``creation_status`` says whether the creation quarter is ``complete``,
    ``in progress`` or ``not started`` at ``as_of``. Grain: one row per creation
    quarter (4 rows, sorted by ``quarter_index``), with ``target_quarter_index``
    and ``target_fiscal_quarter`` naming ``T``. Rates are 0-1 and null on a zero
    denominator; every derived amount is null when a factor is (no target, a
    win rate of 0, no bookings in the lag quarters).

    ``pipeline_required`` is ``T``'s slice only: what a creation quarter makes
    also feeds the other close quarters, so a zero gap for a past creation
    quarter does not mean it created enough for every quarter.
    """
    target_q = _quarter_index(quarter)
    lag_quarters = _whole("lag_quarters", lag_quarters)
    as_of = _instant(as_of)
    current, elapsed = _now(calendar, as_of)
    buckets = range(len(LAG_BUCKETS))
    creation = [target_q - k for k in buckets]
    rows = pl.LazyFrame(
        {
            "lag_quarters": list(buckets),
            "lag_bucket": list(LAG_BUCKETS),
            QUARTER: creation,
            "creation_status": [_status_of(c, current, elapsed) for c in creation],
        },
        schema={
            "lag_quarters": pl.Int32,
            "lag_bucket": pl.String,
            QUARTER: pl.Int32,
            "creation_status": pl.String,
        },
    )

    target = (
        pl.LazyFrame({LABEL: [quarter.label]})
        .join(_bookings_targets(targets), on=LABEL, how="left")
        .select("target")
    )
    lag, created, win_rate, trailing, conversion = _factors(
        opportunities,
        leads,
        calendar=calendar,
        as_of=as_of,
        window_days=window_days,
        lag_quarters=lag_quarters,
    )

    required = pl.col("pipeline_required")
    m_required = pl.col("marketing_pipeline_required")
    per_mql = pl.col("avg_marketing_opportunity") * pl.col("mql_to_opportunity")
    return (
        rows.join(lag, on="lag_quarters", how="left")
        .join(created, on=QUARTER, how="left")
        .join(target, how="cross")
        .join(win_rate, how="cross")
        .join(trailing, how="cross")
        .join(conversion, how="cross")
        .with_columns(
            pl.col("pipeline_created_so_far", "marketing_pipeline_created_so_far").fill_null(0.0),
            (pl.col("target") * _ratio(pl.col("lag_share"), pl.col("win_rate"))).alias(
                "pipeline_required"
            ),
        )
        .with_columns(
            (required - pl.col("pipeline_created_so_far")).clip(lower_bound=0.0).alias("gap"),
            (required * pl.col("marketing_share")).alias("marketing_pipeline_required"),
        )
        .with_columns(
            (m_required - pl.col("marketing_pipeline_created_so_far"))
            .clip(lower_bound=0.0)
            .alias("marketing_gap"),
            _ratio(m_required, per_mql).alias("mqls_required"),
        )
        .pipe(with_label)
        .with_columns(
            pl.lit(target_q, dtype=pl.Int32).alias(_TARGET_QUARTER),
            pl.lit(quarter.label).alias(_TARGET_LABEL),
        )
        .select(
            _TARGET_QUARTER,
            _TARGET_LABEL,
            QUARTER,
            LABEL,
            "lag_quarters",
            "lag_bucket",
            "creation_status",
            "target",
            "win_rate",
            "closed_without_amount",
            "lag_share",
            "pipeline_required",
            "pipeline_created_so_far",
            "gap",
            "marketing_share",
            "marketing_pipeline_required",
            "marketing_pipeline_created_so_far",
            "marketing_gap",
            "avg_marketing_opportunity",
            "mql_to_opportunity",
            "mqls_required",
        )
        .sort(QUARTER)
    )


#: columns of :func:`pipeline_to_create` that hold the creation quarter's totals (the same
#: value on every row)
TOTAL_COLUMNS: tuple[str, ...] = (
    "targets_counted",
    "total_pipeline_required",
    "total_marketing_pipeline_required",
    "total_mqls_required",
    "pipeline_created_so_far",
    "marketing_pipeline_created_so_far",
    "mqls_so_far",
    "gap",
    "marketing_gap",
    "mqls_gap",
)


def pipeline_to_create(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    quarter: FiscalQuarter | None = None,
    window_days: int = 365,
    lag_quarters: int = 8,
) -> pl.LazyFrame:
    """The pipeline (and MQLs) one creation quarter must create for every target it feeds.

    The creation quarter ``C`` is ``quarter``, by default the quarter current at
    ``as_of``. Pipeline created in ``C`` closes in ``C`` and the quarters after
    it: the share of a quarter's bookings created ``k`` quarters before it
    (``lag_share``, as in :func:`pipeline_needed`) is the part of target
    quarter ``T = C + k`` that ``C`` must supply, for k = 0, 1, 2 and 3+ (the
    3+ share set against ``C + 3``, as :func:`pipeline_needed` sets it against
    ``T - 3``). Each row is one slice: :func:`pipeline_needed` of ``T``, the
    row of creation quarter ``C``.

    Grain: one row per target quarter ``T`` = C, C + 1, C + 2, C + 3
    (``quarter_index``, ``fiscal_quarter``, ``lag_quarters``, ``lag_bucket``),
    sorted, with ``creation_quarter_index``, ``creation_fiscal_quarter`` and
    ``creation_status`` (``complete``, ``in progress``, ``not started`` at
    ``as_of``). Per slice: ``target`` (T's shared bookings target, null
    without one), ``win_rate`` (by amount, trailing ``window_days``),
    ``lag_share``, ``pipeline_required`` = target x lag_share / win_rate,
    ``marketing_share``, ``marketing_pipeline_required`` = pipeline_required x
    marketing_share, ``avg_marketing_opportunity``, ``mql_to_opportunity``,
    ``mqls_required`` = marketing_pipeline_required / (avg_marketing_opportunity
    x mql_to_opportunity); null when a factor is (no target for T, a win rate
    of 0, no bookings in the lag quarters).

    Totals, the same on every row (:data:`TOTAL_COLUMNS`): ``targets_counted``
    (slices with a required pipeline), ``total_pipeline_required``,
    ``total_marketing_pipeline_required``, ``total_mqls_required``: the sums of
    those slices (null when none has one: a target quarter without a target is
    left out, never read as 0); ``pipeline_created_so_far`` and
    ``marketing_pipeline_created_so_far``: amount created in ``C`` on or before
    ``as_of`` (0 for a quarter not begun); ``mqls_so_far``: leads whose
    ``mql_at`` lies in ``C``, on or before ``as_of``; ``gap`` = max(total -
    created so far, 0), ``marketing_gap`` and ``mqls_gap`` likewise.

    Units: currency; 0-1; MQLs (Float64, fractional). Lazy, no loop.
    """
    lag_quarters = _whole("lag_quarters", lag_quarters)
    as_of = _instant(as_of)
    current, elapsed = _now(calendar, as_of)
    creation_q = current if quarter is None else _quarter_index(quarter)
    creation = FiscalCalendar.quarter_from_index(creation_q)
    cut = _lit_instant(as_of)
    lag, created, win_rate, trailing, conversion = _factors(
        opportunities,
        leads,
        calendar=calendar,
        as_of=as_of,
        window_days=window_days,
        lag_quarters=lag_quarters,
    )
    buckets = range(len(LAG_BUCKETS))
    rows = pl.LazyFrame(
        {
            "lag_quarters": list(buckets),
            "lag_bucket": list(LAG_BUCKETS),
            QUARTER: [creation_q + k for k in buckets],
        },
        schema={"lag_quarters": pl.Int32, "lag_bucket": pl.String, QUARTER: pl.Int32},
    ).pipe(with_label)
    made = (
        pl.LazyFrame({QUARTER: [creation_q]}, schema={QUARTER: pl.Int32})
        .join(created, on=QUARTER, how="left")
        .select(
            pl.col("pipeline_created_so_far", "marketing_pipeline_created_so_far").fill_null(0.0)
        )
    )
    mqls_so_far = leads.filter(pl.col("mql_at") <= cut).select(
        (quarter_of(calendar, pl.col("mql_at")) == creation_q)
        .sum()
        .cast(pl.Float64)
        .alias("mqls_so_far")
    )
    per_mql = pl.col("avg_marketing_opportunity") * pl.col("mql_to_opportunity")
    required = pl.col("pipeline_required")

    def total(column: str) -> pl.Expr:
        values = pl.col(column)
        return pl.when(values.is_not_null().any()).then(stable_sum(values.fill_null(0.0)))

    return (
        rows.join(_bookings_targets(targets), on=LABEL, how="left")
        .join(lag, on="lag_quarters", how="left")
        .join(win_rate, how="cross")
        .join(trailing, how="cross")
        .join(conversion, how="cross")
        .with_columns(
            (pl.col("target") * _ratio(pl.col("lag_share"), pl.col("win_rate"))).alias(
                "pipeline_required"
            )
        )
        .with_columns((required * pl.col("marketing_share")).alias("marketing_pipeline_required"))
        .with_columns(_ratio(pl.col("marketing_pipeline_required"), per_mql).alias("mqls_required"))
        .with_columns(
            required.is_not_null().sum().cast(pl.Int64).alias("targets_counted"),
            total("pipeline_required").alias("total_pipeline_required"),
            total("marketing_pipeline_required").alias("total_marketing_pipeline_required"),
            total("mqls_required").alias("total_mqls_required"),
        )
        .join(made, how="cross")
        .join(mqls_so_far, how="cross")
        .with_columns(
            *(
                (pl.col(f"total_{need}") - pl.col(have)).clip(lower_bound=0.0).alias(gap)
                for need, have, gap in (
                    ("pipeline_required", "pipeline_created_so_far", "gap"),
                    (
                        "marketing_pipeline_required",
                        "marketing_pipeline_created_so_far",
                        "marketing_gap",
                    ),
                    ("mqls_required", "mqls_so_far", "mqls_gap"),
                )
            ),
            pl.lit(creation_q, dtype=pl.Int32).alias("creation_quarter_index"),
            pl.lit(creation.label).alias("creation_fiscal_quarter"),
            pl.lit(_status_of(creation_q, current, elapsed)).alias("creation_status"),
        )
        .select(
            "creation_quarter_index",
            "creation_fiscal_quarter",
            "creation_status",
            QUARTER,
            LABEL,
            "lag_quarters",
            "lag_bucket",
            "target",
            "win_rate",
            "lag_share",
            "pipeline_required",
            "marketing_share",
            "marketing_pipeline_required",
            "avg_marketing_opportunity",
            "mql_to_opportunity",
            "mqls_required",
            *TOTAL_COLUMNS,
        )
        .sort(QUARTER)
    )
