"""Creation-to-close lag and cohort conversion curves: how long pipeline takes to pay.

Definitions (docs/metrics/deals-lag.md, after the domain reference):

- *creation-to-close lag*: of a quarter's bookings (won amount by close
  quarter), the share created in the same quarter, 1, 2, or 3 and more
  quarters before: the chart that shows sales' closes stand on marketing's
  earlier pipeline.
- *cohort conversion curve*: for the opportunities (or MQLs) created in a
  quarter, the cumulative share won within ``m`` months of creation, for
  ``m`` = 0 .. ``max_months``.

**Months** are calendar months on the wall clock of the calendar's time zone:
a deal created 2026-01-31 10:00 is won "within 1 month" when it closed by
2026-02-28 10:00 (the same day of a later month, or that month's last day when
it is shorter; the same rule as DuckDB's ``timestamp + INTERVAL n MONTH``).
Month 0 therefore holds only deals won at the very instant of creation, and a
curve starts at (almost) 0.

**Observed and mature.** A point (cohort ``Q``, month ``m``) is *observed*
when the cohort's end plus ``m`` months is on or before ``as_of``, counted in
whole calendar months: the ``m``-th month after ``Q``'s last month is over
(the FY2026-Q1 cohort's month-3 point is observed from the end of June 2026).
Then even a member created in the quarter's last instant has had ``m``
months, and the point will not change when the report is rendered later.
Points past that are returned, flagged ``observed = False`` (a chart draws
only observed points). So the cohort of quarter ``Q`` is observed through
exactly ``3 n`` months at the end of quarter ``Q + n``, whatever the quarter's
length.

**Maturity** (the same rule as the funnel's cohorts,
:data:`~alignment_lib.metrics.funnel.MATURITY_QUANTILE`): ``maturity_months``
is the p90 of the whole months from creation (or MQL) to the win, over every
won member of the input known at ``as_of`` (all cohorts, not only those in
range), rounded up: 9 in 10 wins come within it. A cohort is *mature* once it
is observed through ``maturity_months``: even its last member has had that
long, and few wins are still to come. Before that it is *still maturing*: its
share will rise, however many of its points the chart shows. Without any win
known, ``maturity_months`` is ``max_months`` (mature once the whole curve is
observed). ``maturity_months`` may exceed ``max_months``: the cohort is then
still maturing after its last point, because wins keep coming past the chart.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Literal

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import (
    LABEL,
    QUARTER,
    in_range,
    quarter_of,
    with_label,
)
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.deals import _by_columns, _fill_grid, _instant, _lit_instant, _ratio
from alignment_lib.metrics.funnel import MATURITY_QUANTILE, quantile

__all__ = ["LAG_BUCKETS", "cohort_conversion_curve", "creation_to_close_lag", "mql_cohort_curve"]

#: Labels of the creation-to-close lag buckets, by ``lag_quarters`` 0..3 (3 means 3 or more).
LAG_BUCKETS: tuple[str, ...] = (
    "same quarter",
    "1 quarter before",
    "2 quarters before",
    "3+ quarters before",
)

_MONTHS = "months_since_creation"


def creation_to_close_lag(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Of each quarter's bookings, the share created 0, 1, 2, 3+ quarters before.

    Won deals are keyed by the fiscal quarter of ``closed_at`` (``first`` to
    ``last``) and bucketed by ``lag_quarters`` = close quarter - creation
    quarter (both in the calendar's time zone), capped at 3 ("3+ quarters
    before"). Grain: close quarter x lag bucket x ``by`` group; all four
    buckets are present for every quarter, zeros included. Columns:
    ``quarter_index``, ``fiscal_quarter``, the ``by`` columns,
    ``lag_quarters`` (Int32, 0..3), ``lag_bucket`` (label, :data:`LAG_BUCKETS`),
    ``deals`` (won deals, Int64), ``amount`` (won amount, currency) and
    ``share`` = amount / the quarter's (and group's) won amount (0-1; null when
    that is 0). The amounts of a quarter add up to its bookings.
    """
    cols = _by_columns(opportunities, by, "opportunities")
    created_quarter = calendar.quarter_index_expr(calendar.local_date_expr(pl.col("created_at")))
    won = (
        opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at").is_not_null())
        .with_columns(quarter_of(calendar, pl.col("closed_at")))
        .filter(in_range(first, last))
        .with_columns(
            (pl.col(QUARTER) - created_quarter).clip(0, 3).cast(pl.Int32).alias("lag_quarters")
        )
    )
    counted = won.group_by(QUARTER, *cols, "lag_quarters").agg(
        pl.len().cast(pl.Int64).alias("deals"), money_sum(pl.col("amount")).alias("amount")
    )
    buckets = pl.LazyFrame(
        {"lag_quarters": list(range(len(LAG_BUCKETS))), "lag_bucket": list(LAG_BUCKETS)},
        schema={"lag_quarters": pl.Int32, "lag_bucket": pl.String},
    )
    total = money_sum(pl.col("amount")).over([QUARTER, *cols])
    return (
        _fill_grid(counted, won, first, last, cols, extra=buckets, extra_keys=["lag_quarters"])
        .with_columns(pl.col("deals").fill_null(0), pl.col("amount").fill_null(0.0))
        .with_columns(_ratio(pl.col("amount"), total).alias("share"))
        .pipe(with_label)
        .select(QUARTER, LABEL, *cols, "lag_quarters", "lag_bucket", "deals", "amount", "share")
        .sort(QUARTER, *cols, "lag_quarters")
    )


# -- cohort curves --------------------------------------------------------------
def _check_max_months(max_months: int) -> None:
    if isinstance(max_months, bool) or not isinstance(max_months, int) or max_months < 0:
        raise ParameterError(
            f"max_months must be a whole number of months >= 0, got {max_months!r}"
        )


def _months_to_win(calendar: FiscalCalendar, start: str, won: str) -> pl.Expr:
    """Smallest whole number of calendar months m with won <= start + m months (>= 0).

    Computed on the local wall clock: start + m months is start's day and time
    of day in the m-th following month, clamped to that month's last day.
    """
    s = pl.col(start).dt.convert_time_zone(calendar.timezone).dt.replace_time_zone(None)
    w = pl.col(won).dt.convert_time_zone(calendar.timezone).dt.replace_time_zone(None)
    months = (w.dt.year().cast(pl.Int32) * 12 + w.dt.month().cast(pl.Int32)) - (
        s.dt.year().cast(pl.Int32) * 12 + s.dt.month().cast(pl.Int32)
    )
    # start + `months` months lands in won's month, on start's day (clamped) and time.
    anniversary = pl.datetime(
        w.dt.year(),
        w.dt.month(),
        pl.min_horizontal(s.dt.day(), w.dt.month_end().dt.day()),
        s.dt.hour(),
        s.dt.minute(),
        s.dt.second(),
        s.dt.microsecond(),
    )
    return (months + (w > anniversary).cast(pl.Int32)).clip(lower_bound=0).cast(pl.Int32)


def _observed_through(
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
) -> pl.LazyFrame:
    """Per cohort quarter: the last month m whose point is observed at as_of (-1: none).

    The point (Q, m) is observed when the m-th whole calendar month after Q's
    last day is over by ``as_of``: every member, even one created in Q's last
    microsecond, has had m months. Computed per quarter of the requested range
    (from the parameters, not the data).
    """
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    after = (as_of + dt.timedelta(microseconds=1)).astimezone(zone)
    # months before the one holding `after` are over at as_of
    current = after.year * 12 + after.month - 1
    a, b = FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    through = []
    for index in range(a, b + 1):
        nxt = calendar.quarter_start(FiscalCalendar.quarter_from_index(index).shift(1))
        through.append(max(current - (nxt.year * 12 + nxt.month - 1), -1))
    return pl.LazyFrame(
        {QUARTER: list(range(a, b + 1)), "_observed_through": through},
        schema={QUARTER: pl.Int32, "_observed_through": pl.Int32},
    )


def _curve(
    members: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
    max_months: int,
    cols: list[str],
    weight: pl.Expr,
    dtype: pl.DataType,
) -> pl.LazyFrame:
    """Cumulative won share by months since ``_start`` of cohorts keyed by ``_start``'s quarter.

    ``members`` has ``_start`` (cohort instant), ``_won_at`` (when the member
    was won, null if never) and the ``cols`` group columns; ``weight`` is what
    a member adds (1 or its amount), of type ``dtype``.
    """
    cut = _lit_instant(as_of)
    seen = (
        members.filter(pl.col("_start") <= cut)
        .with_columns(quarter_of(calendar, pl.col("_start")))
        .filter(in_range(first, last))
        .with_columns(
            weight.cast(dtype).alias("_w"),
            pl.when(pl.col("_won_at") <= cut)
            .then(_months_to_win(calendar, "_start", "_won_at"))
            .alias(_MONTHS),
        )
    )
    # amounts are summed in cents (exact, in any order); counts as integers
    total = money_sum if dtype.is_float() else pl.Expr.sum
    sizes = seen.group_by(QUARTER, *cols).agg(total(pl.col("_w")).alias("cohort_size"))
    wins = (
        seen.filter(pl.col(_MONTHS) <= max_months)
        .group_by(QUARTER, *cols, _MONTHS)
        .agg(total(pl.col("_w")).alias("_won"))
    )
    months = pl.LazyFrame({_MONTHS: list(range(max_months + 1))}, schema={_MONTHS: pl.Int32})
    # the p90 of whole months to a win over every member won by as_of (all cohorts), rounded up
    maturity = members.filter(pl.col("_start") <= cut, pl.col("_won_at") <= cut).select(
        quantile(
            _months_to_win(calendar, "_start", "_won_at").cast(pl.Float64),
            MATURITY_QUANTILE,
        )
        .ceil()
        .fill_null(float(max_months))
        .cast(pl.Int32)
        .alias("maturity_months")
    )
    zero = pl.lit(0, dtype=dtype)
    return (
        _fill_grid(wins, seen, first, last, cols, extra=months, extra_keys=[_MONTHS])
        .join(sizes, on=[QUARTER, *cols], how="left", nulls_equal=True)
        .join(_observed_through(calendar, first, last, as_of), on=QUARTER, how="left")
        .join(maturity, how="cross")
        .with_columns(pl.col("cohort_size", "_won").fill_null(zero))
        .with_columns(
            pl.col("_won")
            .cum_sum()
            .over([QUARTER, *cols], order_by=_MONTHS)
            .alias("won_cumulative")
        )
        .with_columns(
            _ratio(pl.col("won_cumulative"), pl.col("cohort_size")).alias("share"),
            (pl.col(_MONTHS) <= pl.col("_observed_through")).alias("observed"),
            (pl.col("_observed_through") >= pl.col("maturity_months")).alias("mature"),
        )
        .pipe(with_label)
        .select(
            QUARTER,
            LABEL,
            *cols,
            _MONTHS,
            "cohort_size",
            "won_cumulative",
            "share",
            "observed",
            "maturity_months",
            "mature",
        )
        .sort(QUARTER, *cols, _MONTHS)
    )


def cohort_conversion_curve(
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
    measure: Literal["amount", "count"] = "amount",
    max_months: int = 24,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Cumulative won share of each quarter's created opportunities, by months since creation.

    Cohorts: opportunities whose ``created_at`` (on or before ``as_of``) falls
    in a fiscal quarter from ``first`` to ``last``. For ``m`` = 0 ..
    ``max_months`` calendar months (module docstring): ``won_cumulative`` =
    amount (``measure="amount"``, Float64) or number (``"count"``, Int64) of
    the cohort's deals won on or before ``as_of`` and within ``m`` months of
    their creation; ``cohort_size`` = the cohort's total created amount (a deal
    without an amount adds 0) or number; ``share`` = won_cumulative /
    cohort_size (0-1, null for an empty cohort). ``observed``: the point is
    final at ``as_of``; ``maturity_months`` (Int32): the p90 of whole months
    from creation to a win over every deal won by ``as_of`` (all cohorts of
    the input), rounded up (``max_months`` when none was won); ``mature``: the
    cohort is observed through ``maturity_months`` (module docstring), so few
    of its wins are still to come; else it is still maturing.

    Grain: cohort quarter x ``months_since_creation`` (Int32) x ``by`` group,
    every combination present (empty cohorts have size 0 and null shares).
    Columns: ``quarter_index``, ``fiscal_quarter`` (the cohort), the ``by``
    columns, ``months_since_creation``, ``cohort_size``, ``won_cumulative``,
    ``share``, ``observed``, ``maturity_months``, ``mature``.
    """
    if measure not in ("amount", "count"):
        raise ParameterError(f"measure must be 'amount' or 'count', got {measure!r}")
    _check_max_months(max_months)
    cols = _by_columns(opportunities, by, "opportunities")
    as_of = _instant(as_of)
    members = opportunities.select(
        *cols,
        pl.col("created_at").alias("_start"),
        pl.when(pl.col("outcome") == "won").then(pl.col("closed_at")).alias("_won_at"),
        pl.col("amount"),
    )
    dtype: pl.DataType
    if measure == "amount":
        weight, dtype = pl.col("amount").fill_null(0.0), pl.Float64()
    else:
        weight, dtype = pl.lit(1), pl.Int64()
    return _curve(
        members,
        calendar=calendar,
        first=first,
        last=last,
        as_of=as_of,
        max_months=max_months,
        cols=cols,
        weight=weight,
        dtype=dtype,
    )


def mql_cohort_curve(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime,
    max_months: int = 24,
    by: Sequence[str] = (),
) -> pl.LazyFrame:
    """Cumulative share of each quarter's MQLs whose opportunity was won, by months since MQL.

    Cohorts: leads whose ``mql_at`` (on or before ``as_of``) falls in a fiscal
    quarter from ``first`` to ``last``. A lead is won within ``m`` months when
    the opportunity it converted into (``leads.opportunity_id``) was won on or
    before ``as_of`` and within ``m`` calendar months of ``mql_at``; a deal won
    before the MQL timestamp counts from month 0. Several MQLs converting into
    one opportunity each count. ``cohort_size`` = MQLs (Int64),
    ``won_cumulative`` = MQLs won (Int64); other columns, ``observed`` and
    ``mature`` as in :func:`cohort_conversion_curve` (``maturity_months``:
    the p90 of whole months from MQL to the win, over every MQL won by
    ``as_of``). ``by`` names columns of
    ``leads`` (channel, campaign, segment, region, owner_id).
    """
    _check_max_months(max_months)
    cols = _by_columns(leads, by, "leads")
    as_of = _instant(as_of)
    won_at = opportunities.select(
        "opportunity_id",
        pl.when(pl.col("outcome") == "won").then(pl.col("closed_at")).alias("_won_at"),
    )
    members = (
        leads.filter(pl.col("mql_at").is_not_null())
        .select(*cols, "opportunity_id", pl.col("mql_at").alias("_start"))
        .join(won_at, on="opportunity_id", how="left")
        .drop("opportunity_id")
    )
    return _curve(
        members,
        calendar=calendar,
        first=first,
        last=last,
        as_of=as_of,
        max_months=max_months,
        cols=cols,
        weight=pl.lit(1),
        dtype=pl.Int64(),
    )
