"""Win probabilities calibrated on history: ever won by stage, and won within the quarter.

Definitions: docs/metrics/forecast.md ("Stage win probabilities", "In-quarter win
probabilities").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.metrics._quarters import QUARTER, quarter_of
from alignment_lib.metrics._sums import money_sum
from alignment_lib.metrics.deals import (
    _closed_in_window,
    _instant,
    _ratio,
)
from alignment_lib.metrics.forecast._common import (
    _US,
    _now,
    _share_of_quarter,
    _start_of,
    _whole,
)
from alignment_lib.schema import TIMESTAMP

__all__ = ["in_quarter_win_probabilities", "stage_win_probabilities"]


# -- stage win probabilities --------------------------------------------------------------------
def stage_win_probabilities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    as_of: dt.datetime,
    window_days: int = 730,
) -> pl.LazyFrame:
    """Win probability of a deal by the stages it went through, calibrated on closed deals.

    The deals are those closed (won or lost) in the trailing window ``(as_of -
    window_days, as_of]`` (elapsed days, as in
    :func:`~alignment_lib.metrics.deals.closed_deal_stats`). A deal *was in stage
    S* when ``stage_history`` has a row with stage S recorded strictly before
    its ``closed_at`` (the change at or after the close is the closing itself,
    e.g. "Closed Won"); each deal counts once per stage however often it entered
    it. Deals without stage history are in no stage.

    Grain: one row per stage seen, sorted by stage. Columns: ``stage``,
    ``deals`` (closed deals that were in the stage, Int64), ``won`` (of those,
    won, Int64), ``amount`` and ``won_amount`` (their final amounts, a missing
    amount adds 0; currency), ``p_win_count`` = won / deals and
    ``p_win_amount`` = won_amount / amount (0-1; null when the denominator is 0).

    Built from the history with joins and group-bys only; no CRM default
    probability is read.
    """
    as_of = _instant(as_of)
    closed = _closed_in_window(opportunities, as_of, window_days).select(
        "opportunity_id",
        "closed_at",
        (pl.col("outcome") == "won").alias("_won"),
        pl.col("amount").fill_null(0.0).alias("_amount"),
    )
    visits = (
        stage_history.select("opportunity_id", "changed_at", "stage")
        .join(closed.select("opportunity_id", "closed_at"), on="opportunity_id", how="inner")
        .filter(pl.col("changed_at") < pl.col("closed_at"))
        .select("opportunity_id", "stage")
        .unique()
        .join(closed.select("opportunity_id", "_won", "_amount"), on="opportunity_id")
    )
    return (
        visits.group_by("stage")
        .agg(
            pl.len().cast(pl.Int64).alias("deals"),
            pl.col("_won").sum().cast(pl.Int64).alias("won"),
            money_sum(pl.col("_amount")).alias("amount"),
            money_sum(pl.col("_amount").filter(pl.col("_won"))).alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won"), pl.col("deals")).alias("p_win_count"),
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("p_win_amount"),
        )
        .select("stage", "deals", "won", "amount", "won_amount", "p_win_count", "p_win_amount")
        .sort("stage")
    )


# -- in-quarter win probabilities ---------------------------------------------------------------
def _snapshots(calendar: FiscalCalendar, lo: int, hi: int, points: Sequence[float]) -> pl.LazyFrame:
    """Quarters lo..hi, each seen at every point: the instant seen at, the next quarter's start.

    The snapshot ``_cut`` is the last instant seen, ``point`` of the way through
    the quarter: start + point x (next start - start) - 1 us, so at point 0 the
    previous quarter's last microsecond (``FunnelData.at`` of the previous
    quarter's end). ``_snap`` says whether the point is past the start (> 0).
    Built in Python for a handful of quarters (zoneinfo gets daylight saving
    right); the data is only ever joined against it.
    """
    rows: dict[str, list[Any]] = {QUARTER: [], "_snap": [], "_cut": [], "_next_at": []}
    for index in range(lo, hi + 1):
        quarter = FiscalCalendar.quarter_from_index(index)
        start, end = _start_of(calendar, quarter), _start_of(calendar, quarter.shift(1))
        for point in points:
            rows[QUARTER].append(index)
            rows["_snap"].append(point > 0)
            rows["_cut"].append(start + (end - start) * point - _US)
            rows["_next_at"].append(end)
    return pl.LazyFrame(
        rows,
        schema={QUARTER: pl.Int32, "_snap": pl.Boolean, "_cut": TIMESTAMP, "_next_at": TIMESTAMP},
    )


def _at_snapshots(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    calendar: FiscalCalendar,
    lo: int,
    hi: int,
    points: Sequence[float] = (0.0,),
    grid: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Each deal open at a snapshot of the quarters lo..hi, as ``stage_history`` had it then.

    The snapshots of quarter Q are its instants ``points`` of the way through
    (:func:`_snapshots`; at 0 its start, seen at the previous quarter's last
    microsecond). One row per (deal, Q, snapshot) for the deals created by the snapshot
    (without a creation date: recorded in the history by then) and not closed by it (at 0:
    created before Q, not closed before it, as
    :func:`~alignment_lib.metrics.cycles.slipped_deals` counts them), with the
    last stage_history row recorded by then (what ``FunnelData.at`` shows):
    ``stage``, ``_amount`` (recorded then, a missing one adds 0),
    ``_expected_q`` (quarter of the expected close date recorded then; null
    without one), ``_won`` = won with ``closed_at`` before Q ended and ``_won_q``
    (the quarter a won deal closed in; null otherwise). A deal
    without a history row by then is dropped: its state then is unknown.
    ``_created_q`` (quarter of creation) and ``_table_amount`` (the amount in
    ``opportunities``) come along for callers that need them. ``grid`` replaces
    the snapshots of :func:`_snapshots` (same columns: one ``_cut`` per quarter).
    """
    history = stage_history.select(
        "opportunity_id",
        pl.col("changed_at").alias("_changed_at"),
        "stage",
        pl.col("amount").alias("_amount"),
        pl.col("expected_close_date").alias("_ecd"),
    ).sort("_changed_at")
    created_q = quarter_of(calendar, pl.col("created_at"))
    closed_q = quarter_of(calendar, pl.col("closed_at"))
    cut = pl.col("_cut")
    return (
        opportunities.select(
            "opportunity_id",
            "created_at",
            "closed_at",
            "outcome",
            pl.col("amount").alias("_table_amount"),
        )
        # a deal can only be open at a snapshot of the quarters from its creation to its close:
        # one row per such (deal, Q) of lo..hi, then the exact test against the snapshot
        .with_columns(
            pl.max_horizontal(created_q, pl.lit(lo)).alias("_from"),
            pl.min_horizontal(closed_q.fill_null(hi), pl.lit(hi)).alias("_to"),
        )
        .filter(pl.col("_from") <= pl.col("_to"))
        .with_columns(pl.int_ranges("_from", pl.col("_to") + 1, dtype=pl.Int32).alias(QUARTER))
        .explode(QUARTER)
        .join(
            _snapshots(calendar, lo, hi, points) if grid is None else grid, on=QUARTER, how="inner"
        )
        .filter(
            # without a creation date (not tracked) a deal is known from its first history
            # row, as FunnelData.at has it: the join below keeps it only if one is by the cut
            pl.col("created_at").is_null() | (pl.col("created_at") <= cut),
            pl.col("closed_at").is_null() | (pl.col("closed_at") > cut),
        )
        .sort("_cut")
        .join_asof(
            history,
            left_on="_cut",
            right_on="_changed_at",
            by="opportunity_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("_changed_at").is_not_null())
        .select(
            "opportunity_id",
            QUARTER,
            "_snap",
            "stage",
            pl.col("_amount").fill_null(0.0),
            calendar.quarter_index_expr(pl.col("_ecd")).cast(pl.Int32).alias("_expected_q"),
            ((pl.col("outcome") == "won") & (pl.col("closed_at") < pl.col("_next_at")))
            .fill_null(False)
            .alias("_won"),
            pl.when(pl.col("outcome") == "won")
            .then(quarter_of(calendar, pl.col("closed_at")))
            .cast(pl.Int32)
            .alias("_won_q"),
            created_q.cast(pl.Int32).alias("_created_q"),
            "_table_amount",
        )
    )


def _calibration_range(
    calendar: FiscalCalendar, as_of: dt.datetime, quarters: int
) -> tuple[int, int]:
    """The ``quarters`` complete quarters before the one current at ``as_of``."""
    current, _ = _now(calendar, as_of)
    return current - quarters, current - 1


def in_quarter_win_probabilities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    calendar: FiscalCalendar,
    as_of: dt.datetime,
    quarters: int = 8,
    overdue: bool = False,
    elapsed: float = 0.0,
) -> pl.LazyFrame:
    """By stage, the chance a deal expected in a quarter at its start is won **within** it.

    Calibrated on the ``quarters`` complete quarters before the quarter current
    at ``as_of``. For each such quarter Q: the deals open at Q's first instant
    (created before it, not closed before it) whose expected close date **as
    recorded in stage_history then** (the last change strictly before Q began)
    falls inside Q, grouped by their stage at that instant. A deal counts once
    per quarter it was expected in at the start (a deal that slipped through
    two quarters counts in both); one without a history row before Q is not
    counted. Pooled over the quarters (summed counts and amounts):

    Grain: one row per stage seen, sorted by stage. Columns: ``stage``,
    ``deals`` ((deal, quarter) pairs, Int64), ``won_in_quarter`` (of those, won
    with ``closed_at`` inside that quarter, Int64), ``amount`` and
    ``won_amount`` (the amounts recorded at the quarter's start; a missing one
    adds 0; currency), ``p_in_quarter_count`` = won_in_quarter / deals and
    ``p_in_quarter_amount`` = won_amount / amount (0-1, null when the
    denominator is 0).

    Unlike :func:`stage_win_probabilities` ("ever won, having ever been in S")
    this is the rate the forecast of a quarter needs: deals that sit in an
    early stage at a snapshot, and deals that slip past the quarter, count
    against it. Joins only (a grid of ``quarters`` quarters); only events up to
    ``as_of`` are used (every calibration quarter ends by it).

    ``overdue=True`` calibrates the same rates on the deals *overdue* at each
    quarter's start instead: open, with an expected close date recorded before
    the quarter began (the deals nobody has moved yet). :func:`bookings_forecast`
    weighs the current quarter's overdue deals with these.

    ``elapsed`` (0 <= elapsed < 1) moves the snapshot from each quarter's first
    instant to the point where that share of it has elapsed (the deals open
    then, their state recorded then, won in the rest of the quarter):
    :func:`bookings_forecast` calibrates the current quarter at the share of it
    elapsed at ``as_of``, since the deals still open halfway through a quarter
    are not the ones open at its start.
    """
    quarters = _whole("quarters", quarters)
    if not isinstance(overdue, bool):
        raise ParameterError(f"overdue must be True or False, got {overdue!r}")
    elapsed = _share_of_quarter(elapsed)
    lo, hi = _calibration_range(calendar, _instant(as_of), quarters)
    expected, quarter = pl.col("_expected_q"), pl.col(QUARTER)
    return _in_quarter_rates(
        _at_snapshots(opportunities, stage_history, calendar, lo, hi, [elapsed]).filter(
            expected < quarter if overdue else expected == quarter
        )
    )


def _in_quarter_rates(rows: pl.LazyFrame, *keys: str) -> pl.LazyFrame:
    won = pl.col("_won")
    return (
        rows.group_by(*keys, "stage")
        .agg(
            pl.len().cast(pl.Int64).alias("deals"),
            won.sum().cast(pl.Int64).alias("won_in_quarter"),
            money_sum(pl.col("_amount")).alias("amount"),
            money_sum(pl.col("_amount").filter(won)).alias("won_amount"),
        )
        .with_columns(
            _ratio(pl.col("won_in_quarter"), pl.col("deals")).alias("p_in_quarter_count"),
            _ratio(pl.col("won_amount"), pl.col("amount")).alias("p_in_quarter_amount"),
        )
        .select(
            *keys,
            "stage",
            "deals",
            "won_in_quarter",
            "amount",
            "won_amount",
            "p_in_quarter_count",
            "p_in_quarter_amount",
        )
        .sort(*keys, "stage")
    )
