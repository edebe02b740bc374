"""Business cycles: quarter-end hockey sticks, seasonality and slipped deals.

Sales are scored on the quarter, so bookings bunch up at its end (the *hockey
stick*); marketing's pipeline follows the seasons of the year; and deals that
were expected to close in a quarter slip out of it. Definitions are in
``docs/metrics/cycles-health.md``.

Months and weeks are **fiscal** and **local**: the third month of a quarter is
its last calendar month, a week of the quarter is 7 local days counted from the
quarter's first local day, and every instant is placed in the calendar's time
zone first (a deal closed at 23:30 on 30 September in New York is a September,
Q3, last-week booking although it is October in UTC).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
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
from alignment_lib.metrics._sums import money_sum, stable_mean
from alignment_lib.metrics.pipeline import bookings, pipeline_created
from alignment_lib.schema import OPPORTUNITIES, TIMESTAMP

__all__ = [
    "LINEARITY_STATUSES",
    "MONTH3_HEALTHY_MAX",
    "MONTH3_SEVERE_MIN",
    "bookings_by_week",
    "bookings_linearity",
    "seasonality",
    "slipped_deals",
]

#: Month-3 share of a quarter's bookings up to which the quarter counts as
#: "healthy". Practitioners call 35-40% healthy; an even quarter puts a third
#: (33%) in month 3, so anything up to the top of that range is healthy.
MONTH3_HEALTHY_MAX = 0.40
#: Month-3 share from which a quarter is a "severe hockey stick" (60%+).
MONTH3_SEVERE_MIN = 0.60
#: The values of ``linearity_status``: share <= 0.40, 0.40 < share < 0.60, share >= 0.60.
LINEARITY_STATUSES = ("healthy", "back-loaded", "severe hockey stick")

_LAST_DAYS = 14  # "the last two weeks" of a quarter, in local calendar days
_US = dt.timedelta(microseconds=1)


# -- helpers ---------------------------------------------------------------------------------
def _bounds(calendar: FiscalCalendar, first: FiscalQuarter, last: FiscalQuarter) -> pl.LazyFrame:
    """One row per quarter first..last: local first/last day and first/last instant (UTC).

    Built in Python for the handful of quarters in range (zoneinfo gets DST right);
    the data itself is only ever joined against it.
    """
    a, b = FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    quarters = [FiscalCalendar.quarter_from_index(i) for i in range(a, b + 1)]
    tz = zoneinfo.ZoneInfo(calendar.timezone)
    starts = [calendar.quarter_start(q) for q in quarters]
    return pl.LazyFrame(
        {
            QUARTER: list(range(a, b + 1)),
            "_first_day": starts,
            "_last_day": [calendar.quarter_end(q) for q in quarters],
            "_start_at": [
                dt.datetime.combine(d, dt.time(), tzinfo=tz).astimezone(dt.UTC) for d in starts
            ],
            "_end_at": [calendar.quarter_end_instant(q) for q in quarters],
        },
        schema={
            QUARTER: pl.Int32,
            "_first_day": pl.Date,
            "_last_day": pl.Date,
            "_start_at": TIMESTAMP,
            "_end_at": TIMESTAMP,
        },
    )


def _share(part: str, whole: str) -> pl.Expr:
    """part / whole as Float64, null when the whole is not positive."""
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole))


def _won_in_range(
    opportunities: pl.LazyFrame,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    columns: Sequence[str] = (),
) -> pl.LazyFrame:
    """Won deals closed in first..last with their quarter, local close day and quarter bounds."""
    return (
        opportunities.filter(pl.col("outcome") == "won")
        .select(*columns, "amount", "closed_at")
        .with_columns(
            quarter_of(calendar, pl.col("closed_at")),
            calendar.local_date_expr(pl.col("closed_at")).alias("_day"),
        )
        .filter(in_range(first, last))
        .join(_bounds(calendar, first, last), on=QUARTER, how="inner")
    )


# -- bookings linearity ----------------------------------------------------------------------
def bookings_linearity(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """How back-loaded each quarter's bookings are (the quarter-end hockey stick).

    Grain: one row per fiscal quarter ``first``..``last`` and combination of the
    ``by`` columns (opportunity columns such as ``source`` or ``segment``, or a
    dimension of the data; the combinations are those present in
    ``opportunities``), zeros included.

    Columns: ``deals`` (won deals closed in the quarter, Int64), ``bookings``
    (their won amount), ``month3_bookings`` (closed in the quarter's third
    fiscal month), ``month3_share`` = month3_bookings / bookings,
    ``last_two_weeks_bookings`` (closed in the quarter's last 14 local days),
    ``last_two_weeks_share`` = last_two_weeks_bookings / bookings, and
    ``linearity_status``: ``healthy`` (month-3 share <= :data:`MONTH3_HEALTHY_MAX`),
    ``back-loaded`` (in between) or ``severe hockey stick`` (>=
    :data:`MONTH3_SEVERE_MIN`). Amounts are in the reporting currency; shares
    are 0-1 and, like the status, null for a quarter without bookings.

    Days and months are local to the calendar's time zone. A quarter still in
    progress at the as-of instant has no month 3 yet: its share is not comparable.
    """
    keys = by_columns(opportunities, by, table=OPPORTUNITIES)
    won = (
        _won_in_range(opportunities, calendar, first, last, keys)
        .with_columns(
            (pl.col("_day") >= pl.col("_last_day").dt.month_start()).alias("_m3"),
            (pl.col("_day") > pl.col("_last_day") - dt.timedelta(days=_LAST_DAYS)).alias("_l2w"),
        )
        .group_by(QUARTER, *keys)
        .agg(
            pl.len().cast(pl.Int64).alias("deals"),
            money_sum(pl.col("amount")).alias("bookings"),
            money_sum(pl.col("amount").filter(pl.col("_m3"))).alias("month3_bookings"),
            money_sum(pl.col("amount").filter(pl.col("_l2w"))).alias("last_two_weeks_bookings"),
        )
    )
    grid = quarter_grid(first, last)
    if keys:
        grid = grid.join(opportunities.select(keys).unique(), how="cross")
    share = pl.col("month3_share")
    return (
        grid.join(won, on=[QUARTER, *keys], how="left", nulls_equal=True)
        .with_columns(
            pl.col("deals").fill_null(0),
            pl.col("bookings", "month3_bookings", "last_two_weeks_bookings").fill_null(0.0),
        )
        .with_columns(
            _share("month3_bookings", "bookings").alias("month3_share"),
            _share("last_two_weeks_bookings", "bookings").alias("last_two_weeks_share"),
        )
        .with_columns(
            pl.when(share <= MONTH3_HEALTHY_MAX)
            .then(pl.lit(LINEARITY_STATUSES[0]))
            .when(share < MONTH3_SEVERE_MIN)
            .then(pl.lit(LINEARITY_STATUSES[1]))
            .when(share >= MONTH3_SEVERE_MIN)
            .then(pl.lit(LINEARITY_STATUSES[2]))
            .alias("linearity_status")
        )
        .pipe(with_label)
        .select(
            QUARTER,
            LABEL,
            *keys,
            "deals",
            "bookings",
            "month3_bookings",
            "month3_share",
            "last_two_weeks_bookings",
            "last_two_weeks_share",
            "linearity_status",
        )
        .sort(QUARTER, *keys)
    )


# -- the weekly curve ------------------------------------------------------------------------
def bookings_by_week(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """The hockey stick: bookings per week of the quarter and their cumulative share.

    Grain: one row per fiscal quarter ``first``..``last`` and ``week_of_quarter``
    (1 = the quarter's first 7 local days, 2 = the next 7, ...; a quarter of 89-91
    days has 13 weeks, one of 92 days a 14th week of one day), zeros included.

    Columns: ``week_start`` (local first day of the week, Date), ``deals`` (won
    deals closed in the week, Int64), ``bookings`` (their won amount),
    ``cumulative_bookings`` (weeks 1..this one), ``cumulative_share`` =
    cumulative_bookings / the quarter's bookings (0-1, non-decreasing, exactly 1
    in the last week; null for a quarter without bookings).
    """
    bounds = _bounds(calendar, first, last)
    weeks = (
        bounds.with_columns(
            pl.int_ranges(
                1, (pl.col("_last_day") - pl.col("_first_day")).dt.total_days() // 7 + 2
            ).alias("week_of_quarter")
        )
        .explode("week_of_quarter")
        .with_columns(pl.col("week_of_quarter").cast(pl.Int32))
        .with_columns(
            (pl.col("_first_day") + pl.duration(days=(pl.col("week_of_quarter") - 1) * 7)).alias(
                "week_start"
            )
        )
        .select(QUARTER, "week_of_quarter", "week_start")
    )
    won = (
        _won_in_range(opportunities, calendar, first, last)
        .with_columns(
            ((pl.col("_day") - pl.col("_first_day")).dt.total_days() // 7 + 1)
            .cast(pl.Int32)
            .alias("week_of_quarter")
        )
        .group_by(QUARTER, "week_of_quarter")
        .agg(pl.len().cast(pl.Int64).alias("deals"), money_sum(pl.col("amount")).alias("bookings"))
    )
    cumulative = pl.col("cumulative_bookings")
    return (
        weeks.join(won, on=[QUARTER, "week_of_quarter"], how="left")
        .with_columns(pl.col("deals").fill_null(0), pl.col("bookings").fill_null(0.0))
        .sort(QUARTER, "week_of_quarter")
        .with_columns(pl.col("bookings").cum_sum().over(QUARTER).alias("cumulative_bookings"))
        # Dividing by the last cumulative value (not a separate sum) makes the
        # last week exactly 1.0 whatever the floating-point summation order.
        .with_columns(
            pl.when(cumulative.max().over(QUARTER) > 0)
            .then(cumulative / cumulative.max().over(QUARTER))
            .alias("cumulative_share")
        )
        .pipe(with_label)
        .select(
            QUARTER,
            LABEL,
            "week_of_quarter",
            "week_start",
            "deals",
            "bookings",
            "cumulative_bookings",
            "cumulative_share",
        )
        .sort(QUARTER, "week_of_quarter")
    )


# -- seasonality -----------------------------------------------------------------------------
def seasonality(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """Which fiscal quarter of the year is strong: means per quarter number and their index.

    Grain: one row per quarter of the fiscal year (``quarter_of_year`` 1..4,
    ``quarter_label`` Q1..Q4), averaged over the quarters ``first``..``last``
    (pass complete quarters, ideally whole fiscal years).

    Columns: ``quarters`` (how many quarters were averaged, Int64; 0 when the
    range holds none of that quarter number, and then the means are null);
    ``mean_bookings`` (won amount by close quarter), ``mean_pipeline_created``
    (amount of opportunities by created quarter, any status), ``mean_mqls``
    (leads whose ``mql_at`` falls in the quarter); and for each an ``*_index`` =
    mean for this quarter number / the mean of the quarter-number means (1.0 =
    an average quarter; the four indexes average to 1). A quarter without
    activity counts as 0. Amounts in the reporting currency.
    """
    booked = (
        bookings(opportunities, calendar=calendar, first=first, last=last)
        .group_by(QUARTER)
        .agg(money_sum(pl.col("amount")).alias("bookings"))
    )
    created = (
        pipeline_created(opportunities, calendar=calendar, first=first, last=last)
        .group_by(QUARTER)
        .agg(money_sum(pl.col("amount")).alias("pipeline_created"))
    )
    mqls = (
        leads.filter(pl.col("mql_at").is_not_null())
        .select(quarter_of(calendar, pl.col("mql_at")))
        .filter(in_range(first, last))
        .group_by(QUARTER)
        .agg(pl.len().cast(pl.Float64).alias("mqls"))
    )
    measures = ("bookings", "pipeline_created", "mqls")
    per_quarter = (
        quarter_grid(first, last)
        .join(booked, on=QUARTER, how="left")
        .join(created, on=QUARTER, how="left")
        .join(mqls, on=QUARTER, how="left")
        .with_columns(pl.col(*measures).fill_null(0.0))
        .with_columns((pl.col(QUARTER) % 4 + 1).cast(pl.Int32).alias("quarter_of_year"))
        .group_by("quarter_of_year")
        .agg(
            pl.len().cast(pl.Int64).alias("quarters"),
            *(stable_mean(pl.col(m)).alias(f"mean_{m}") for m in measures),
        )
    )
    year = pl.LazyFrame({"quarter_of_year": [1, 2, 3, 4]}, schema={"quarter_of_year": pl.Int32})
    means = [pl.col(f"mean_{m}") for m in measures]
    return (
        year.join(per_quarter, on="quarter_of_year", how="left")
        .with_columns(pl.col("quarters").fill_null(0))
        .with_columns(
            pl.when(stable_mean(mean) > 0).then(mean / stable_mean(mean)).alias(f"{m}_index")
            for m, mean in zip(measures, means, strict=True)
        )
        .with_columns(pl.format("Q{}", pl.col("quarter_of_year")).alias("quarter_label"))
        .select(
            "quarter_of_year",
            "quarter_label",
            "quarters",
            *(c for m in measures for c in (f"mean_{m}", f"{m}_index")),
        )
        .sort("quarter_of_year")
    )


# -- slipped deals ---------------------------------------------------------------------------
#: what became of a quarter's expected deals: won + lost + pushed + still_open = expected;
#: slipped (did not close in the quarter) = pushed + still_open
_SLIP_COUNTS = ("expected", "won", "lost", "slipped", "pushed", "still_open")


def slipped_deals(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
) -> pl.LazyFrame:
    """Slipped deals (Clari and Salesforce usage): the quarter's pipeline at its start that
    did not close in it, pushed past the quarter or still open.

    Grain: one row per fiscal quarter ``first``..``last``.

    *Expected* deals (the quarter's pipeline at its start): open at the quarter's
    first instant (created before it, not closed before it) whose expected close
    date **as recorded in stage_history** at that instant (its last change
    strictly before the quarter began) falls inside the quarter. Of those, at
    the quarter's last instant (or the data's as-of instant if earlier), each is
    exactly one of:

    - ``won`` / ``lost``: closed in the quarter with that outcome;
    - ``pushed``: still open, and the expected close date recorded by then is
      after the quarter's last day (moved out);
    - ``still_open``: still open, the date not moved past the quarter (left
      inside or before it, or cleared).

    won + lost + pushed + still_open = expected. ``slipped`` = pushed +
    still_open: the deals that did not close in the quarter they were expected
    in (counting only pushed dates, as the kit once did, understates slippage:
    a deal whose date nobody moved slips all the same). Each has ``*_deals``
    (Int64) and ``*_amount``: the amount recorded at the quarter's start (what
    was expected; so ``won_amount`` is not the quarter's bookings, and a deal
    with no amount on record then counts as a deal and adds nothing).
    ``slipped_share_deals`` and ``slipped_share_amount`` = slipped / expected
    (0-1, null when nothing was expected).

    Needs close-date history. A deal with no stage_history row before the
    quarter began is not counted (what was expected is unknown; the current
    expected close date is not used, as that would mix current and past values).
    When ``stage_history`` is empty (no table: ``FunnelData.has_stage_history``
    is False) every count, amount and share is null.

    "At the start" is the state at the end of the previous quarter, as
    ``FunnelData.at(previous quarter end)`` shows it: a change recorded at the
    quarter's very first instant already belongs to the quarter. A quarter that
    ends after the data's as-of instant is judged at that instant: its
    ``still_open`` deals have not closed *so far* and may still close in it (a
    page says so rather than calling them slipped); one that starts after it
    only lists what is expected of it.
    """
    lo, hi = FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    bounds = _bounds(calendar, first, last).select(QUARTER, "_start_at", "_end_at")
    history = stage_history.select(
        "opportunity_id", "changed_at", "amount", "expected_close_date"
    ).sort("changed_at")
    created_q = quarter_of(calendar, pl.col("created_at"))
    closed_q = quarter_of(calendar, pl.col("closed_at"))
    # A deal is open at the start of quarter Q exactly when it was created in an
    # earlier quarter and closed (if at all) in Q or later: one row per such (deal, Q).
    candidates = (
        opportunities.select("opportunity_id", "created_at", "closed_at", "outcome")
        .with_columns(
            pl.max_horizontal(created_q + 1, pl.lit(lo)).alias("_from"),
            pl.min_horizontal(closed_q.fill_null(hi), pl.lit(hi)).alias("_to"),
        )
        .filter(pl.col("_from") <= pl.col("_to"))
        .with_columns(pl.int_ranges("_from", pl.col("_to") + 1, dtype=pl.Int32).alias(QUARTER))
        .explode(QUARTER)
        .join(bounds, on=QUARTER, how="inner")
        .with_columns((pl.col("_start_at") - _US).alias("_before_start"))
        .sort("_before_start")
        .join_asof(
            history.rename(
                {"changed_at": "_start_change", "amount": "_amount", "expected_close_date": "_ecd0"}
            ),
            left_on="_before_start",
            right_on="_start_change",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(calendar.quarter_index_expr(pl.col("_ecd0")) == pl.col(QUARTER))
        .sort("_end_at")
        .join_asof(
            history.select(
                "opportunity_id",
                pl.col("changed_at").alias("_end_change"),
                pl.col("expected_close_date").alias("_ecd1"),
            ),
            left_on="_end_at",
            right_on="_end_change",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,
        )
    )
    closed_in_q = (closed_q == pl.col(QUARTER)).fill_null(False)
    moved_out = (calendar.quarter_index_expr(pl.col("_ecd1")) > pl.col(QUARTER)).fill_null(False)
    flags = {
        "expected": pl.col(QUARTER).is_not_null(),
        "won": closed_in_q & (pl.col("outcome") == "won"),
        "lost": closed_in_q & (pl.col("outcome") == "lost"),
        "slipped": ~closed_in_q,
        "pushed": ~closed_in_q & moved_out,
        "still_open": ~closed_in_q & ~moved_out,
    }
    counted = candidates.group_by(QUARTER).agg(
        expr
        for name, flag in flags.items()
        for expr in (
            flag.fill_null(False).sum().cast(pl.Int64).alias(f"{name}_deals"),
            money_sum(pl.col("_amount").filter(flag.fill_null(False))).alias(f"{name}_amount"),
        )
    )
    values = [f"{n}_{u}" for n in _SLIP_COUNTS for u in ("deals", "amount")]
    has_history = stage_history.select((pl.len() > 0).alias("_has_history"))
    return (
        quarter_grid(first, last)
        .join(counted, on=QUARTER, how="left")
        .with_columns(pl.col(f"{n}_deals").fill_null(0) for n in _SLIP_COUNTS)
        .with_columns(pl.col(f"{n}_amount").fill_null(0.0) for n in _SLIP_COUNTS)
        .with_columns(
            _share("slipped_deals", "expected_deals").alias("slipped_share_deals"),
            _share("slipped_amount", "expected_amount").alias("slipped_share_amount"),
        )
        .join(has_history, how="cross")
        .with_columns(
            pl.when(pl.col("_has_history")).then(pl.col(c)).alias(c)
            for c in [*values, "slipped_share_deals", "slipped_share_amount"]
        )
        .pipe(with_label)
        .select(QUARTER, LABEL, *values, "slipped_share_deals", "slipped_share_amount")
        .sort(QUARTER)
    )
