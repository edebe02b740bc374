"""Fiscal calendar: which fiscal quarter an instant belongs to.

A fiscal year starts on the first day of ``start_month`` and is named after
the calendar year in which it **ends** (start month 2: FY2027 runs from
2026-02-01 to 2027-01-31; start month 1: FY2026 is calendar 2026). Quarter
boundaries are local midnight in the calendar's time zone, so a deal closed
at 23:30 on 30 September in New York belongs to Q3 even though it is already
October in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import TypedDict

import polars as pl

from alignment_lib.exceptions import ParameterError

__all__ = ["FiscalCalendar", "FiscalQuarter", "Span"]

_LABEL = re.compile(r"^FY(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class FiscalQuarter:
    """A fiscal quarter, e.g. ``FiscalQuarter(2026, 3)`` labelled FY2026-Q3."""

    year: int
    quarter: int

    @property
    def label(self) -> str:
        return f"FY{self.year}-Q{self.quarter}"

    def __str__(self) -> str:
        return self.label

    def shift(self, quarters: int) -> FiscalQuarter:
        """The quarter ``quarters`` later (negative: earlier)."""
        index = self.year * 4 + (self.quarter - 1) + quarters
        return FiscalQuarter(index // 4, index % 4 + 1)

    @classmethod
    def parse(cls, label: str) -> FiscalQuarter:
        m = _LABEL.match(str(label).strip())
        if m is None:
            raise ParameterError(
                f"quarter {label!r} is not a fiscal quarter label; "
                "expected the form FY2026-Q3 (fiscal year, then quarter 1-4)"
            )
        return cls(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class FiscalCalendar:
    """Fiscal year start month plus the reporting time zone."""

    start_month: int = 1
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not isinstance(self.start_month, int) or not 1 <= self.start_month <= 12:
            raise ParameterError(
                f"fiscal year start month must be a whole number from 1 to 12, "
                f"got {self.start_month!r}"
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ParameterError(
                f"time zone {self.timezone!r} is not an IANA time zone name; "
                "use e.g. 'UTC', 'America/New_York' or 'Europe/Berlin'"
            ) from exc

    # -- pure Python ---------------------------------------------------------
    def quarter_of(self, day: dt.date) -> FiscalQuarter:
        """The fiscal quarter containing a local calendar date."""
        shifted = day.year * 12 + (day.month - 1) - (self.start_month - 1)
        start_year, offset = divmod(shifted, 12)
        year = start_year + (0 if self.start_month == 1 else 1)
        return FiscalQuarter(year, offset // 3 + 1)

    def quarter_start(self, q: FiscalQuarter) -> dt.date:
        """First local day of the quarter."""
        start_year = q.year - (0 if self.start_month == 1 else 1)
        index = start_year * 12 + (self.start_month - 1) + (q.quarter - 1) * 3
        return dt.date(index // 12, index % 12 + 1, 1)

    def quarter_end(self, q: FiscalQuarter) -> dt.date:
        """Last local day of the quarter."""
        return self.quarter_start(q.shift(1)) - dt.timedelta(days=1)

    def quarter_end_instant(self, q: FiscalQuarter) -> dt.datetime:
        """The last microsecond of the quarter, as an aware UTC datetime."""
        nxt = self.quarter_start(q.shift(1))
        local = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=zoneinfo.ZoneInfo(self.timezone))
        return (local - dt.timedelta(microseconds=1)).astimezone(dt.UTC)

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The calendar date of an aware instant in the calendar's time zone."""
        return instant.astimezone(zoneinfo.ZoneInfo(self.timezone)).date()

    # -- polars expressions --------------------------------------------------
    def local_date_expr(self, instant: pl.Expr) -> pl.Expr:
        """Local calendar date of a UTC timestamp expression (dates pass through)."""
        return instant.dt.convert_time_zone(self.timezone).dt.date()

    def quarter_index_expr(self, day: pl.Expr) -> pl.Expr:
        """Fiscal quarter as one integer (year * 4 + quarter - 1) of a Date expression.

        Integers sort and subtract correctly: the lag between two quarters is the
        difference of their indexes.
        """
        shifted = (
            day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - self.start_month
        )
        start_year = shifted // 12
        year = start_year + (0 if self.start_month == 1 else 1)
        return year * 4 + (shifted % 12) // 3

    @staticmethod
    def quarter_label_expr(index: pl.Expr) -> pl.Expr:
        """Label (FY2026-Q3) of a quarter-index expression."""
        return pl.format("FY{}-Q{}", index // 4, index % 4 + 1)

    @staticmethod
    def quarter_index(q: FiscalQuarter) -> int:
        return q.year * 4 + q.quarter - 1

    @staticmethod
    def quarter_from_index(index: int) -> FiscalQuarter:
        return FiscalQuarter(index // 4, index % 4 + 1)


class Span(TypedDict):
    """The quarters a page shows, as the keyword arguments every quarter-ranged
    metric function takes (``bookings(opportunities, **span)``): the fiscal
    ``calendar`` and the ``first`` and ``last`` quarter, both included."""

    calendar: FiscalCalendar
    first: FiscalQuarter
    last: FiscalQuarter
