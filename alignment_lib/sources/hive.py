"""A hive-partitioned Parquet dataset: ``<root>/<table>/key=value/.../*.parquet``.

Each table is a folder of Parquet files, optionally split into partitions
(``opportunities/region=EMEA/part-0.parquet``); partition keys become columns
(a key named like a canonical column, such as ``region``, fills it). The scan
is lazy (``pl.scan_parquet(..., hive_partitioning=True)``): a report's window
is a predicate on the table's date column that polars pushes into the reader,
which skips the row groups (and partitions keyed by that column) outside it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.schema import TABLES, Table
from alignment_lib.sources._base import (
    WINDOW_COLUMNS,
    RawTable,
    SourceOptions,
    Window,
    look_alikes,
    window_filter,
)

__all__ = ["HiveSource", "is_hive_dataset"]


def is_hive_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder with at least one table as a sub-folder (``<root>/leads/``)."""
    return path.is_dir() and any((path / name).is_dir() for name in TABLES)


class HiveSource:
    """A folder with one (hive-partitioned) Parquet dataset per table.

    ``description`` is the root folder's name; messages name the path as given.
    """

    def __init__(self, path: str | Path, *, options: SourceOptions | None = None) -> None:
        self.path = Path(path)
        self.description = f"{self.path.resolve().name or self.path} (partitioned Parquet)"
        self.options = options or SourceOptions()
        if not self.path.is_dir():
            raise SourceError(
                f"partitioned Parquet folder '{self.path}' does not exist; fix: point --data "
                "at the folder holding leads/, opportunities/, ... (docs/sources.md)"
            )

    def _folder(self, table: Table) -> Path | None:
        folder = self.path / table.name
        entries = [p.name for p in self.path.iterdir()]
        if folder.is_dir():
            stray = [p for p in (f"{table.name}.csv", f"{table.name}.parquet") if p in entries]
            if stray:
                raise SourceError(
                    f"data folder '{self.path}' has both the folder {table.name}/ and the file "
                    f"{stray[0]}; the kit cannot tell which one is current; fix: keep only one"
                )
            return folder
        others = set(TABLES) - {table.name}
        alike = [n for n in look_alikes(table.name, entries) if Path(n).stem not in others]
        alike += [n for n in entries if Path(n).stem == table.name and n not in alike]
        if alike:
            raise SourceError(
                f"partitioned Parquet folder '{self.path}' has no {table.name}/ folder, but has "
                f"{', '.join(alike)}, which looks misspelled (or in another layout); "
                f"fix: name the table's folder exactly {table.name}/ (lower case), holding "
                "its Parquet files"
            )
        return None

    def scan(self, table: Table, window: Window | None = None) -> RawTable | None:
        folder = self._folder(table)
        if folder is None:
            return None
        files = sorted(folder.rglob("*.parquet"))
        if not files:
            raise SourceError(
                f"'{folder}' holds no .parquet files; fix: write the {table.name} table's "
                "Parquet files into it (key=value/ sub-folders for partitions), or remove "
                "the empty folder"
            )
        try:
            frame = pl.scan_parquet(folder / "**" / "*.parquet", hive_partitioning=True)
            columns = tuple(frame.collect_schema().names())
        except (pl.exceptions.PolarsError, OSError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(
                f"cannot read the partitioned Parquet dataset '{folder}': {text}; fix: write "
                f"every file of the {table.name} table with the same columns, and partition "
                "folders as key=value"
            ) from exc
        column = WINDOW_COLUMNS.get(table.name)
        if column is not None:
            frame = window_filter(frame, column, window)
        return RawTable(table.name, str(folder), "parquet", frame, columns)

    def missing_table(self, table: Table) -> str:
        """The message for a required table the dataset does not have."""
        return (
            f"partitioned Parquet folder '{self.path}' has no {table.name}/ folder; fix: write "
            f"the {table.name} table there as Parquet files (docs/data-model.md lists its "
            "columns)"
        )
