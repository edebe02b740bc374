"""PostgreSQL by URI on a real server: same data as the files, window in the SQL, messages.

Needs a server (``ALIGNMENT_TEST_PG_URI`` and ``PGPASSWORD``; ``.ci/run`` starts
one): skipped without it, failed without it under ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Iterator

import polars as pl
import pytest

from alignment_lib import SourceError
from alignment_lib.load import load_funnel
from alignment_lib.schema import LEADS, OPPORTUNITIES
from alignment_lib.secrets import redact
from alignment_lib.sources import PostgreSQLSource, Window, open_source
from tests._sources import (
    SAMPLE,
    drop_postgres_schema,
    load_postgres,
    postgres_uri,
    with_schema,
)
from tests.test_source_kinds import assert_same_data


@pytest.fixture(scope="module")
def server() -> str:
    return postgres_uri()


@pytest.fixture(scope="module")
def location(server: str) -> Iterator[str]:
    schema = f"alignment_test_{uuid.uuid4().hex[:8]}"
    try:
        yield load_postgres(server, schema)
    finally:
        drop_postgres_schema(server, schema)


def _at(location: str, host_port: str) -> str:
    return re.sub(r"@[^/]+/", f"@{host_port}/", location)


def test_postgresql_loads_the_same_data_as_the_files(location: str) -> None:
    got = load_funnel(location).materialize()
    assert got.source == redact(location)
    assert "${PGPASSWORD}" not in got.source and os.environ["PGPASSWORD"] not in got.source
    assert_same_data(got, load_funnel(SAMPLE).materialize())


def test_numeric_amounts_arrive_as_text_and_parse(location: str) -> None:
    source = PostgreSQLSource(location)
    try:
        raw = source.scan(OPPORTUNITIES)
    finally:
        source.close()
    assert raw is not None and raw.format == "postgresql"
    schema = raw.frame.collect_schema()
    # ADBC hands NUMERIC over as its text; validation parses it like a CSV amount
    assert schema["amount"] == pl.String
    assert schema["created_at"] == pl.Datetime("us", "UTC")
    assert schema["expected_close_date"] == pl.Date
    assert raw.location == f"{redact(location)}/opportunities"


def test_the_window_is_in_the_query(location: str) -> None:
    source = PostgreSQLSource(location)
    try:
        raw = source.scan(LEADS, Window(until=dt.datetime(2025, 3, 31, 23, 59, tzinfo=dt.UTC)))
        assert source.queries[-1] == (
            'SELECT * FROM "leads" WHERE ("created_at" IS NULL OR ("created_at" < '
            "CAST('2025-04-03' AS DATE))) ORDER BY \"lead_id\""
        )
        assert raw is not None
        latest = raw.frame.select(pl.col("created_at").max()).collect().item()
        assert latest < dt.datetime(2025, 4, 3, tzinfo=dt.UTC)
        query = source.scan_query(
            "SELECT lead_id, created_at FROM leads WHERE channel = 'Webinar'",
            name="leads",
            window_column="created_at",
            window=Window(
                until=dt.datetime(2025, 3, 31, tzinfo=dt.UTC),
                since=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            ),
        )
        assert source.queries[-1].endswith(
            'AS alignment_query WHERE ("created_at" IS NULL OR ("created_at" < '
            "CAST('2025-04-03' AS DATE) AND \"created_at\" >= CAST('2024-12-30' AS DATE)))"
        )
        frame = query.frame.collect()
        leads = pl.read_csv(SAMPLE / "leads.csv")
        expected = leads.filter(
            (pl.col("channel") == "Webinar")
            & (pl.col("created_at") >= "2024-12-30")
            & (pl.col("created_at") < "2025-04-03")
        )
        assert frame.height == expected.height > 0
    finally:
        source.close()


def test_a_windowed_read_equals_the_files_windowed_read(location: str) -> None:
    window = Window(until=dt.datetime(2026, 3, 31, 23, 59, tzinfo=dt.UTC))
    assert_same_data(
        load_funnel(location, window=window).materialize(),
        load_funnel(SAMPLE, window=window).materialize(),
    )


def test_missing_and_misspelled_tables(server: str) -> None:
    import adbc_driver_postgresql.dbapi as dbapi

    from alignment_lib.secrets import expand

    schema = f"alignment_test_{uuid.uuid4().hex[:8]}"
    conn = dbapi.connect(expand(server))
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"')
            cur.execute(f'CREATE TABLE "{schema}".lead (lead_id text)')
        conn.commit()
        location = with_schema(server, schema)
        with pytest.raises(SourceError) as info:
            load_funnel(location)
        message = str(info.value)
        assert "has no table leads, but has lead, which looks misspelled" in message
        assert 'CREATE VIEW leads AS SELECT * FROM "lead"' in message
        with conn.cursor() as cur:
            cur.execute(f'ALTER TABLE "{schema}".lead RENAME TO campaigns')
        conn.commit()
        with pytest.raises(SourceError) as info:
            load_funnel(location)
        message = str(info.value)
        assert f"the database {redact(location)} has no table opportunities" in message
        assert "(its tables: campaigns); fix: create it" in message
        source = PostgreSQLSource(location)
        with pytest.raises(SourceError) as info:
            source.scan_query("SELECT nope FROM campaigns", name="leads")
        source.close()
        message = str(info.value)
        assert "PostgreSQL could not read leads from" in message
        assert (
            'column "nope" does not exist' in message and "fix: check the SQL of leads" in message
        )
    finally:
        drop_postgres_schema(server, schema)
        conn.close()


def test_connection_errors_say_what_to_fix_without_the_password(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = os.environ["PGPASSWORD"]
    monkeypatch.setenv("ALIGNMENT_OTHER_PASSWORD", "not-" + password)
    cases = [
        (
            location.replace("${PGPASSWORD}", "${ALIGNMENT_OTHER_PASSWORD}"),
            "the server refused the user name or password; fix: check the user in the URI "
            "and the password (${ALIGNMENT_OTHER_PASSWORD}, filled from the environment",
        ),
        (_at(location, "127.0.0.1:9"), "the server cannot be reached (connection to server"),
        (_at(location, "no-such-host.invalid:5432"), "the server cannot be reached"),
        (
            re.sub(r"/[A-Za-z0-9_]+\?", "/no_such_database?", location),
            'database "no_such_database" does not exist; fix: check the database name',
        ),
        (
            location.replace("${PGPASSWORD}", password),  # written into the URI
            None,
        ),
    ]
    for uri, expected in cases:
        if expected is None:
            # a password written in the URI works, and is never shown
            data = load_funnel(uri)
            assert password not in data.source and ":***@" in data.source
            continue
        with pytest.raises(SourceError) as info:
            load_funnel(uri)
        message = str(info.value)
        assert expected in message, message
        assert message.startswith(f"cannot connect to the database {redact(uri)}")
        assert password not in message and "not-" + password not in message
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_missing_variable_is_named_before_connecting(location: str) -> None:
    uri = location.replace("${PGPASSWORD}", "${ALIGNMENT_UNSET_PASSWORD}")
    with pytest.raises(SourceError) as info:
        load_funnel(uri)
    assert "ALIGNMENT_UNSET_PASSWORD is not set in the environment" in str(info.value)


def test_an_env_file_fills_the_password(location: str, tmp_path, monkeypatch) -> None:
    env = tmp_path / ".env"
    env.write_text(f"ALIGNMENT_FILE_PASSWORD={os.environ['PGPASSWORD']}\n", encoding="utf-8")
    uri = location.replace("${PGPASSWORD}", "${ALIGNMENT_FILE_PASSWORD}")
    monkeypatch.delenv("ALIGNMENT_FILE_PASSWORD", raising=False)
    source = open_source(uri, env_file=env)
    try:
        assert source.scan(OPPORTUNITIES) is not None
    finally:
        source.close()
