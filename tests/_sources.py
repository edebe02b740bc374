"""The sample data copied into each kind of source, for the source tests.

The copies are typed as a database would hold them (timestamps with time
zone, dates, numeric amounts), parsed here by polars alone (not by the kit's
validation, which the copies are there to exercise):

- :func:`write_duckdb`: a DuckDB file, amounts as DECIMAL;
- :func:`write_hive`: a partitioned Parquet folder: leads by ``year`` (a key
  that is no column of the data model), opportunities by ``region`` (one that
  is), stage history split over two files, targets in one;
- :func:`load_postgres`: a PostgreSQL schema (real server), amounts as NUMERIC.

:func:`postgres_uri` says which server the tests use: ``ALIGNMENT_TEST_PG_URI``
(``postgresql://user:${PGPASSWORD}@127.0.0.1:5432/db``, ``.ci/run`` exports it
with ``PGPASSWORD``). Without it the tests that need PostgreSQL are skipped,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from alignment_lib.schema import TABLES
from alignment_lib.secrets import expand

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
PG_ENV = "ALIGNMENT_TEST_PG_URI"
MISSING_PG = (
    f"no PostgreSQL server for the tests: set {PG_ENV} (e.g. "
    "postgresql://alignment:${PGPASSWORD}@127.0.0.1:5432/alignment) and PGPASSWORD; "
    ".ci/run starts one"
)


def typed_sample(folder: Path = SAMPLE) -> dict[str, pl.DataFrame]:
    """Each table of a CSV folder with the types a database would give it."""
    tables = {}
    for name, table in TABLES.items():
        path = folder / f"{name}.csv"
        if not path.is_file():
            continue
        frame = pl.read_csv(path, infer_schema=False)
        casts = []
        for column in table.columns:
            if column.name not in frame.columns:
                continue
            col = pl.col(column.name)
            if column.kind == "timestamp":
                casts.append(col.str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"))
            elif column.kind == "date":
                casts.append(col.str.to_date("%Y-%m-%d"))
            elif column.kind in ("amount", "number"):
                casts.append(col.cast(pl.Float64))
        tables[name] = frame.with_columns(casts)
    return tables


#: the numeric columns stored as exact decimals (as a CRM database would)
_DECIMALS = {
    "opportunities": ("amount", "DECIMAL(14,2)"),
    "stage_history": ("amount", "DECIMAL(14,2)"),
    "targets": ("value", "DECIMAL(18,4)"),
}


def write_duckdb(path: Path, folder: Path = SAMPLE) -> Path:
    """A DuckDB file holding the tables of ``folder``."""
    import duckdb

    conn = duckdb.connect(str(path))
    try:
        for name, frame in typed_sample(folder).items():
            conn.register("frame", frame)
            conn.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            conn.unregister("frame")
            if name in _DECIMALS:
                column, sql_type = _DECIMALS[name]
                conn.execute(f"ALTER TABLE {name} ALTER {column} TYPE {sql_type}")
    finally:
        conn.close()
    return path


def write_hive(root: Path, folder: Path = SAMPLE) -> Path:
    """A partitioned Parquet folder holding the tables of ``folder``."""
    tables = typed_sample(folder)
    root.mkdir(parents=True, exist_ok=True)
    leads = tables["leads"].with_columns(year=pl.col("created_at").dt.year())
    leads.write_parquet(root / "leads", partition_by="year")
    tables["opportunities"].write_parquet(root / "opportunities", partition_by="region")
    history = tables["stage_history"]
    (root / "stage_history").mkdir()
    half = history.height // 2
    history.head(half).write_parquet(root / "stage_history" / "part-0.parquet")
    history.tail(history.height - half).write_parquet(root / "stage_history" / "part-1.parquet")
    (root / "targets").mkdir()
    tables["targets"].write_parquet(root / "targets" / "targets.parquet")
    return root


def postgres_uri() -> str:
    """The test server's URI (with ``${PGPASSWORD}``); skips, or fails under CI=true."""
    uri = os.environ.get(PG_ENV, "")
    if not uri:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {MISSING_PG}")
        pytest.skip(MISSING_PG)
    return uri


def with_schema(uri: str, schema: str) -> str:
    """``uri`` whose connections use ``schema`` first (libpq's options=-csearch_path)."""
    sep = "&" if "?" in uri else "?"
    return f"{uri}{sep}options=-csearch_path%3D{schema}"


def load_postgres(uri: str, schema: str, folder: Path = SAMPLE) -> str:
    """Load ``folder``'s tables into a fresh ``schema``; return the URI that reads them."""
    import adbc_driver_postgresql.dbapi as dbapi

    conn = dbapi.connect(expand(uri))
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            cur.execute(f'CREATE SCHEMA "{schema}"')
        conn.commit()
        for name, frame in typed_sample(folder).items():
            with conn.cursor() as cur:
                cur.adbc_ingest(name, frame, mode="create", db_schema_name=schema)
                if name in _DECIMALS:
                    column, sql_type = _DECIMALS[name]
                    sql_type = sql_type.replace("DECIMAL", "NUMERIC")
                    cur.execute(
                        f'ALTER TABLE "{schema}".{name} ALTER COLUMN {column} TYPE {sql_type}'
                    )
            conn.commit()
    finally:
        conn.close()
    return with_schema(uri, schema)


def drop_postgres_schema(uri: str, schema: str) -> None:
    import adbc_driver_postgresql.dbapi as dbapi

    conn = dbapi.connect(expand(uri))
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.commit()
    finally:
        conn.close()
