"""Every kind of data location behind one interface: dispatch, names, windows, queries.

The sample copied into a DuckDB file and a partitioned Parquet folder
(``tests/_sources.py``) loads into the same ``FunnelData`` as the CSV folder;
the read window reaches the Parquet reader (the lazy plan) and the SQL (the
query text); a misspelled table is an error naming it and the fix.
PostgreSQL's own tests (a real server) are in ``test_postgresql.py``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from alignment_lib import DataValidationError, ParameterError, SourceError
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import FunnelData, load_funnel
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY, TARGETS
from alignment_lib.sources import (
    DirectorySource,
    DuckDBSource,
    HiveSource,
    PostgreSQLSource,
    Window,
    open_source,
    window_filter,
)
from tests._sources import SAMPLE, write_duckdb, write_hive

UNTIL = dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
FRAMES = ("leads", "opportunities", "stage_history", "targets")


@pytest.fixture(scope="module")
def sample() -> FunnelData:
    return load_funnel(SAMPLE).materialize()


@pytest.fixture(scope="module")
def duckdb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_duckdb(tmp_path_factory.mktemp("duckdb") / "crm.duckdb")


@pytest.fixture(scope="module")
def hive_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hive(tmp_path_factory.mktemp("hive") / "crm")


def assert_same_data(got: FunnelData, expected: FunnelData) -> None:
    """The same rows (in any order), columns, types and non-frame fields."""
    for name in FRAMES:
        a, b = getattr(expected, name).collect(), getattr(got, name).collect()
        assert b.schema == a.schema, name
        assert b.sort(b.columns).equals(a.sort(a.columns)), name
    for name in ("calendar", "has_stage_history", "warnings", "repairs", "extract_date"):
        assert getattr(got, name) == getattr(expected, name), name
    assert got.tracking == expected.tracking


# ---------------------------------------------------------------- dispatch


def test_open_source_dispatches_on_the_location(
    tmp_path: Path, duckdb_file: Path, hive_root: Path
) -> None:
    assert isinstance(open_source(SAMPLE), DirectorySource)
    assert isinstance(open_source(str(SAMPLE)), DirectorySource)
    assert isinstance(open_source(duckdb_file), DuckDBSource)
    assert isinstance(open_source(hive_root), HiveSource)
    uri = "postgresql://report:${PGPASSWORD}@db.internal:5432/crm"
    source = open_source(uri)
    assert isinstance(source, PostgreSQLSource)  # nothing is connected yet
    assert source.description == "postgresql://report:***@db.internal:5432/crm"
    assert isinstance(open_source("postgres://db/crm"), PostgreSQLSource)
    assert isinstance(open_source("postgresql+psycopg://db/crm"), PostgreSQLSource)
    ready = DirectorySource(SAMPLE)
    assert open_source(ready) is ready
    # descriptions name the data, never an absolute path
    assert open_source(SAMPLE).description == "sample"
    assert open_source(duckdb_file).description == "crm.duckdb"
    assert open_source(hive_root).description == "crm (partitioned Parquet)"


@pytest.mark.parametrize(
    "location", ["mysql://u:hunter2@db/crm", "sqlite:///tmp/crm.db", "https://example.com/x.csv"]
)
def test_an_unknown_uri_scheme_is_refused_with_what_the_kit_reads(location: str) -> None:
    with pytest.raises(SourceError) as info:
        open_source(location)
    message = str(info.value)
    scheme = location.split("://")[0]
    assert f"is a {scheme}:// URI, which the kit cannot read" in message
    assert "a .duckdb file, or a postgresql:// URI" in message
    assert "fix:" in message and "hunter2" not in message


def test_a_missing_duckdb_file_or_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"DuckDB file '.*nope\.duckdb' does not exist"):
        open_source(tmp_path / "nope.duckdb")
    with pytest.raises(SourceError, match=r"data folder '.*nope' does not exist"):
        open_source(tmp_path / "nope")


# ---------------------------------------------------------------- same data from every kind


@pytest.mark.slow
def test_duckdb_file_loads_the_same_data(sample: FunnelData, duckdb_file: Path) -> None:
    got = load_funnel(duckdb_file).materialize()
    assert got.source == "crm.duckdb"
    assert_same_data(got, sample)


def test_partitioned_parquet_loads_the_same_data(sample: FunnelData, hive_root: Path) -> None:
    assert sorted(p.name for p in (hive_root / "opportunities").iterdir())[:2] == [
        "region=APAC",
        "region=EMEA",
    ]
    got = load_funnel(hive_root).materialize()
    assert_same_data(got, sample)
    # a partition key that is no canonical column is not kept (no dimension asked for)
    assert "year" not in got.leads.collect_schema().names()


def test_duckdb_types_reach_validation(duckdb_file: Path) -> None:
    raw = DuckDBSource(duckdb_file).scan(OPPORTUNITIES)
    assert raw is not None
    schema = raw.frame.collect_schema()
    assert isinstance(schema["amount"], pl.Decimal)
    assert isinstance(schema["created_at"], pl.Datetime)
    assert schema["expected_close_date"] == pl.Date
    assert raw.location == "crm.duckdb/opportunities" and raw.format == "duckdb"


# ---------------------------------------------------------------- misspelled tables


def _copy(tmp_path: Path, renames: dict[str, str]) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE, folder)
    for old, new in renames.items():
        (folder / old).rename(folder / new)
    return folder


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("leads.csv", "lead.csv"),
        ("leads.csv", "Leads.csv"),
        ("leads.csv", "leads.CSV"),
        ("targets.csv", "target.csv"),
        ("stage_history.csv", "stage-history.csv"),
    ],
)
def test_a_misspelled_table_file_is_an_error_with_the_rename(
    tmp_path: Path, old: str, new: str
) -> None:
    folder = _copy(tmp_path, {old: new})
    table = old.removesuffix(".csv")
    with pytest.raises(SourceError) as info:
        load_funnel(folder)
    message = str(info.value)
    assert f"has no {table} table, but has {new}, which looks misspelled" in message
    assert f"fix: rename {new} to {table}.csv" in message


def test_a_look_alike_beside_the_table_file_is_an_error(tmp_path: Path) -> None:
    folder = _copy(tmp_path, {})
    shutil.copy(folder / "leads.csv", folder / "Leads.csv")
    with pytest.raises(SourceError) as info:
        load_funnel(folder)
    assert "has leads.csv and also Leads.csv, which looks like the leads table" in str(info.value)
    # other files are none of the kit's business; a mapping that names its files turns
    # the check off
    (folder / "Leads.csv").rename(folder / "leads_2025_backup.csv")
    (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert load_funnel(folder).has_stage_history
    (folder / "leads.csv").rename(folder / "Lead.csv")
    assert DirectorySource(folder, check_names=False).scan(LEADS) is None


@pytest.mark.slow
def test_misspelled_tables_in_a_database_and_a_parquet_dataset(tmp_path: Path) -> None:
    import duckdb

    db = write_duckdb(tmp_path / "crm.duckdb")
    conn = duckdb.connect(str(db))
    conn.execute("ALTER TABLE stage_history RENAME TO stagehistory")
    conn.close()
    with pytest.raises(SourceError) as info:
        load_funnel(db)
    message = str(info.value)
    assert "the database crm.duckdb has no table stage_history, but has stagehistory" in message
    assert 'CREATE VIEW stage_history AS SELECT * FROM "stagehistory"' in message

    root = write_hive(tmp_path / "hive")
    (root / "targets").rename(root / "Targets")
    with pytest.raises(SourceError, match=r"has no targets/ folder, but has Targets"):
        load_funnel(root)


@pytest.mark.slow
def test_a_missing_required_table_is_named_for_each_kind(tmp_path: Path) -> None:
    import duckdb

    db = write_duckdb(tmp_path / "crm.duckdb")
    conn = duckdb.connect(str(db))
    conn.execute("DROP TABLE opportunities")
    conn.close()
    with pytest.raises(SourceError) as info:
        load_funnel(db)
    assert (
        "the database crm.duckdb has no table opportunities (its tables: leads, "
        "stage_history, targets); fix: create it" in str(info.value)
    )
    root = write_hive(tmp_path / "hive")
    shutil.rmtree(root / "opportunities")
    with pytest.raises(SourceError, match=r"has no opportunities/ folder; fix: write"):
        load_funnel(root)


# ---------------------------------------------------------------- the read window


def test_window_pushed_bounds_keep_a_margin() -> None:
    """until 2026-09-30 23:59:59 UTC: read exactly to 2026-10-01 23:59:59 (one day of
    margin, for timestamps stored in a local zone), pushed as "before 2026-10-03" (one
    more day, for a database comparing in its session time zone)."""
    window = Window(until=UTC(2026, 9, 30, 23, 59, 59))
    assert window.last == UTC(2026, 10, 1, 23, 59, 59)
    assert window.pushed() == (None, dt.date(2026, 10, 3))
    both = Window(until=UTC(2026, 9, 30), since=UTC(2025, 1, 1))
    assert both.first == UTC(2024, 12, 31)
    assert both.pushed() == (dt.date(2024, 12, 30), dt.date(2026, 10, 3))
    with pytest.raises(ParameterError, match="aware"):
        Window(until=dt.datetime(2026, 9, 30))


def UTC(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def test_the_window_is_a_predicate_of_the_parquet_scan(hive_root: Path) -> None:
    raw = HiveSource(hive_root).scan(LEADS, Window(until=UTC(2026, 9, 30, 23, 59, 59)))
    assert raw is not None
    plan = raw.frame.explain()
    scan = plan[plan.index("Parquet SCAN") :]
    # the predicate sits in the scan (rows and row groups are skipped while reading)
    assert "SELECTION" in scan and "created_at" in scan and "2026-10-03" in scan, plan
    assert "FILTER" not in plan, plan
    # and it leaves out exactly the leads created after the pushed bound
    got = raw.frame.select(pl.len()).collect().item()
    all_leads = pl.read_csv(SAMPLE / "leads.csv").get_column("created_at")
    assert got == (all_leads < "2026-10-03").sum() < len(all_leads)


def test_window_filter_leaves_text_dates_alone() -> None:
    frame = pl.LazyFrame({"created_at": ["2026-12-01T00:00:00Z"]})
    assert window_filter(frame, "created_at", Window(until=UTC(2026, 1, 1))) is frame
    typed = pl.LazyFrame({"created_at": [UTC(2026, 12, 1), None]})
    kept = window_filter(typed, "created_at", Window(until=UTC(2026, 1, 1))).collect()
    assert kept["created_at"].to_list() == [None]  # a row without a date is always read


def test_the_window_is_in_the_duckdb_query(duckdb_file: Path) -> None:
    source = DuckDBSource(duckdb_file)
    raw = source.scan(STAGE_HISTORY, Window(until=UTC(2026, 9, 30, 23, 59, 59)))
    assert raw is not None
    assert source.queries[-1] == (
        'SELECT * FROM "stage_history" WHERE ("changed_at" IS NULL OR ("changed_at" < '
        'CAST(\'2026-10-03\' AS DATE))) ORDER BY "opportunity_id", "changed_at"'
    )
    latest = raw.frame.select(pl.col("changed_at").max()).collect().item()
    assert latest < UTC(2026, 10, 3)
    # targets are never cut
    source.scan(TARGETS, Window(until=UTC(2020, 1, 1)))
    assert source.queries[-1] == (
        'SELECT * FROM "targets" ORDER BY "fiscal_quarter", "metric", "team"'
    )


def test_scan_query_runs_sql_with_the_window_around_it(duckdb_file: Path) -> None:
    source = DuckDBSource(duckdb_file)
    raw = source.scan_query(
        "SELECT opportunity_id, created_at, amount FROM opportunities WHERE source = 'sales';",
        name="opportunities",
        window_column="created_at",
        window=Window(until=UTC(2024, 12, 31, 23, 59, 59)),
    )
    assert source.queries[-1] == (
        "SELECT * FROM (SELECT opportunity_id, created_at, amount FROM opportunities WHERE "
        'source = \'sales\') AS alignment_query WHERE ("created_at" IS NULL OR ("created_at" '
        "< CAST('2025-01-03' AS DATE)))"
    )
    assert raw.name == "opportunities" and raw.columns == ("opportunity_id", "created_at", "amount")
    frame = raw.frame.collect()
    opps = pl.read_csv(SAMPLE / "opportunities.csv")
    expected = opps.filter(
        (pl.col("source") == "sales") & (pl.col("created_at") < "2025-01-03")
    ).height
    assert frame.height == expected > 0
    # a text column is not compared with a date (rows in another format would vanish)
    source.scan_query(
        "SELECT CAST(created_at AS VARCHAR) AS created_at FROM leads",
        name="leads",
        window_column="created_at",
        window=Window(until=UTC(2024, 1, 1)),
    )
    assert "WHERE" not in source.queries[-1].split("AS alignment_query")[-1]


def test_scan_query_errors_name_the_query(duckdb_file: Path) -> None:
    source = DuckDBSource(duckdb_file)
    with pytest.raises(SourceError) as info:
        source.scan_query("SELECT * FROM deals", name="opportunities")
    message = str(info.value)
    assert "DuckDB could not read opportunities from" in message
    assert "deals" in message and "fix: check the SQL of opportunities" in message
    with pytest.raises(SourceError, match="the query for leads is empty"):
        source.scan_query("  ;", name="leads")


@pytest.mark.slow
def test_a_windowed_read_is_the_same_from_every_kind(duckdb_file: Path, hive_root: Path) -> None:
    """The CSV folder cannot push the window down; load_funnel cuts it the same way."""
    window = Window(until=UTC(2026, 9, 30, 23, 59, 59))
    from_csv = load_funnel(SAMPLE, window=window).materialize()
    assert from_csv.window == window
    leads = from_csv.leads.collect()
    # exactly the leads created up to until + one day (the margin), none later
    expected = pl.read_csv(SAMPLE / "leads.csv").filter(
        pl.col("created_at") <= "2026-10-01T23:59:59Z"
    )
    assert leads.height == expected.height < 29038
    for location in (duckdb_file, hive_root):
        assert_same_data(load_funnel(location, window=window).materialize(), from_csv)
    # the report's view of the data is the same as from a full read
    full = load_funnel(SAMPLE)
    cut, full_cut = from_csv.at(UNTIL), full.at(UNTIL)
    for name in FRAMES:
        a, b = getattr(full_cut, name).collect(), getattr(cut, name).collect()
        assert a.sort(a.columns).equals(b.sort(b.columns)), name


def test_a_windowed_read_keeps_the_file_row_numbers(tmp_path: Path) -> None:
    folder = _copy(tmp_path, {})
    lines = (folder / "leads.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    # row 1 is created after the window (not read), row 5 has no id: still "row 5"
    lines[1] = lines[1].replace("2023-10-01T05:04:00Z", "2026-12-01T05:04:00Z")
    lines[5] = lines[5].replace("L000005", "", 1)
    (folder / "leads.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_funnel(folder, window=Window(until=UTC(2024, 1, 1)))
    message = str(info.value)
    assert "leads.csv, column 'lead_id'" in message and "(row 5)" in message, message


def test_a_calendar_zone_is_used_for_naive_timestamps_in_the_window(tmp_path: Path) -> None:
    """A timestamp stored without a zone is local time: the cut uses the source's zone."""
    import duckdb

    db = tmp_path / "naive.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute(
        "CREATE TABLE opportunities AS SELECT * FROM (VALUES "
        "('O0', TIMESTAMP '2026-09-01 12:00:00', 'sales', 'Discovery'), "
        "('O1', TIMESTAMP '2026-10-01 20:00:00', 'sales', 'Discovery'), "
        "('O2', TIMESTAMP '2026-10-02 20:00:00', 'sales', 'Discovery')) "
        "AS t(opportunity_id, created_at, source, stage)"
    )
    conn.close()
    window = Window(until=UTC(2026, 9, 30, 23, 59, 59))
    # read as UTC, O2 (2026-10-02 20:00 UTC) is past until + 1 day; in Pacific time it is
    # 2026-10-03 03:00 UTC, also past; O1 in Pacific time is 2026-10-02 03:00 UTC: past too
    utc = load_funnel(db, window=window).opportunities.collect()
    assert utc["opportunity_id"].to_list() == ["O0", "O1"]
    pacific = load_funnel(db, calendar=FiscalCalendar(1, "America/Los_Angeles"), window=window)
    assert pacific.opportunities.collect()["opportunity_id"].to_list() == ["O0"]


# ---------------------------------------------------------------- the command line


@pytest.mark.slow
def test_command_line_reads_every_kind(
    duckdb_file: Path, hive_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alignment_lib.cli import main

    assert main(["validate", "--data", str(duckdb_file)]) == 0
    assert capsys.readouterr().out.startswith(
        "crm.duckdb: valid (29,038 leads, 3,725 opportunities, 14,796 stage_history, 70 targets)"
    )
    assert main(["validate", "--data", str(hive_root)]) == 0
    assert capsys.readouterr().out.startswith("crm (partitioned Parquet): valid (29,038 leads")
    assert main(["validate", "--data", "mysql://report:hunter2@db/crm"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the data location 'mysql://report:***@db/crm' is a mysql://")
    assert "hunter2" not in err
    # a read window needs the quarter: the latest one is found from all the data
    assert main(["report", "--read-until-as-of", "--out", str(tmp_path / "r")]) == 4
    assert "--read-until-as-of needs --quarter" in capsys.readouterr().err
