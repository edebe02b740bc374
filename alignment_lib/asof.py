"""The as-of cut as a pure function of the tables: the data as it was known at an instant.

``FunnelData.at`` is this cut applied to a loaded dataset (plus parsing the
as-of and keeping the dimension columns); the forecast backtest applies it to
the tables at each past forecast date, and ``uncut_rows`` is how the forecast
refuses tables that still hold later events. Definitions: ``docs/data-model.md``
(as-of) and ``docs/metrics/forecast.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import polars as pl

from alignment_lib.exceptions import ParameterError

__all__ = ["CutTables", "cut_at", "cut_opportunities", "uncut_rows"]

_EVENTS = ("mql_at", "accepted_at", "rejected_at", "first_touch_at", "sql_at")


class CutTables(NamedTuple):
    """Leads, opportunities and stage history as known at one instant (lazy)."""

    leads: pl.LazyFrame
    opportunities: pl.LazyFrame
    stage_history: pl.LazyFrame


def _cutoff(as_of: object) -> pl.Expr:
    if not isinstance(as_of, dt.datetime) or as_of.tzinfo is None:
        raise ParameterError(
            f"as_of must be a time-zone aware datetime, got {as_of!r}; use e.g. "
            "alignment_lib.parse_as_of('2026-09-30', calendar)"
        )
    return pl.lit(as_of.astimezone(dt.UTC), dtype=pl.Datetime("us", "UTC"))


def cut_opportunities(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    as_of: dt.datetime,
    has_stage_history: bool = True,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Opportunities and stage history as known at ``as_of`` (an aware instant).

    Stage history keeps the changes recorded at or before ``as_of``. A deal
    created later disappears (one without a creation date is known from its
    first close or stage change at or before ``as_of``, or, with neither, taken
    as known). A deal closed later is open again: ``closed_at``, ``outcome``
    and ``lost_reason`` are blanked and, with stage history, its stage, amount
    and expected close date are the last ones recorded by ``as_of`` (stage
    ``Open`` when nothing was recorded by then); without stage history
    (``has_stage_history=False``) such a deal shows stage ``Open``. Columns and
    their order are kept. Lazy; no row is read here.
    """
    c = _cutoff(as_of)
    history = stage_history.filter(pl.col("changed_at") <= c)
    first_seen = pl.coalesce(
        pl.col("created_at"),
        pl.min_horizontal(pl.col("closed_at"), pl.col("_first_change")),
    )
    changes = history.group_by("opportunity_id").agg(
        pl.col("changed_at").min().alias("_first_change")
    )
    opps = (
        opportunities.join(changes, on="opportunity_id", how="left")
        .filter(first_seen.is_null() | (first_seen <= c))
        .drop("_first_change")
    )
    closed_later = pl.col("closed_at") > c
    # a null closed_at makes closed_later null, so "open then" is spelled out
    open_then = pl.col("closed_at").is_null() | closed_later
    if has_stage_history:
        last = (
            history.sort("changed_at")
            .group_by("opportunity_id")
            .agg(
                pl.col("stage").last().alias("_stage"),
                pl.col("amount").last().alias("_amount"),
                pl.col("expected_close_date").last().alias("_ecd"),
            )
        )
        recorded = open_then & pl.col("_stage").is_not_null()
        opps = (
            opps.join(last, on="opportunity_id", how="left")
            .with_columns(
                pl.when(recorded)
                .then(pl.col("_stage"))
                .when(closed_later)
                .then(pl.lit("Open"))
                .otherwise(pl.col("stage"))
                .alias("stage"),
                pl.when(recorded)
                .then(pl.col("_amount"))
                .otherwise(pl.col("amount"))
                .alias("amount"),
                pl.when(recorded)
                .then(pl.col("_ecd"))
                .otherwise(pl.col("expected_close_date"))
                .alias("expected_close_date"),
            )
            .drop("_stage", "_amount", "_ecd")
        )
    else:
        opps = opps.with_columns(
            pl.when(closed_later).then(pl.lit("Open")).otherwise(pl.col("stage")).alias("stage")
        )
    opps = opps.with_columns(
        pl.when(closed_later).then(None).otherwise(pl.col(n)).alias(n)
        for n in ("closed_at", "outcome", "lost_reason")
    )
    return opps, history


def cut_at(
    leads: pl.LazyFrame,
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame,
    *,
    as_of: dt.datetime,
    has_stage_history: bool = True,
) -> CutTables:
    """The three event tables as known at ``as_of`` (an aware instant), lazily.

    Opportunities and stage history as :func:`cut_opportunities` cuts them.
    Leads created later disappear; their handoff events (``mql_at``,
    ``accepted_at``, ``rejected_at``, ``first_touch_at``, ``sql_at``) after
    ``as_of`` are blanked, a rejection reason without a rejection is blanked,
    and an ``opportunity_id`` pointing at a deal not yet known is blanked.
    Columns and their order are kept (targets are not events: they need no cut).
    """
    opps, history = cut_opportunities(
        opportunities, stage_history, as_of=as_of, has_stage_history=has_stage_history
    )
    c = _cutoff(as_of)
    leads = (
        leads.filter(pl.col("created_at") <= c)
        .with_columns(
            pl.when(pl.col(n) > c).then(None).otherwise(pl.col(n)).alias(n) for n in _EVENTS
        )
        .with_columns(
            pl.when(pl.col("rejected_at").is_null())
            .then(None)
            .otherwise(pl.col("rejection_reason"))
            .alias("rejection_reason"),
        )
        .join(opps.select("opportunity_id", _seen=pl.lit(True)), on="opportunity_id", how="left")
        .with_columns(
            pl.when(pl.col("_seen")).then(pl.col("opportunity_id")).alias("opportunity_id")
        )
        .drop("_seen")
    )
    return CutTables(leads=leads, opportunities=opps, stage_history=history)


def uncut_rows(
    opportunities: pl.LazyFrame, stage_history: pl.LazyFrame | None, *, as_of: dt.datetime
) -> pl.LazyFrame:
    """What in the tables happened after ``as_of``: one row, three counts (Int64).

    ``created_later`` (opportunities created after ``as_of``), ``closed_later``
    (closed after it), ``changed_later`` (stage history rows recorded after it;
    0 without a stage history table). All three are 0 for tables cut at
    ``as_of`` (:func:`cut_at`, ``FunnelData.at``); a function whose result
    depends on the cut refuses tables where one is not.
    """
    c = _cutoff(as_of)
    counts = opportunities.select(
        (pl.col("created_at") > c).sum().cast(pl.Int64).alias("created_later"),
        (pl.col("closed_at") > c).sum().cast(pl.Int64).alias("closed_later"),
    )
    if stage_history is None:
        return counts.with_columns(pl.lit(0, dtype=pl.Int64).alias("changed_later"))
    changed = stage_history.select(
        (pl.col("changed_at") > c).sum().cast(pl.Int64).alias("changed_later")
    )
    return counts.join(changed, how="cross")
