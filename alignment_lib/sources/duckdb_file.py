"""A DuckDB database file (``*.duckdb``) holding the canonical tables.

Tables (or views) named leads, opportunities, stage_history and targets in the
file's default schema; only opportunities is required. The file is opened
read-only (the kit never changes it; another program may read it at the same
time). Needs the ``duckdb`` package: ``pip install 'alignment-kit[duckdb]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from alignment_lib.exceptions import SourceError
from alignment_lib.secrets import redact
from alignment_lib.sources._base import SourceOptions
from alignment_lib.sources._sql import DatabaseSource

__all__ = ["DUCKDB_SUFFIXES", "DuckDBSource"]

#: file suffixes dispatched to DuckDB by open_source
DUCKDB_SUFFIXES = (".duckdb", ".ddb")


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise SourceError(
            "reading a DuckDB file needs the duckdb package, which is not installed; fix: "
            "pip install 'alignment-kit[duckdb]' (in a clone: .venv/bin/pip install -e '.[duckdb]')"
        ) from exc
    return duckdb


class DuckDBSource(DatabaseSource):
    """The canonical tables of a DuckDB file, read through a read-only connection.

    ``description`` is the file's name (pages never show an absolute path).
    """

    format = "duckdb"
    dialect = "DuckDB"

    def __init__(self, path: str | Path, *, options: SourceOptions | None = None) -> None:
        self.path = Path(path)
        super().__init__(description=self.path.name, options=options)
        if not self.path.is_file():
            raise SourceError(
                f"DuckDB file '{self.path}' does not exist; fix: pass --data the path of an "
                "existing .duckdb file (the kit opens it read-only and never creates one)"
            )
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is None:
            duckdb = _duckdb()
            try:
                self._conn = duckdb.connect(str(self.path), read_only=True)
            except duckdb.Error as exc:
                text = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
                fix = (
                    "close the program that has the file open for writing, or copy the file "
                    "and point --data at the copy"
                    if "lock" in text.lower()
                    else "check that the file is a DuckDB database written by DuckDB 1.x or later"
                )
                raise SourceError(
                    f"cannot open the DuckDB file '{self.path}': {text}; fix: {fix}"
                ) from exc
        return self._conn

    def _read(self, sql: str, *, name: str) -> pl.DataFrame:
        conn = self._connect()
        self.queries.append(sql)
        duckdb = _duckdb()
        try:
            # through the Arrow C stream interface: no pyarrow needed
            return pl.DataFrame(conn.sql(sql))
        except (duckdb.Error, pl.exceptions.PolarsError) as exc:
            text = str(exc).strip().replace("\n", " ") or type(exc).__name__
            raise SourceError(
                f"DuckDB could not read {name} from '{self.path}': {redact(text)}; fix: check "
                f"the SQL of {name} (DuckDB's dialect) and that the tables it names exist"
            ) from exc

    def _table_names(self) -> list[str]:
        frame = self._read(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_catalog = current_database()",
            name="the table list",
        )
        return frame["table_name"].to_list()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
