"""The source layer: where the canonical tables come from.

A source hands out each canonical table as a :class:`RawTable` (a lazy scan
plus where it came from); validation, metrics and reports see nothing else,
so they do not care whether the data is a folder, a partitioned Parquet
dataset, a DuckDB file or a PostgreSQL database. :func:`open_source` picks
the source from a data location (``docs/sources.md``):

- a folder of ``<table>.csv`` / ``<table>.parquet`` files: :class:`DirectorySource`
  (``files.py``, which also holds the strict CSV check)
- a folder of hive-partitioned Parquet datasets, ``<root>/<table>/key=value/*.parquet``:
  :class:`HiveSource` (``hive.py``)
- a ``*.duckdb`` file: :class:`DuckDBSource` (``duckdb_file.py``)
- a ``postgresql://`` URI: :class:`PostgreSQLSource` (``postgresql.py``)

Each can take a read :class:`Window` (``_base.py``); the database sources
(:class:`QuerySource`) also run SQL of their own dialect (``scan_query``,
``_sql.py``), which a mapping file uses for its ``table =`` / ``query =``
entries.
"""

from __future__ import annotations

from pathlib import Path

from alignment_lib.exceptions import SourceError
from alignment_lib.secrets import redact
from alignment_lib.sources._base import (
    WINDOW_COLUMNS,
    WINDOW_MARGIN,
    Format,
    QuerySource,
    RawTable,
    Source,
    SourceOptions,
    Window,
    look_alikes,
    window_filter,
)
from alignment_lib.sources._sql import DatabaseSource, quote_identifier
from alignment_lib.sources.duckdb_file import DUCKDB_SUFFIXES, DuckDBSource
from alignment_lib.sources.files import DirectorySource, check_csv, scan_file
from alignment_lib.sources.hive import HiveSource, is_hive_dataset
from alignment_lib.sources.postgresql import POSTGRESQL_SCHEMES, PostgreSQLSource

__all__ = [
    "WINDOW_COLUMNS",
    "WINDOW_MARGIN",
    "DatabaseSource",
    "DirectorySource",
    "DuckDBSource",
    "Format",
    "HiveSource",
    "PostgreSQLSource",
    "QuerySource",
    "RawTable",
    "Source",
    "SourceOptions",
    "Window",
    "check_csv",
    "look_alikes",
    "open_source",
    "quote_identifier",
    "scan_file",
    "window_filter",
]

_KINDS = (
    "a folder of CSV or Parquet files, a folder of partitioned Parquet datasets "
    "(<folder>/<table>/...), a .duckdb file, or a postgresql:// URI"
)


def open_source(
    location: str | Path | Source,
    *,
    options: SourceOptions | None = None,
    env_file: str | Path | None = None,
    check_names: bool = True,
) -> Source:
    """The source a data location names (a ready-made :class:`Source` is returned as is).

    - ``postgresql://...`` (or ``postgres://``): :class:`PostgreSQLSource`;
      ``${VAR}`` references are filled from the environment or ``env_file``
      when it connects
    - a path ending in ``.duckdb`` (or ``.ddb``): :class:`DuckDBSource`
    - a folder with a sub-folder named after a table (``leads/``,
      ``opportunities/``, ...): :class:`HiveSource`
    - any other path: :class:`DirectorySource`

    ``options`` apply to the source (a mapping file sets them).
    ``check_names=False``: a folder's files are not checked for names that look
    like a misspelled table (a mapping names its own files, e.g. ``Lead.csv``).
    Any other URI scheme is a :class:`SourceError` naming it and what the kit reads.
    """
    if not isinstance(location, (str, Path)):
        return location
    text = str(location)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        if scheme.split("+", 1)[0].lower() in POSTGRESQL_SCHEMES:
            return PostgreSQLSource(text, options=options, env_file=env_file)
        raise SourceError(
            f"the data location '{redact(text)}' is a {scheme}:// URI, which the kit cannot "
            f"read; it reads {_KINDS}; fix: export the tables to one of those (DuckDB and "
            "PostgreSQL can attach most databases), see docs/sources.md"
        )
    path = Path(text)
    if path.suffix.lower() in DUCKDB_SUFFIXES:
        return DuckDBSource(path, options=options)
    if is_hive_dataset(path):
        return HiveSource(path, options=options)
    return DirectorySource(path, options=options, check_names=check_names)
