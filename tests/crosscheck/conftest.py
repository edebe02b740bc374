"""Independent implementations in DuckDB SQL, checked against the polars metrics.

The ``duck`` connection holds the sample's canonical tables exactly as the
metrics see them (loaded, validated and cut at the as-of instant by the kit,
so the cross-checks test the metric logic, not the loader), as DuckDB tables
with timestamps in UTC. SQL written in these tests must not call
alignment_lib: it is the second opinion.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FiscalQuarter, FunnelData, load_funnel
from tests.conftest import SAMPLE

#: the quarter and instant the cross-checks are run at
QUARTER = FiscalQuarter(2026, 3)
AS_OF = dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def sample() -> FunnelData:
    return load_funnel(SAMPLE, calendar=FiscalCalendar(1, "UTC")).at(AS_OF)


@pytest.fixture(scope="session")
def duck(sample: FunnelData) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("leads", "opportunities", "stage_history", "targets"):
        frame = getattr(sample, name).collect()  # noqa: F841 - read by DuckDB's replacement scan
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    return con


def sql(con: duckdb.DuckDBPyConnection, query: str, **params: object) -> pl.DataFrame:
    """Run a query (``$name`` parameters) and return its result as a polars frame."""
    return pl.from_arrow(con.sql(query, params=params).to_arrow_table())


def quarter_number(q: FiscalQuarter) -> int:
    """The quarter index the SQL computes: year * 4 + quarter - 1."""
    return q.year * 4 + q.quarter - 1
