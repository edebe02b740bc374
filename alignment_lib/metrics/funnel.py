"""The lead funnel: stage conversion by cohort, flows by period, time between stages.

Stages, in order (the SiriusDecisions waterfall, acquisition half):

=============== ==========================================================
``inquiry``     the lead was created (``leads.created_at``)
``mql``         marketing-qualified (``leads.mql_at``)
``sal``         sales-accepted (``leads.accepted_at``)
``sql``         sales-qualified (``leads.sql_at``)
``opportunity`` the linked opportunity was created (``leads.opportunity_id`` ->
                ``opportunities.created_at``)
``won``         the linked opportunity was won (its ``closed_at``, outcome ``won``)
=============== ==========================================================

The funnel follows **leads**: an opportunity without a lead (outbound deals
created directly on an account) is not in it, and when several leads point at
one opportunity each of them reaches ``opportunity`` (and ``won``).

**Stage semantics** (HubSpot's two funnel modes, keyword ``mode``):

* ``"any"`` (default, HubSpot "any stage"): a lead reached stage B when it has
  B's timestamp, whatever happened in between. An SQL that was never formally
  accepted still counts as an SQL; it is simply not in the ``sal`` cohort.
* ``"in_order"`` (HubSpot "all stages in order"): a lead reached stage B only
  when it reached every earlier stage in order (each timestamp at or after the
  previous stage's). A lead that skipped a stage drops out from there on.

Every output carries a ``mode`` column saying which one it used.

**Stages** (keyword ``stages``, default all six): the funnel can skip stages
the data does not track (``FunnelData.tracking.funnel_stages``, or
``Workbook.funnel_stages``): with ``stages=("inquiry", "mql", "opportunity",
"won")`` the steps are Inquiry -> MQL, MQL -> Opportunity, Opportunity -> Won,
each between adjacent stages of the list. ``stages=("mql", "won")`` gives the
one step MQL -> Won. Steps are numbered 1.. in that order; ``from_stage`` and
``to_stage`` name them. A single stage has no step (period mode still counts its
entries).

Durations are in days (Float64, fractional) between the two instants.
Quantiles use polars' ``linear`` interpolation (the same as DuckDB's
``quantile_cont``; the median is the 0.5 quantile, the mean of the two middle
values for an even count).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from typing import Literal

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.load import parse_as_of
from alignment_lib.metrics._by import by_columns
from alignment_lib.metrics._quarters import QUARTER, in_range, quarter_grid, quarter_of, with_label
from alignment_lib.schema import LEADS

__all__ = [
    "FUNNEL_STAGES",
    "MATURITY_QUANTILE",
    "funnel_cohort",
    "funnel_period",
    "stage_durations",
]

#: funnel stages in order
FUNNEL_STAGES = ("inquiry", "mql", "sal", "sql", "opportunity", "won")
#: a cohort is mature once even its last member has had this quantile of the step's
#: conversion times (9 in 10 conversions come sooner); the median left 15-37% of the
#: sample's wins still to come (docs/metrics/funnel-handoff.md)
MATURITY_QUANTILE = 0.9
#: lead columns a funnel or handoff metric can be split by
LEAD_GROUPINGS = ("channel", "campaign", "segment", "region", "owner_id")
#: the one quantile definition of the kit's funnel and handoff metrics
INTERPOLATION: Literal["linear"] = "linear"

FunnelMode = Literal["any", "in_order"]

_LEAD_COLUMN = {"inquiry": "created_at", "mql": "mql_at", "sal": "accepted_at", "sql": "sql_at"}
_UTC = pl.Datetime("us", "UTC")
_US_PER_DAY = 86_400_000_000
_US_PER_HOUR = 3_600_000_000
_STEP = "step"
_ORDER = "stage_order"


# -- helpers shared with handoff.py ------------------------------------------------------------
def check_by(by: Sequence[str] | str, leads: pl.LazyFrame) -> list[str]:
    """The ``by`` columns as a list: lead columns one can group by (:data:`LEAD_GROUPINGS`)
    or the dimensions ``leads`` carries (:func:`alignment_lib.metrics._by.by_columns`)."""
    return by_columns(
        leads,
        by,
        table=LEADS,
        groupings=LEAD_GROUPINGS,
        hint=" (an opportunity's source is not known before the opportunity exists)",
    )


def check_as_of(as_of: dt.datetime | dt.date | str, calendar: FiscalCalendar) -> dt.datetime:
    """The as-of instant in UTC (a bare date is the end of that local day)."""
    if not isinstance(as_of, dt.datetime | dt.date | str):
        raise ParameterError(f"as_of must be a datetime, date or ISO string, got {as_of!r}")
    return parse_as_of(as_of, calendar)


def check_hours(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A finite, positive (or non-negative) number of hours or days."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = "zero or more" if allow_zero else "more than zero"
        raise ParameterError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_quarters(first: FiscalQuarter, last: FiscalQuarter) -> None:
    if not isinstance(first, FiscalQuarter) or not isinstance(last, FiscalQuarter):
        raise ParameterError("first and last must be FiscalQuarter values, e.g. FY2026-Q3")
    if last < first:
        raise ParameterError(f"last quarter {last} is before first quarter {first}")


def key_grid(periods: pl.LazyFrame, leads: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Every period crossed with every combination of ``by`` values seen in ``leads``.

    Combinations come from the whole frame (not only the rows in range), so a
    channel with no MQLs in a quarter shows a row of zeros there.
    """
    if not by:
        return periods
    return periods.join(leads.select(by).unique(), how="cross")


def days_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """``end - start`` in fractional days (Float64)."""
    return (end - start).dt.total_microseconds().cast(pl.Float64) / _US_PER_DAY


def hours_between(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """``end - start`` in fractional hours (Float64)."""
    return (end - start).dt.total_microseconds().cast(pl.Float64) / _US_PER_HOUR


def quantile(expr: pl.Expr, q: float) -> pl.Expr:
    """The kit's quantile: linear interpolation (DuckDB ``quantile_cont``); nulls ignored."""
    return expr.quantile(q, interpolation=INTERPOLATION)


def rate(numerator: str, denominator: str) -> pl.Expr:
    """numerator / denominator as Float64, null when the denominator is 0."""
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator).cast(pl.Float64) / pl.col(denominator))
        .otherwise(None)
    )


# -- the stage timeline -------------------------------------------------------------------------
def _check_mode(mode: str) -> None:
    if mode not in ("any", "in_order"):
        raise ParameterError(
            f"funnel mode must be 'any' (a stage counts when its timestamp is set) or "
            f"'in_order' (every earlier stage reached first), got {mode!r}"
        )


def _ts(stage: str) -> str:
    return f"_at_{stage}"


def check_stages(stages: Sequence[str]) -> tuple[str, ...]:
    """The funnel stages to use: one or more of FUNNEL_STAGES, in funnel order, once each
    (a single stage has no step: cohort and duration results are empty)."""
    if isinstance(stages, str):
        raise ParameterError(
            f"stages must be a sequence of funnel stages, e.g. ('mql', 'won'), got {stages!r}"
        )
    chosen = tuple(stages)
    unknown = [s for s in chosen if s not in FUNNEL_STAGES]
    if unknown:
        raise ParameterError(
            f"unknown funnel stage {', '.join(map(repr, unknown))}; stages are: "
            f"{', '.join(FUNNEL_STAGES)}"
        )
    order = [FUNNEL_STAGES.index(s) for s in chosen]
    if not chosen or order != sorted(set(order)):
        raise ParameterError(
            f"stages must be funnel stages in funnel order, each once "
            f"({', '.join(FUNNEL_STAGES)}), got {list(chosen)}"
        )
    return chosen


def _timeline(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    by: list[str],
    mode: str,
    stages: Sequence[str] = FUNNEL_STAGES,
) -> pl.LazyFrame:
    """One row per lead: its ``by`` keys and the instant it reached each stage (or null)."""
    opps = opportunities.select(
        "opportunity_id",
        pl.col("created_at").alias(_ts("opportunity")),
        pl.when(pl.col("outcome") == "won").then(pl.col("closed_at")).alias(_ts("won")),
    )
    timeline = (
        leads.select(
            *by,
            *(pl.col(col).alias(_ts(stage)) for stage, col in _LEAD_COLUMN.items()),
            "opportunity_id",
        )
        .join(opps, on="opportunity_id", how="left")
        .drop("opportunity_id")
    )
    if mode == "in_order":
        # a stage counts only when the previous one was reached (in order) no later
        for prev, cur in itertools.pairwise(stages):
            timeline = timeline.with_columns(
                pl.when(pl.col(_ts(cur)) >= pl.col(_ts(prev)))
                .then(pl.col(_ts(cur)))
                .otherwise(None)
                .alias(_ts(cur))
            )
    return timeline


def _linked(leads: pl.LazyFrame, opportunities: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """``leads`` (``columns`` and ``opportunity_id``) with the linked opportunity's creation
    and win instants, as :func:`_timeline` has them."""
    opps = opportunities.select(
        "opportunity_id",
        pl.col("created_at").alias(_ts("opportunity")),
        pl.when(pl.col("outcome") == "won").then(pl.col("closed_at")).alias(_ts("won")),
    )
    return leads.select(*dict.fromkeys([*columns, "opportunity_id"])).join(
        opps, on="opportunity_id", how="left"
    )


def _entries(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    by: list[str],
    mode: str,
    stages: Sequence[str],
    timeline: pl.LazyFrame | None,
    pair: tuple[str, str] | tuple[str],
) -> pl.LazyFrame:
    """The leads that reached ``pair[0]``: their ``by`` keys, ``_a`` (that instant) and, for
    a pair of stages, ``_b`` (the instant of the second stage, null if not reached).

    One step (or stage) at a time, with only the columns it needs: the timeline of
    every lead and stage is built only in ``mode="in_order"``, where a stage depends
    on all the stages before it; in ``mode="any"`` a step between lead stages reads the
    leads alone, and only the leads that reached its first stage are joined to their
    opportunities. (A long frame of every lead times every step, as before, held five
    copies of each lead's keys: at 10M leads it took most of the funnel's time.)
    """
    names = ("_a", "_b")[: len(pair)]
    if mode == "in_order":
        assert timeline is not None
        frame = timeline
    else:
        lead_stages = [s for s in pair if s in _LEAD_COLUMN]
        frame = leads.filter(
            pl.col(_LEAD_COLUMN[pair[0]]).is_not_null()
            if pair[0] in _LEAD_COLUMN
            else pl.col("opportunity_id").is_not_null()
        )
        if len(lead_stages) < len(pair):  # a stage of the linked opportunity
            frame = _linked(frame, opportunities, [*by, *(_LEAD_COLUMN[s] for s in lead_stages)])
        frame = frame.rename({_LEAD_COLUMN[s]: _ts(s) for s in dict.fromkeys(lead_stages)})
    return frame.select(
        *by, *(pl.col(_ts(s)).alias(n) for s, n in zip(pair, names, strict=True))
    ).filter(pl.col("_a").is_not_null())


def _steps(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    by: list[str],
    mode: str,
    stages: Sequence[str],
) -> list[pl.LazyFrame]:
    """Per adjacent stage pair (step 1, 2, ...): :func:`_entries` of the pair."""
    timeline = _timeline(leads, opportunities, by, mode, stages) if mode == "in_order" else None
    return [
        _entries(leads, opportunities, by, mode, stages, timeline, pair)
        for pair in itertools.pairwise(stages)
    ]


def _numbered(frames: Sequence[pl.LazyFrame], column: str, *, start: int = 1) -> pl.LazyFrame:
    """``frames`` (one per step or stage, in order) as one frame, numbered in ``column``
    (Int32) from ``start``."""
    return pl.concat(
        [
            f.with_columns(pl.lit(i, pl.Int32).alias(column))
            for i, f in enumerate(frames, start=start)
        ]
    )


def _no_steps(leads: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """An empty step frame (a single stage has no step) with the columns of one."""
    return leads.select(*by, pl.lit(None, _UTC).alias("_a"), pl.lit(None, _UTC).alias("_b")).clear()


def _pair_names(stages: Sequence[str] = FUNNEL_STAGES) -> pl.LazyFrame:
    pairs = list(itertools.pairwise(stages))
    return pl.LazyFrame(
        {
            _STEP: list(range(1, len(pairs) + 1)),
            "from_stage": [a for a, _ in pairs],
            "to_stage": [b for _, b in pairs],
        },
        schema={_STEP: pl.Int32, "from_stage": pl.String, "to_stage": pl.String},
    )


def _pair_grid(
    first: FiscalQuarter,
    last: FiscalQuarter,
    leads: pl.LazyFrame,
    by: list[str],
    stages: Sequence[str] = FUNNEL_STAGES,
) -> pl.LazyFrame:
    grid = quarter_grid(first, last).join(_pair_names(stages), how="cross")
    return key_grid(grid, leads, by)


# -- cohort mode --------------------------------------------------------------------------------
def funnel_cohort(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    as_of: dt.datetime | dt.date | str,
    by: Sequence[str] = (),
    within_days: float | None = None,
    mode: FunnelMode = "any",
    stages: Sequence[str] = FUNNEL_STAGES,
) -> pl.LazyFrame:
    """Stage conversion, cohort mode: of the leads that entered stage A in a quarter,
    the share that reached the next stage B.

    **Grain**: one row per cohort quarter (the fiscal quarter the lead reached A
    in, ``first`` to ``last``), adjacent stage pair of ``stages`` (``step``
    1-5 with all six: inquiry->mql, mql->sal, sal->sql, sql->opportunity,
    opportunity->won; fewer when ``stages`` skips untracked ones, e.g. 1:
    mql->won for ``stages=("mql", "won")``) and ``by`` keys (lead columns),
    zeros included.

    **Columns**: ``entered`` (Int64) leads that reached A in the quarter;
    ``reached`` (Int64) of those, the ones that reached B by the as-of instant
    (with ``within_days``: no later than that many days after A);
    ``conversion`` = reached / entered (Float64 0-1, null when entered is 0);
    ``median_days`` median days A->B over the cohort's reached leads;
    ``maturity_days`` and ``mature`` (see below); ``mode`` the stage semantics.

    **Maturity**: a young cohort has not had time to convert. ``maturity_days``
    is the p90 (:data:`MATURITY_QUANTILE`) of the days A->B over every lead in
    the input frame that reached B by ``as_of`` (all quarters): 9 in 10
    conversions come sooner. With ``within_days`` it is ``within_days`` itself
    (the cohort's number is final once every member has had its full window).
    ``mature`` is False when the quarter's last instant + ``maturity_days`` is
    after ``as_of``: even the quarter's last member has not had that long, and
    conversions are still expected (when no lead ever reached B, a cohort is
    mature once its quarter is over).

    In ``mode="any"`` (default) a lead reached B when B's timestamp is set,
    whatever the stages in between; ``mode="in_order"`` counts only leads that
    went through every stage in order (HubSpot "all stages in order").
    """
    check_quarters(first, last)
    _check_mode(mode)
    cols = check_by(by, leads)
    chosen = check_stages(stages)
    cutoff = check_as_of(as_of, calendar)
    window = (
        None if within_days is None else check_hours("within_days", within_days, allow_zero=True)
    )

    steps = _steps(leads, opportunities, cols, mode, chosen) or [_no_steps(leads, cols)]
    days = days_between(pl.col("_a"), pl.col("_b"))
    reached = pl.col("_b").is_not_null()
    if window is not None:
        reached = reached & (days <= window)
    cohorts = _numbered(
        [
            step.with_columns(quarter_of(calendar, pl.col("_a")), _days=days, _reached=reached)
            .filter(in_range(first, last))
            .group_by(QUARTER, *cols)
            .agg(
                pl.len().cast(pl.Int64).alias("entered"),
                pl.col("_reached").sum().cast(pl.Int64).alias("reached"),
                quantile(pl.col("_days").filter(pl.col("_reached")), 0.5).alias("median_days"),
            )
            for step in steps
        ],
        _STEP,
    )
    if window is None:
        # conversions known at the as-of instant (the input is normally cut there already)
        known = pl.col("_b") <= pl.lit(cutoff, _UTC)
        typical = _numbered(
            [
                step.filter(known).select(quantile(days, MATURITY_QUANTILE).alias("maturity_days"))
                for step in steps
            ],
            _STEP,
        )
    else:
        typical = _pair_names(chosen).select(
            _STEP, pl.lit(window, pl.Float64).alias("maturity_days")
        )
    a, b = FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    ends = pl.LazyFrame(
        {
            QUARTER: list(range(a, b + 1)),
            "_end": [
                calendar.quarter_end_instant(FiscalCalendar.quarter_from_index(i))
                for i in range(a, b + 1)
            ],
        },
        schema={QUARTER: pl.Int32, "_end": pl.Datetime("us", "UTC")},
    )
    age_days = days_between(pl.col("_end"), pl.lit(cutoff, pl.Datetime("us", "UTC")))
    return (
        _pair_grid(first, last, leads, cols, chosen)
        .join(cohorts, on=[QUARTER, _STEP, *cols], how="left", nulls_equal=True)
        .join(typical, on=_STEP, how="left")
        .join(ends, on=QUARTER, how="left")
        .with_columns(
            pl.col("entered").fill_null(0),
            pl.col("reached").fill_null(0),
            mode=pl.lit(mode),
            mature=age_days >= pl.col("maturity_days").fill_null(0.0),
        )
        .with_columns(conversion=rate("reached", "entered"))
        .pipe(with_label)
        .select(
            QUARTER,
            "fiscal_quarter",
            _STEP,
            "from_stage",
            "to_stage",
            *cols,
            "mode",
            "entered",
            "reached",
            "conversion",
            "median_days",
            "maturity_days",
            "mature",
        )
        .sort(QUARTER, _STEP, *cols)
    )


# -- period mode --------------------------------------------------------------------------------
def funnel_period(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
    mode: FunnelMode = "any",
    stages: Sequence[str] = FUNNEL_STAGES,
) -> pl.LazyFrame:
    """Funnel flows, period mode: how many leads entered each stage in each quarter.

    **Grain**: one row per fiscal quarter (``first`` to ``last``), stage of
    ``stages`` (``stage_order`` 0-5 with all six: inquiry, mql, sal, sql,
    opportunity, won; numbered in the order of ``stages`` when it skips some)
    and ``by`` keys, zeros included.

    **Columns**: ``entering`` (Int64) leads whose stage timestamp falls in the
    quarter; ``previous_stage`` and ``flow_ratio`` = entering this stage /
    entering the previous stage **in the same quarter** (Float64; null for
    ``inquiry`` and when the previous stage had no entries).

    ``flow_ratio`` is a **ratio of flows, not a conversion rate**: its
    numerator and denominator are different leads (this quarter's SALs mostly
    became MQLs last quarter), so it can exceed 1. For "of those who entered
    A, how many reached B" use :func:`funnel_cohort`.
    """
    check_quarters(first, last)
    _check_mode(mode)
    cols = check_by(by, leads)
    chosen = check_stages(stages)
    timeline = _timeline(leads, opportunities, cols, mode, chosen) if mode == "in_order" else None
    entries = _numbered(
        [
            _entries(leads, opportunities, cols, mode, chosen, timeline, (stage,))
            .with_columns(quarter_of(calendar, pl.col("_a")))
            .filter(in_range(first, last))
            .group_by(QUARTER, *cols)
            .agg(pl.len().cast(pl.Int64).alias("entering"))
            for stage in chosen
        ],
        _ORDER,
        start=0,
    )
    names = pl.LazyFrame(
        {
            _ORDER: list(range(len(chosen))),
            "stage": list(chosen),
            "previous_stage": [None, *chosen[:-1]],
        },
        schema={_ORDER: pl.Int32, "stage": pl.String, "previous_stage": pl.String},
    )
    previous = pl.col("entering").shift(1).over([QUARTER, *cols], order_by=_ORDER)
    return (
        key_grid(quarter_grid(first, last).join(names, how="cross"), leads, cols)
        .join(entries, on=[QUARTER, _ORDER, *cols], how="left", nulls_equal=True)
        .with_columns(pl.col("entering").fill_null(0), mode=pl.lit(mode))
        .with_columns(_previous=previous)
        .with_columns(flow_ratio=rate("entering", "_previous"))
        .pipe(with_label)
        .select(
            QUARTER,
            "fiscal_quarter",
            _ORDER,
            "stage",
            *cols,
            "mode",
            "entering",
            "previous_stage",
            "flow_ratio",
        )
        .sort(QUARTER, _ORDER, *cols)
    )


# -- time between stages ------------------------------------------------------------------------
def stage_durations(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    first: FiscalQuarter,
    last: FiscalQuarter,
    by: Sequence[str] = (),
    mode: FunnelMode = "any",
    stages: Sequence[str] = FUNNEL_STAGES,
) -> pl.LazyFrame:
    """Days between adjacent stages (of ``stages``), for leads that reached both.

    **Grain**: one row per fiscal quarter in which stage B was reached
    (``first`` to ``last``), adjacent stage pair (``step`` 1-5 with all six
    stages, ``from_stage`` -> ``to_stage``) and ``by`` keys, zeros included.

    **Columns**: ``records`` (Int64) leads that reached B in the quarter and
    had reached A; ``median_days`` and ``p90_days`` (Float64 days, linear
    interpolation; null without records). In ``mode="any"`` a lead whose B
    timestamp precedes A's (out-of-order CRM data) adds a negative duration;
    ``mode="in_order"`` leaves such leads out.
    """
    check_quarters(first, last)
    _check_mode(mode)
    cols = check_by(by, leads)
    chosen = check_stages(stages)
    days = days_between(pl.col("_a"), pl.col("_b"))
    steps = _steps(leads, opportunities, cols, mode, chosen) or [_no_steps(leads, cols)]
    measured = _numbered(
        [
            step.filter(pl.col("_b").is_not_null())
            .with_columns(quarter_of(calendar, pl.col("_b")), _days=days)
            .filter(in_range(first, last))
            .group_by(QUARTER, *cols)
            .agg(
                pl.len().cast(pl.Int64).alias("records"),
                quantile(pl.col("_days"), 0.5).alias("median_days"),
                quantile(pl.col("_days"), 0.9).alias("p90_days"),
            )
            for step in steps
        ],
        _STEP,
    )
    return (
        _pair_grid(first, last, leads, cols, chosen)
        .join(measured, on=[QUARTER, _STEP, *cols], how="left", nulls_equal=True)
        .with_columns(pl.col("records").fill_null(0), mode=pl.lit(mode))
        .pipe(with_label)
        .select(
            QUARTER,
            "fiscal_quarter",
            _STEP,
            "from_stage",
            "to_stage",
            *cols,
            "mode",
            "records",
            "median_days",
            "p90_days",
        )
        .sort(QUARTER, _STEP, *cols)
    )
