"""The source layer: where the canonical tables come from.

Today a source is a folder of ``<table>.csv`` or ``<table>.parquet`` files.
Every other part of the kit sees only :class:`RawTable` objects (a lazy scan
plus where it came from), so a DuckDB, PostgreSQL or mapped CRM-export source
can be added here without touching validation, metrics or reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.schema import Table

__all__ = ["DirectorySource", "RawTable", "Source", "open_source"]

Format = Literal["csv", "parquet"]
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class RawTable:
    """One table as stored: a lazy scan, its columns, and where it came from.

    CSV columns arrive as strings (types are parsed and checked by
    :mod:`alignment_lib.validate`); Parquet columns keep their stored types.
    """

    name: str
    location: str
    format: Format
    frame: pl.LazyFrame
    columns: tuple[str, ...]


class Source(Protocol):
    """Anything that can hand out the canonical tables as raw lazy scans."""

    description: str

    def scan(self, table: Table) -> RawTable | None:
        """The table, or ``None`` when the source does not have it."""
        ...


class DirectorySource:
    """A folder holding one ``<table>.csv`` or ``<table>.parquet`` per table."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        if not self.path.exists():
            raise SourceError(
                f"data folder '{self.path}' does not exist; "
                "fix: pass --data (or the data_dir parameter) pointing at a folder with "
                "leads, opportunities and targets files (see docs/data-model.md)"
            )
        if not self.path.is_dir():
            raise SourceError(
                f"'{self.path}' is a file, not a data folder; "
                "fix: point at the folder that holds leads.csv, opportunities.csv, ..."
            )

    def _find(self, table: Table) -> tuple[Path, Format] | None:
        found = [
            (self.path / f"{table.name}{suffix}", fmt)
            for suffix, fmt in _SUFFIXES.items()
            if (self.path / f"{table.name}{suffix}").is_file()
        ]
        if len(found) > 1:
            names = " and ".join(p.name for p, _ in found)
            raise SourceError(
                f"data folder '{self.path}' has both {names}; the kit cannot tell which "
                f"one is current; fix: keep only one file for the {table.name} table"
            )
        return found[0] if found else None

    def scan(self, table: Table) -> RawTable | None:
        hit = self._find(table)
        if hit is None:
            return None
        path, fmt = hit
        try:
            if fmt == "csv":
                # Strings only: types are parsed by validation, which can then say
                # which row holds a bad value instead of failing inside the reader.
                frame = pl.scan_csv(path, infer_schema=False)
            else:
                frame = pl.scan_parquet(path)
            columns = tuple(frame.collect_schema().names())
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SourceError(
                f"cannot read '{path}' as {fmt.upper()}: {_first_line(exc)}; "
                f"fix: re-export the {table.name} table as UTF-8 {fmt.upper()} with a header row"
            ) from exc
        return RawTable(table.name, str(path), fmt, frame, columns)


def open_source(location: str | Path | Source) -> Source:
    """A source from a folder path (or a ready-made :class:`Source`)."""
    if isinstance(location, (str, Path)):
        return DirectorySource(location)
    return location


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
