"""Shared helpers: quarter columns and complete quarter grids."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter

QUARTER = "quarter_index"
LABEL = "fiscal_quarter"


def quarter_of(calendar: FiscalCalendar, instant: pl.Expr) -> pl.Expr:
    """Fiscal quarter index of a UTC timestamp, in the calendar's time zone."""
    return calendar.quarter_index_expr(calendar.local_date_expr(instant)).alias(QUARTER)


def quarter_grid(
    first: FiscalQuarter, last: FiscalQuarter, *, keys: dict[str, Sequence[str]] | None = None
) -> pl.LazyFrame:
    """Every quarter from ``first`` to ``last`` (inclusive), crossed with each key's values.

    Results are joined onto this grid so that a quarter with no deals shows 0
    instead of disappearing from a chart.
    """
    a, b = FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    grid = pl.LazyFrame({QUARTER: list(range(a, b + 1))}, schema={QUARTER: pl.Int32})
    for name, values in (keys or {}).items():
        grid = grid.join(pl.LazyFrame({name: list(values)}, schema={name: pl.String}), how="cross")
    return grid


def with_label(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add the FY2026-Q3 label next to the quarter index."""
    return frame.with_columns(FiscalCalendar.quarter_label_expr(pl.col(QUARTER)).alias(LABEL))


def in_range(first: FiscalQuarter, last: FiscalQuarter) -> pl.Expr:
    return pl.col(QUARTER).is_between(
        FiscalCalendar.quarter_index(first), FiscalCalendar.quarter_index(last)
    )
