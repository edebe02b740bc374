"""Pacing against the historical cumulative curve: is a quarter where quarters usually are by now?

Definitions: docs/metrics/pacing.md.

Bookings land at the end of a quarter (the hockey stick), so "target x the
share of the quarter elapsed" calls nearly every quarter "behind" until its
last weeks. Pacing here compares the actual with target x the share of a
quarter's total that past quarters had reached by the same day of the quarter:
the *historical cumulative curve* of the same metric, from the same fiscal
quarter of the year once two such quarters exist ("same quarter"), else from
all recent quarters ("all quarters"), else the elapsed share ("linear", when
there is no history, and labelled so).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.deals import _instant, _lit_instant, _ratio
from alignment_lib.schema import OPPORTUNITY_SOURCES

__all__ = [
    "AT_RISK_PACING",
    "CURVE_BASES",
    "PACING_METRICS",
    "pacing",
    "pacing_curve",
]

#: a quarter still running is "behind" when even at the slowest past pace it would end
#: below this share of its target (cumulative targets; the shared scorecard's threshold)
AT_RISK_PACING = 0.9
#: the cumulative target metrics that can be paced (rates such as SLA compliance cannot)
PACING_METRICS: tuple[str, ...] = (
    "bookings",
    "pipeline_created",
    "marketing_pipeline_created",
    "mqls",
    "won_deals",
    "opportunities_created",
)
#: where the expected share by a day comes from, in order of preference
CURVE_BASES: tuple[str, ...] = ("same quarter", "all quarters", "linear")

_SERIES = ["metric", "team"]


def _events(opportunities: pl.LazyFrame, leads: pl.LazyFrame | None) -> pl.LazyFrame:
    """Every event that adds to a cumulative metric: (metric, source, instant ``_at``, value).

    bookings: won deals at ``closed_at`` (amount); pipeline_created: deals at
    ``created_at`` (amount); marketing_pipeline_created: the marketing-sourced
    ones; mqls: leads at ``mql_at`` (1 each); won_deals and
    opportunities_created: the same deals as bookings and pipeline_created,
    1 each (counts). A missing amount adds 0.
    """
    amount = pl.col("amount").cast(pl.Float64).fill_null(0.0).alias("_value")
    one = pl.lit(1.0).alias("_value")
    source = pl.col("source").cast(pl.String)
    won = opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at").is_not_null())
    created = opportunities.filter(pl.col("created_at").is_not_null())
    frames = [
        won.select(
            pl.lit("won_deals").alias("metric"), source, pl.col("closed_at").alias("_at"), one
        ),
        created.select(
            pl.lit("opportunities_created").alias("metric"),
            source,
            pl.col("created_at").alias("_at"),
            one,
        ),
        opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at").is_not_null()).select(
            pl.lit("bookings").alias("metric"), source, pl.col("closed_at").alias("_at"), amount
        ),
        opportunities.filter(pl.col("created_at").is_not_null()).select(
            pl.lit("pipeline_created").alias("metric"),
            source,
            pl.col("created_at").alias("_at"),
            amount,
        ),
        opportunities.filter(
            pl.col("created_at").is_not_null(), pl.col("source") == "marketing"
        ).select(
            pl.lit("marketing_pipeline_created").alias("metric"),
            source,
            pl.col("created_at").alias("_at"),
            amount,
        ),
    ]
    if leads is not None:
        frames.append(
            leads.filter(pl.col("mql_at").is_not_null()).select(
                pl.lit("mqls").alias("metric"),
                pl.lit(None, dtype=pl.String).alias("source"),
                pl.col("mql_at").alias("_at"),
                pl.lit(1.0).alias("_value"),
            )
        )
    return pl.concat(frames, how="vertical_relaxed")


def _series(events: pl.LazyFrame, series: pl.LazyFrame) -> pl.LazyFrame:
    """The events of each (metric, team): team ``shared`` all of them, a source team its
    own part of an amount metric, any team all MQLs (as the shared scorecard measures)."""
    team = pl.col("team")
    return events.join(series, on="metric", how="inner").filter(
        (team == "shared") | (pl.col("source") == team) | (pl.col("metric") == "mqls")
    )


def _quarter_days(calendar: FiscalCalendar, lo: int, hi: int) -> pl.LazyFrame:
    """Quarters lo..hi: first local day (``_start``) and length in days (``_days``)."""
    quarters = list(range(lo, hi + 1))
    starts = [calendar.quarter_start(FiscalCalendar.quarter_from_index(q)) for q in quarters]
    days = [
        (calendar.quarter_start(FiscalCalendar.quarter_from_index(q + 1)) - s).days
        for q, s in zip(quarters, starts, strict=True)
    ]
    return pl.LazyFrame(
        {QUARTER: quarters, "_start": starts, "_days": days},
        schema={QUARTER: pl.Int32, "_start": pl.Date, "_days": pl.Int32},
    )


def _day_of_quarter(calendar: FiscalCalendar, quarters: pl.LazyFrame) -> pl.Expr:
    """1-based local day of the quarter of the event instant ``_at`` (needs ``_start``)."""
    local = calendar.local_date_expr(pl.col("_at"))
    return ((local - pl.col("_start")).dt.total_days() + 1).cast(pl.Int32).alias("day_of_quarter")


def _history(
    events: pl.LazyFrame, calendar: FiscalCalendar, current: int, quarters: int
) -> pl.LazyFrame:
    """Per (metric, team, past quarter h, day d): the share of h's total reached by day d.

    Past quarters: the ``quarters`` before ``current`` with a positive total,
    the series' first quarter (the quarter of its first event: the data's
    start, a partial quarter) left out. Days 1 .. the quarter's length, every
    day present; ``_same``: h is the same fiscal quarter of the year as
    ``current``.
    """
    lo = current - quarters
    days = _quarter_days(calendar, lo, current - 1)
    first = events.group_by(_SERIES).agg(
        quarter_of(calendar, pl.col("_at")).min().cast(pl.Int32).alias("_first")
    )
    daily = (
        events.with_columns(quarter_of(calendar, pl.col("_at")).cast(pl.Int32))
        .join(days, on=QUARTER, how="inner")
        .with_columns(_day_of_quarter(calendar, days))
        .group_by(*_SERIES, QUARTER, "day_of_quarter")
        .agg(money_sum(pl.col("_value")).alias("_day_value"))
    )
    totals = (
        daily.group_by(*_SERIES, QUARTER)
        .agg(money_sum(pl.col("_day_value")).alias("_total"))
        .join(first, on=_SERIES, how="left")
        .filter(pl.col("_total") > 0, pl.col(QUARTER) > pl.col("_first"))
    )
    return (
        totals.join(days, on=QUARTER, how="left")
        .with_columns(pl.int_ranges(1, pl.col("_days") + 1, dtype=pl.Int32).alias("day_of_quarter"))
        .explode("day_of_quarter")
        .join(daily, on=[*_SERIES, QUARTER, "day_of_quarter"], how="left")
        .with_columns(pl.col("_day_value").fill_null(0.0))
        .sort(*_SERIES, QUARTER, "day_of_quarter")
        .with_columns(pl.col("_day_value").cum_sum().over(*_SERIES, QUARTER).alias("_cum"))
        .with_columns(
            # the last day is exactly 1 whatever the summation order
            (pl.col("_cum") / pl.col("_cum").max().over(*_SERIES, QUARTER)).alias("_share"),
            ((pl.col(QUARTER) % 4) == current % 4).alias("_same"),
        )
        .select(*_SERIES, QUARTER, "_days", "day_of_quarter", "_cum", "_total", "_share", "_same")
    )


def _curve(history: pl.LazyFrame, days: pl.LazyFrame) -> pl.LazyFrame:
    """Per (metric, team, day d of the current quarter): the expected share by day d.

    ``days``: (metric, team, ``day_of_quarter``, ``_days_now``) rows to fill. A
    past quarter shorter than d counts as complete (share 1). Basis: the same
    fiscal quarter of the year when two or more such quarters exist, else all
    past quarters, else linear (d / days of the current quarter).
    ``curve_share`` = sum of the basis quarters' cumulative values by day d /
    sum of their totals; ``curve_share_low`` / ``_high``: the lowest and the
    highest share among them; ``curve_quarters``: how many.
    """
    quarters = history.select(*_SERIES, QUARTER, "_days", "_total", "_same").unique()
    counts = quarters.group_by(_SERIES).agg(
        pl.len().cast(pl.Int64).alias("_n_all"),
        pl.col("_same").sum().cast(pl.Int64).alias("_n_same"),
    )
    at_day = (
        days.join(quarters, on=_SERIES, how="inner")
        .with_columns(
            pl.min_horizontal(pl.col("day_of_quarter"), pl.col("_days")).alias("_d"),
        )
        .join(
            history.select(
                *_SERIES, QUARTER, pl.col("day_of_quarter").alias("_d"), "_cum", "_share"
            ),
            on=[*_SERIES, QUARTER, "_d"],
            how="left",
        )
        .join(counts, on=_SERIES, how="left")
        .filter((pl.col("_n_same") < 2) | pl.col("_same"))
        .group_by(*_SERIES, "day_of_quarter")
        .agg(
            pl.when(pl.col("_n_same").first() >= 2)
            .then(pl.lit("same quarter"))
            .otherwise(pl.lit("all quarters"))
            .alias("curve_basis"),
            pl.len().cast(pl.Int64).alias("curve_quarters"),
            _ratio(money_sum(pl.col("_cum")), money_sum(pl.col("_total"))).alias("curve_share"),
            pl.col("_share").min().alias("curve_share_low"),
            pl.col("_share").max().alias("curve_share_high"),
        )
    )
    linear = (pl.col("day_of_quarter") / pl.col("_days_now")).clip(0.0, 1.0)
    history_known = pl.col("curve_basis").is_not_null()
    return days.join(at_day, on=[*_SERIES, "day_of_quarter"], how="left").with_columns(
        pl.when(history_known).then(pl.col("curve_basis")).otherwise(pl.lit("linear")),
        pl.col("curve_quarters").fill_null(0),
        *(
            pl.when(history_known).then(pl.col(c)).otherwise(linear).alias(c)
            for c in ("curve_share", "curve_share_low", "curve_share_high")
        ),
        linear.alias("linear_share"),
    )


def _quarter_and_day(
    calendar: FiscalCalendar, quarter: object, as_of: dt.datetime
) -> tuple[int, int, int]:
    if not isinstance(quarter, FiscalQuarter):
        raise ParameterError(
            f"quarter must be a FiscalQuarter, e.g. FiscalQuarter.parse('FY2026-Q3'), "
            f"got {quarter!r}"
        )
    index = FiscalCalendar.quarter_index(quarter)
    start = calendar.quarter_start(quarter)
    days = (calendar.quarter_start(quarter.shift(1)) - start).days
    day = (calendar.local_date(as_of) - start).days + 1
    return index, min(max(day, 0), days), days


def _targets(targets: pl.LazyFrame | None, label: str) -> pl.LazyFrame:
    schema = {"metric": pl.String, "team": pl.String, "target": pl.Float64}
    if targets is None:
        return pl.LazyFrame(schema=schema)
    return targets.filter(
        pl.col("fiscal_quarter") == label, pl.col("metric").is_in(PACING_METRICS)
    ).select("metric", "team", pl.col("value").cast(pl.Float64).alias("target"))


def _quarters(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"quarters must be a whole number of at least 1, got {value!r}")
    return value


def _with_pace(frame: pl.LazyFrame, *, over: bool) -> pl.LazyFrame:
    """Pacing, projected finish and status from a target, an actual and the curve's shares.

    ``frame`` holds ``target``, ``actual``, ``curve_share``, ``curve_share_low``,
    ``curve_share_high`` and ``linear_share`` (one row per target); ``over``:
    the quarter is over at the as-of instant. Adds ``expected_to_date``,
    ``pacing``, ``projected_finish``, ``projected_low``, ``projected_high``,
    ``linear_pacing`` and ``status`` as :func:`pacing` defines them (the shared
    scorecard paces its own actuals with it, so both say the same).
    """
    target, value = pl.col("target"), pl.col("actual")
    projected_high = pl.col("projected_high")
    status = (
        pl.when(target.is_null() | (target <= 0) | value.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.lit(over))
        .then(pl.when(value >= target).then(pl.lit("hit")).otherwise(pl.lit("missed")))
        .when(pl.col("pacing").is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("pacing") >= 1)
        .then(pl.lit("on track"))
        .when(projected_high.is_not_null() & (projected_high < AT_RISK_PACING * target))
        .then(pl.lit("behind"))
        .otherwise(pl.lit("at risk"))
    )
    return (
        frame.with_columns(
            (target * pl.col("curve_share")).alias("expected_to_date"),
            _ratio(value, pl.col("curve_share")).alias("projected_finish"),
            _ratio(value, pl.col("curve_share_high")).alias("projected_low"),
            _ratio(value, pl.col("curve_share_low")).alias("projected_high"),
            _ratio(value, target * pl.col("linear_share")).alias("linear_pacing"),
        )
        .with_columns(_ratio(value, pl.col("expected_to_date")).alias("pacing"))
        .with_columns(status.alias("status"))
    )


def pacing(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame | None,
    targets: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    quarters: int = 8,
) -> pl.LazyFrame:
    """Each cumulative target of ``quarter`` against where past quarters were by the same day.

    Grain: one row per (metric, team) target of ``quarter`` whose metric is in
    :data:`PACING_METRICS`, sorted. Actuals as the shared scorecard counts them
    (bookings: won amount closed in the quarter; pipeline_created: amount
    created; marketing_pipeline_created: marketing-sourced part; mqls: MQLs;
    won_deals and opportunities_created: the number of those deals; team
    ``shared`` the total, a source team its own part; events on or before
    ``as_of`` only). Columns:

    - ``day_of_quarter``: local day of the quarter of ``as_of`` (1 = first day;
      0 before the quarter starts; the as-of day counts as elapsed, as in
      :func:`~alignment_lib.metrics.scorecard.elapsed_share`), ``days_in_quarter``;
    - ``target``, ``actual``, ``attainment`` = actual / target;
    - ``curve_basis`` ("same quarter", "all quarters" or "linear"),
      ``curve_quarters`` (past quarters in the basis), ``curve_share`` (share
      of a quarter's total usually reached by this day: summed over the basis
      quarters, cumulative by the day / total; the ``quarters`` complete
      quarters before ``quarter``, those with a total of 0 and the series'
      first quarter left out), ``curve_share_low`` / ``curve_share_high`` (the
      lowest and highest share among them);
    - ``expected_to_date`` = target x curve_share; ``pacing`` = actual /
      expected_to_date;
    - ``projected_finish`` = actual / curve_share (where the quarter ends if it
      keeps the usual pace); ``projected_low`` = actual / curve_share_high and
      ``projected_high`` = actual / curve_share_low (at the pace of the fastest
      and of the slowest past quarter);
    - ``linear_share`` = day_of_quarter / days_in_quarter and ``linear_pacing``
      = actual / (target x linear_share), for comparison;
    - ``status``: for a quarter over at ``as_of``, "hit" (actual >= target) or
      "missed"; otherwise "on track" when pacing >= 1, "behind" when even at the
      slowest past pace the quarter ends below AT_RISK_PACING (0.9) x target
      (projected_high < 0.9 x target), else "at risk"; null when nothing can be
      said (no target, or nothing of the quarter elapsed).

    Rates and ratios are null on a zero denominator. Lazy; no loop over groups.
    """
    quarters = _quarters(quarters)
    as_of = _instant(as_of)
    current, day, days_now = _quarter_and_day(calendar, quarter, as_of)
    over = as_of >= calendar.quarter_end_instant(quarter)
    series = _targets(targets, quarter.label)
    events = _series(
        _events(opportunities, leads).filter(pl.col("_at") <= _lit_instant(as_of)),
        series.select(_SERIES),
    )
    actual = (
        events.with_columns(quarter_of(calendar, pl.col("_at")).cast(pl.Int32))
        .filter(pl.col(QUARTER) == current)
        .group_by(_SERIES)
        .agg(money_sum(pl.col("_value")).alias("actual"))
    )
    history = _history(events, calendar, current, quarters)
    wanted = series.select(
        *_SERIES,
        pl.lit(day, dtype=pl.Int32).alias("day_of_quarter"),
        pl.lit(days_now, dtype=pl.Int32).alias("_days_now"),
    )
    curve = _curve(history, wanted)
    return (
        series.join(actual, on=_SERIES, how="left")
        .join(curve, on=_SERIES, how="left")
        .with_columns(
            pl.col("actual").fill_null(0.0),
            pl.lit(quarter.label).alias(LABEL),
            pl.lit(days_now, dtype=pl.Int32).alias("days_in_quarter"),
        )
        .with_columns(_ratio(pl.col("actual"), pl.col("target")).alias("attainment"))
        .pipe(_with_pace, over=over)
        .select(
            "metric",
            "team",
            LABEL,
            "day_of_quarter",
            "days_in_quarter",
            "target",
            "actual",
            "attainment",
            "curve_basis",
            "curve_quarters",
            "curve_share",
            "curve_share_low",
            "curve_share_high",
            "expected_to_date",
            "pacing",
            "projected_finish",
            "projected_low",
            "projected_high",
            "linear_share",
            "linear_pacing",
            "status",
        )
        .sort(_SERIES)
    )


def pacing_curve(
    opportunities: pl.LazyFrame,
    leads: pl.LazyFrame | None,
    targets: pl.LazyFrame | None = None,
    *,
    calendar: FiscalCalendar,
    quarter: FiscalQuarter,
    as_of: dt.datetime,
    metric: str = "bookings",
    team: str = "shared",
    quarters: int = 8,
) -> pl.LazyFrame:
    """The historical cumulative curve of one metric through ``quarter``, day by day.

    Grain: one row per local day of ``quarter`` (``day_of_quarter`` 1 ..
    days_in_quarter, ``date``), sorted. Columns: ``curve_basis``,
    ``curve_quarters``, ``curve_share``, ``curve_share_low``,
    ``curve_share_high``, ``linear_share`` (as in :func:`pacing`, for every
    day), ``target`` (null without one), ``expected_to_date`` = target x
    curve_share, ``actual_to_date`` (cumulative actual by the end of the day;
    null after the day of ``as_of``). The chart of a quarter against its usual
    pace.
    """
    if metric not in PACING_METRICS:
        raise ParameterError(
            f"metric must be one of {', '.join(PACING_METRICS)} (cumulative metrics), "
            f"got {metric!r}"
        )
    if team not in ("shared", *OPPORTUNITY_SOURCES):
        raise ParameterError(
            f"team must be 'shared' or a source ({', '.join(OPPORTUNITY_SOURCES)}), got {team!r}"
        )
    quarters = _quarters(quarters)
    as_of = _instant(as_of)
    current, day, days_now = _quarter_and_day(calendar, quarter, as_of)
    series = pl.LazyFrame({"metric": [metric], "team": [team]})
    events = _series(
        _events(opportunities, leads).filter(pl.col("_at") <= _lit_instant(as_of)), series
    )
    days = series.with_columns(
        pl.int_ranges(1, days_now + 1, dtype=pl.Int32).alias("day_of_quarter"),
        pl.lit(days_now, dtype=pl.Int32).alias("_days_now"),
    ).explode("day_of_quarter")
    curve = _curve(_history(events, calendar, current, quarters), days)
    span = _quarter_days(calendar, current, current)
    to_date = (
        events.with_columns(quarter_of(calendar, pl.col("_at")).cast(pl.Int32))
        .filter(pl.col(QUARTER) == current)
        .join(span, on=QUARTER, how="inner")
        .with_columns(_day_of_quarter(calendar, span))
        .group_by("day_of_quarter")
        .agg(money_sum(pl.col("_value")).alias("_day_value"))
    )
    target = _targets(targets, quarter.label).filter(
        pl.col("metric") == metric, pl.col("team") == team
    )
    start = calendar.quarter_start(quarter)
    return (
        curve.join(to_date, on="day_of_quarter", how="left")
        .join(target, on=_SERIES, how="left")
        .sort("day_of_quarter")
        .with_columns(
            pl.when(pl.col("day_of_quarter") <= day)
            .then(pl.col("_day_value").fill_null(0.0).cum_sum())
            .alias("actual_to_date"),
            (pl.lit(start) + pl.duration(days=pl.col("day_of_quarter") - 1)).alias("date"),
            (pl.col("target") * pl.col("curve_share")).alias("expected_to_date"),
        )
        .select(
            "day_of_quarter",
            "date",
            "curve_basis",
            "curve_quarters",
            "curve_share",
            "curve_share_low",
            "curve_share_high",
            "linear_share",
            "target",
            "expected_to_date",
            "actual_to_date",
        )
        .sort("day_of_quarter")
    )
