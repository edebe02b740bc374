"""Pieces the coverage, forecast, backtest and pipeline-needed modules share.

Parameter checks, where "now" is (the current quarter and its elapsed share),
quarter starts, the open deals and bookings at a cutoff, the shared bookings target.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

import polars as pl

from alignment_lib.asof import uncut_rows
from alignment_lib.exceptions import ParameterError
from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics._quarters import LABEL, QUARTER, quarter_of
from alignment_lib.metrics._sums import money_sum, stable_sum

_US = dt.timedelta(microseconds=1)
_TARGET_QUARTER = "target_quarter_index"
_TARGET_LABEL = "target_fiscal_quarter"


# -- parameter checks and shared pieces -------------------------------------------------------
def _whole(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value


def _quarter_index(quarter: object) -> int:
    if not isinstance(quarter, FiscalQuarter):
        raise ParameterError(
            f"quarter must be a FiscalQuarter, e.g. FiscalQuarter.parse('FY2026-Q4'), "
            f"got {quarter!r}"
        )
    return FiscalCalendar.quarter_index(quarter)


def _stages(exclude_stages: Sequence[str] | str) -> list[str]:
    names = [exclude_stages] if isinstance(exclude_stages, str) else list(exclude_stages)
    if not all(isinstance(n, str) for n in names):
        raise ParameterError(f"exclude_stages must be stage names, got {exclude_stages!r}")
    return names


def _now(calendar: FiscalCalendar, as_of: dt.datetime) -> tuple[int, float]:
    """The current quarter's index (holding the first instant after as_of) and its elapsed share.

    Elapsed share = (as_of - quarter start) / (next quarter start - quarter
    start), clipped to 0..1, with quarter starts at local midnight in the
    calendar's zone: 0 at the previous quarter's last microsecond, 0.5 halfway
    through (time, not days, so a daylight-saving change shifts it by an hour).
    """
    current = calendar.quarter_of(calendar.local_date(as_of + _US))
    begin, end = _start_of(calendar, current), _start_of(calendar, current.shift(1))
    elapsed = min(max((as_of - begin) / (end - begin), 0.0), 1.0)
    return FiscalCalendar.quarter_index(current), float(elapsed)


def _start_of(calendar: FiscalCalendar, quarter: FiscalQuarter) -> dt.datetime:
    """A quarter's first instant: local midnight of its first day, in UTC."""
    day = calendar.quarter_start(quarter)
    zone = zoneinfo.ZoneInfo(calendar.timezone)
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)


def _index_frame(name: str, values: Sequence[int]) -> pl.LazyFrame:
    return pl.LazyFrame({name: list(values)}, schema={name: pl.Int32})


def _open_at(opportunities: pl.LazyFrame, cut: pl.Expr) -> pl.LazyFrame:
    """Opportunities open at the cutoff: created by it and not closed by it.

    A deal without a creation date (not tracked: docs/data-model.md, "Partial
    exports") counts as created: the inputs are already seen as of the report
    instant, which keeps only the deals known then.
    """
    return opportunities.filter(
        pl.col("created_at").is_null() | (pl.col("created_at") <= cut),
        pl.col("closed_at").is_null() | (pl.col("closed_at") > cut),
    )


def _expected_quarter(calendar: FiscalCalendar) -> pl.Expr:
    """Fiscal quarter of the (local, calendar) expected close date."""
    return calendar.quarter_index_expr(pl.col("expected_close_date")).cast(pl.Int32).alias(QUARTER)


def _booked(opportunities: pl.LazyFrame, calendar: FiscalCalendar, cut: pl.Expr) -> pl.LazyFrame:
    """Won amount by fiscal quarter of close, closes on or before the cutoff only."""
    return (
        opportunities.filter(pl.col("outcome") == "won", pl.col("closed_at") <= cut)
        .with_columns(quarter_of(calendar, pl.col("closed_at")).cast(pl.Int32))
        .group_by(QUARTER)
        .agg(money_sum(pl.col("amount")).alias("_booked"))
    )


def _bookings_targets(targets: pl.LazyFrame | None) -> pl.LazyFrame:
    """The shared bookings target of each quarter label (at most one per quarter)."""
    if targets is None:
        return pl.LazyFrame(schema={LABEL: pl.String, "target": pl.Float64})
    return targets.filter(pl.col("metric") == "bookings", pl.col("team") == "shared").select(
        pl.col("fiscal_quarter").alias(LABEL), pl.col("value").cast(pl.Float64).alias("target")
    )


def _sum_or_null(expr: pl.Expr, weights_known: pl.Expr) -> pl.Expr:
    """Sum of ``expr``; null as soon as one ``weights_known`` is false (a missing factor)."""
    return pl.when(weights_known.all()).then(stable_sum(expr))


def _share_of_quarter(elapsed: object) -> float:
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or not 0 <= elapsed < 1:
        raise ParameterError(
            f"elapsed must be a share of the quarter from 0 (its start) up to but not "
            f"including 1, got {elapsed!r}"
        )
    return float(elapsed)


def _window(window_days: int) -> int:
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days <= 0:
        raise ParameterError(
            f"window_days must be a whole number of days above 0, got {window_days!r}"
        )
    return window_days


def refuse_uncut(
    opportunities: pl.LazyFrame,
    stage_history: pl.LazyFrame | None,
    *,
    as_of: dt.datetime,
    function: str,
) -> None:
    """Raise :class:`ParameterError` when the tables hold events after ``as_of``.

    A function whose result depends on the tables being seen as they were at
    ``as_of`` (an open deal's stage, amount and expected close date then) cannot
    rebuild them from uncut tables: it would silently give another number.
    Reads the tables once (three counts).
    """
    counts = uncut_rows(opportunities, stage_history, as_of=as_of).collect().row(0, named=True)
    found = [
        f"{n} {what}"
        for n, what in (
            (counts["created_later"], "opportunities created later"),
            (counts["closed_later"], "opportunities closed later"),
            (counts["changed_later"], "stage history rows recorded later"),
        )
        if n
    ]
    if found:
        raise ParameterError(
            f"{function}: the tables are not cut at as_of {as_of.isoformat()}: they hold "
            f"{', '.join(found)}. Pass the tables as they were at as_of: "
            f"data.at(as_of).opportunities and data.at(as_of).stage_history (FunnelData.at), "
            f"or alignment_lib.cut_at(leads, opportunities, stage_history, as_of=as_of)"
        )
