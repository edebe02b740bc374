"""What the database sources share: the SQL they run and what comes back.

A canonical table is read as ``SELECT * FROM "<table>"``, ordered by its key
(row numbers in messages then mean the same on every read), with the read
window as a ``WHERE`` clause on the table's date column. The window is pushed
only when that column is a date or timestamp in the database (a schema probe,
``LIMIT 0``, says which): a text column holding dates is read whole, because
comparing text with a date would silently drop rows written in another
format. A mapping's query runs as a sub-query with the same ``WHERE`` around
it. Results come back eagerly (one query per table per report); types a
driver cannot map (PostgreSQL ``numeric`` through ADBC) arrive as text, which
validation parses as it parses CSV.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.schema import TABLES, Table
from alignment_lib.sources._base import (
    WINDOW_COLUMNS,
    Format,
    RawTable,
    SourceOptions,
    Window,
    look_alikes,
)

__all__ = ["DatabaseSource", "quote_identifier", "window_sql"]


def quote_identifier(identifier: str) -> str:
    """A SQL identifier in double quotes (standard SQL; PostgreSQL and DuckDB)."""
    return '"' + identifier.replace('"', '""') + '"'


def window_sql(column: str, dtype: pl.DataType | None, window: Window | None) -> str:
    """The ``WHERE`` condition that pushes ``window`` into a query ('' when it cannot).

    ``dtype`` is the column's type as the schema probe returned it: only a
    date or datetime column is compared. Rows without a date are kept.
    Bounds are dates (:meth:`Window.pushed`), written as ``CAST('2026-10-03'
    AS DATE)``, which PostgreSQL and DuckDB compare with dates, timestamps
    and timestamps with time zone alike.
    """
    if window is None or dtype is None or not isinstance(dtype, (pl.Date, pl.Datetime)):
        return ""
    low, high = window.pushed()
    parts = []
    if high is not None:
        parts.append(f"{quote_identifier(column)} < CAST('{high.isoformat()}' AS DATE)")
    if low is not None:
        parts.append(f"{quote_identifier(column)} >= CAST('{low.isoformat()}' AS DATE)")
    if not parts:
        return ""
    return f"({quote_identifier(column)} IS NULL OR ({' AND '.join(parts)}))"


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Extension columns (a type the driver could not map) as their stored text or numbers."""
    ext = [n for n, d in frame.schema.items() if isinstance(d, pl.Extension)]
    if not ext:
        return frame
    return frame.with_columns(pl.col(n).ext.storage() for n in ext)


class DatabaseSource:
    """A database holding tables named leads, opportunities, stage_history, targets.

    Subclasses say how to run a query (:meth:`_read`) and list the tables
    (:meth:`_table_names`). ``queries`` lists the SQL this source ran, in
    order (what a test or ``--debug`` looks at to see the window pushed down).
    """

    format: Format
    #: the database's name in messages ("DuckDB", "PostgreSQL")
    dialect: str

    def __init__(self, *, description: str, options: SourceOptions | None) -> None:
        self.description = description
        self.options = options or SourceOptions()
        self.queries: list[str] = []
        self._tables: list[str] | None = None

    # -- what a subclass provides -------------------------------------------------------------
    def _read(self, sql: str, *, name: str) -> pl.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def _table_names(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the Source protocol --------------------------------------------------------------------
    def tables(self) -> list[str]:
        """The tables (and views) the database has, as its catalogue spells them."""
        if self._tables is None:
            self._tables = sorted(self._table_names())
        return self._tables

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None:
        names = self.tables()
        if table.name not in names:
            others = set(TABLES) - {table.name}
            alike = [n for n in look_alikes(table.name, names) if n not in others]
            if alike:
                raise SourceError(
                    f"the database {self.description} has no table {table.name}, but has "
                    f"{', '.join(alike)}, which looks misspelled; tables are named "
                    f"exactly {table.name} (lower case); fix: rename the table, or create a "
                    f"view: CREATE VIEW {table.name} AS SELECT * FROM {quote_identifier(alike[0])}"
                )
            return None
        return self._raw(
            f"SELECT * FROM {quote_identifier(table.name)}",
            name=table.name,
            window_column=WINDOW_COLUMNS.get(table.name),
            window=window,
            order_by=table.key,
        )

    def scan_query(
        self,
        sql: str,
        *,
        name: str,
        window_column: str | None = None,
        window: Window | None = None,
    ) -> RawTable:
        """The rows of ``sql`` (this database's dialect) as a raw table named ``name``.

        With ``window_column`` and ``window`` the window is pushed into the
        query as a ``WHERE`` around it, when that column is a date or
        timestamp in the result. ``name`` is what messages call the result
        (a table of the data model, or a mapping key).
        """
        inner = sql.strip().rstrip(";").strip()
        if not inner:
            raise SourceError(f"the query for {name} is empty; fix: write the SELECT for {name}")
        return self._raw(
            f"SELECT * FROM ({inner}) AS alignment_query",
            name=name,
            window_column=window_column,
            window=window,
            order_by=(),
        )

    def missing_table(self, table: Table) -> str:
        """The message for a required table the database does not have."""
        shown = ", ".join(self.tables()) or "none"
        return (
            f"the database {self.description} has no table {table.name} (its tables: "
            f"{shown}); fix: create it (docs/data-model.md lists its columns; a view over "
            f"your own table works), or map a table or query to it (docs/sources.md)"
        )

    def close(self) -> None:
        """Close the connection, if one is open (it is opened again when needed)."""

    # -- shared -------------------------------------------------------------------------------
    def _raw(
        self,
        base: str,
        *,
        name: str,
        window_column: str | None,
        window: Window | None,
        order_by: Sequence[str],
    ) -> RawTable:
        schema = self._read(f"SELECT * FROM ({base}) AS alignment_probe LIMIT 0", name=name).schema
        sql = base
        if window_column is not None:
            condition = window_sql(window_column, schema.get(window_column), window)
            if condition:
                sql += f" WHERE {condition}"
        keys = [quote_identifier(k) for k in order_by if k in schema]
        if keys:
            sql += f" ORDER BY {', '.join(keys)}"
        frame = _plain(self._read(sql, name=name))
        return RawTable(
            name, f"{self.description}/{name}", self.format, frame.lazy(), tuple(frame.columns)
        )
