"""What every source shares: the raw table it hands out, its options, the read window."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import polars as pl

from alignment_lib.exceptions import ParameterError
from alignment_lib.schema import Table

__all__ = [
    "WINDOW_COLUMNS",
    "WINDOW_MARGIN",
    "Format",
    "QuerySource",
    "RawTable",
    "Source",
    "SourceOptions",
    "Window",
    "look_alikes",
    "window_filter",
]

#: how a raw table was stored: CSV columns arrive as text, the others keep their stored types
Format = Literal["csv", "parquet", "duckdb", "postgresql"]

#: the column that dates a table's rows for a :class:`Window` (targets are never cut)
WINDOW_COLUMNS: dict[str, str] = {
    "leads": "created_at",
    "opportunities": "created_at",
    "stage_history": "changed_at",
}
#: rows dated up to this much past ``Window.until`` (before ``since``) are still read: a
#: timestamp stored without a zone may be up to 14 hours off UTC, and the as-of cut
#: (FunnelData.at) then hides the extra rows exactly
WINDOW_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class RawTable:
    """One table as stored: a lazy scan, its columns, and where it came from.

    CSV columns arrive as strings (types are parsed and checked by
    :mod:`alignment_lib.validate`); Parquet and database columns keep their
    stored types. ``location`` names the table in messages (a file path, or
    ``<data location>/<table>`` for a database): it never holds a credential.
    """

    name: str
    location: str
    format: Format
    frame: pl.LazyFrame
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SourceOptions:
    """What a source says about its data beyond the tables (a mapping file sets these).

    ``timezone``: the zone naive timestamps are read in (None: the calendar's);
    ``currency``: ISO 4217 code of every amount; ``dimensions``: extra columns
    to keep; ``date_format`` / ``datetime_format``: strftime formats the export
    uses (None: ISO 8601); ``day_first``: ambiguous dates like 03/04/2026 are
    read as 3 April.
    """

    timezone: str | None = None
    currency: str = "USD"
    dimensions: tuple[str, ...] = ()
    date_format: str | None = None
    datetime_format: str | None = None
    day_first: bool = False


@dataclass(frozen=True)
class Window:
    """What a report needs from a source: rows dated up to ``until`` (aware UTC).

    ``since`` (aware UTC, or None for all history) bounds the dates from below.
    A row is dated by its table's :data:`WINDOW_COLUMNS` column; a row without
    that date is always read (validation then says what is wrong with it).
    :func:`alignment_lib.load.load_funnel` cuts every source's rows to the
    window (``until`` + :data:`WINDOW_MARGIN`) itself, so a source may ignore a
    window: only the cost changes, never the rows. Sources that can push it
    down (a partitioned Parquet dataset, DuckDB, PostgreSQL) read only a day
    or two more than that: :meth:`pushed` gives the dates they compare with.
    """

    until: dt.datetime | None = None
    since: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("until", "since"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ParameterError(
                    f"Window.{name} must be an aware datetime (UTC), got {value!r}; fix: give "
                    "it a time zone, e.g. datetime(2026, 9, 30, tzinfo=datetime.UTC)"
                )

    @property
    def last(self) -> dt.datetime | None:
        """The latest instant (UTC) a row may be dated and still be read exactly."""
        return None if self.until is None else (self.until + WINDOW_MARGIN).astimezone(dt.UTC)

    @property
    def first(self) -> dt.datetime | None:
        """The earliest instant (UTC) a row may be dated and still be read exactly."""
        return None if self.since is None else (self.since - WINDOW_MARGIN).astimezone(dt.UTC)

    def pushed(self) -> tuple[dt.date | None, dt.date | None]:
        """``(low, high)``: what a source keeps is ``low <= date < high`` (either may be None).

        A day wider than :attr:`first` / :attr:`last` on each side, so that
        comparing a stored timestamp with a date (in a database's session time
        zone, or a timestamp stored as local time) can never drop a row the
        exact cut keeps.
        """
        high = None if self.last is None else self.last.date() + dt.timedelta(days=2)
        low = None if self.first is None else self.first.date() - dt.timedelta(days=1)
        return low, high


def window_filter(frame: pl.LazyFrame, column: str, window: Window | None) -> pl.LazyFrame:
    """``frame`` without the rows whose ``column`` lies outside the pushed window.

    Only a date or datetime column is compared (text dates are parsed by
    validation, and a text comparison would silently drop rows written in
    another format): for any other dtype, or without a window, ``frame`` is
    returned as it is. Applied to a lazy Parquet scan, polars pushes the
    predicate into the reader (row groups and hive partitions outside it are
    skipped).
    """
    if window is None or (window.until is None and window.since is None):
        return frame
    dtype = frame.collect_schema().get(column)
    if dtype is None or not dtype.is_temporal() or dtype == pl.Time or dtype == pl.Duration:
        return frame
    low, high = window.pushed()
    col = pl.col(column)
    keep = pl.lit(True)
    for bound, op in ((high, "lt"), (low, "ge")):
        if bound is None:
            continue
        value: dt.date | dt.datetime = bound
        if isinstance(dtype, pl.Datetime):
            value = dt.datetime.combine(bound, dt.time())
            if dtype.time_zone is not None:
                value = value.replace(tzinfo=dt.UTC)
        literal = pl.lit(value, dtype=dtype)
        keep = keep & (col < literal if op == "lt" else col >= literal)
    return frame.filter(col.is_null() | keep)


class Source(Protocol):
    """Anything that can hand out the canonical tables as raw lazy scans.

    ``description`` is the data location shown on pages and in messages: it
    never holds a credential or an absolute local path.
    """

    description: str

    @property
    def options(self) -> SourceOptions:
        """How to read the values (time zone, formats, currency, dimensions)."""
        ...

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None:
        """The table, or ``None`` when the source does not have it."""
        ...


@runtime_checkable
@runtime_checkable
class QuerySource(Protocol):
    """A database source (DuckDB file, PostgreSQL): it also runs SQL in its own dialect."""

    description: str

    @property
    def options(self) -> SourceOptions: ...

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None: ...

    def scan_query(
        self,
        sql: str,
        *,
        name: str,
        window_column: str | None = None,
        window: Window | None = None,
    ) -> RawTable:
        """The rows of ``sql`` as a raw table named ``name`` (the name used in messages).

        With ``window_column`` and ``window``, the window is pushed into the
        query when that column is a date or timestamp.
        """
        ...


def look_alikes(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates that look like a misspelling of ``name`` (case, plural, a typo).

    ``lead``, ``Leads``, ``LEADS``, ``stage-history`` and ``opportunity`` look
    like ``leads``, ``stage_history`` and ``opportunities``; ``leads_2025`` or
    ``deals`` do not. ``name`` itself is never returned.
    """

    def norm(text: str) -> str:
        return text.casefold().replace("-", "_").replace(" ", "_")

    wanted = norm(name)
    found = []
    for candidate in candidates:
        if candidate == name:
            continue
        got = norm(candidate)
        if got == wanted or difflib.SequenceMatcher(None, got, wanted).ratio() >= 0.85:
            found.append(candidate)
    return sorted(found)
