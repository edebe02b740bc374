"""Every malformed-input case of the data model gives a precise, actionable error."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from alignment_lib import DataValidationError, SourceError, load_funnel
from alignment_lib.schema import LEADS, OPPORTUNITIES
from tests.conftest import lead, opp, write_table


def problems_of(folder: Path) -> list:
    with pytest.raises(DataValidationError) as info:
        load_funnel(folder)
    return info.value.problems


def only(problems: list, rule: str):
    hits = [p for p in problems if p.rule == rule]
    assert len(hits) == 1, [p.rule for p in problems]
    return hits[0]


def test_valid_folder_loads(make_data) -> None:
    data = load_funnel(make_data())
    assert data.leads.collect().height == 1
    assert data.opportunities.collect_schema() == OPPORTUNITIES.polars_schema
    assert not data.has_stage_history


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        load_funnel(tmp_path / "nope")


def test_missing_file(make_data) -> None:
    with pytest.raises(SourceError) as info:
        load_funnel(make_data(skip=("opportunities",)))
    assert "opportunities table (opportunities.csv or opportunities.parquet)" in str(info.value)
    assert "fix:" in str(info.value)


def test_missing_required_column(make_data) -> None:
    folder = make_data()
    write_table(folder, "leads", [c for c in LEADS.column_names if c != "created_at"], [lead()])
    p = only(problems_of(folder), "missing_column")
    assert (p.column, Path(p.file).name) == ("created_at", "leads.csv")
    assert "needs lead_id, created_at (every other column may be left out)" in p.message
    assert p.fix.startswith("add a created_at column (When the lead was created")


def test_absent_optional_column_is_not_tracked(make_data) -> None:
    # an export without the column: all null, not tracked, no error (docs/data-model.md)
    folder = make_data()
    write_table(folder, "leads", [c for c in LEADS.column_names if c != "mql_at"], [lead()])
    columns = [c for c in OPPORTUNITIES.column_names if c not in ("created_at", "source")]
    write_table(folder, "opportunities", columns, [opp()])
    data = load_funnel(folder)
    assert data.leads.collect_schema() == LEADS.polars_schema
    assert data.leads.collect()["mql_at"].null_count() == 1
    assert data.opportunities.collect()["created_at"].null_count() == 1
    assert not data.tracking.tracks("mql")
    assert not data.tracking.tracks("opportunity_created")
    assert not data.tracking.tracks("source")
    assert data.tracking.tracks("closes") is False  # closed_at is empty in the one row
    assert data.tracking.tracks("channel")


def test_required_when_tracked_column_empty_in_some_rows(make_data) -> None:
    # created_at may be left out entirely; once it has values, every row needs one
    rows = [opp(opportunity_id="O1"), opp(opportunity_id="O2", created_at="")]
    p = only(problems_of(make_data(opportunities=rows)), "missing_value")
    assert (p.column, p.rows) == ("created_at", (2,))
    rows = [opp(opportunity_id="O1", created_at=""), opp(opportunity_id="O2", created_at="")]
    data = load_funnel(make_data(opportunities=rows))
    assert not data.tracking.tracks("opportunity_created")


def test_opportunities_only_export(make_data) -> None:
    data = load_funnel(make_data(skip=("leads", "targets")))
    assert data.leads.collect().height == 0
    assert data.targets.collect().height == 0
    assert not data.tracking.has_leads
    assert not data.tracking.tracks("mql")
    assert data.tracking.missing("mql", "sal", "leads") == [
        "This data has no leads table, so the marketing side of the funnel (leads, MQLs and "
        "the handoff to sales) cannot be shown."
    ]
    assert data.tracking.missing("targets")[0].startswith("This data has no targets table")


def test_wrong_type(make_data) -> None:
    rows = [opp(opportunity_id="O1", amount="12500"), opp(opportunity_id="O2", amount="$12,500")]
    p = only(problems_of(make_data(opportunities=rows)), "unparseable_type")
    assert (p.column, p.rows, p.n_rows) == ("amount", (2,), 1)
    assert "'$12,500'" in p.message


def test_unparseable_date(make_data) -> None:
    rows = [
        lead(lead_id="L1"),
        lead(lead_id="L2", mql_at="31/01/2026"),
        lead(lead_id="L3", mql_at="2026-02-30"),
    ]
    p = only(problems_of(make_data(leads=rows)), "unparseable_date")
    assert (p.column, p.rows) == ("mql_at", (2, 3))
    assert "2026-03-31T17:45:00Z" in p.message


def test_duplicate_id(make_data) -> None:
    rows = [opp(), opp(), opp(opportunity_id="O2")]
    p = only(problems_of(make_data(opportunities=rows)), "duplicate_id")
    assert (p.column, p.rows, p.n_rows) == ("opportunity_id", (1, 2), 2)


def test_closed_before_created(make_data) -> None:
    rows = [opp(closed_at="2026-01-09T09:00:00Z", outcome="lost")]
    p = only(problems_of(make_data(opportunities=rows)), "closed_before_created")
    assert (p.column, p.rows) == ("closed_at", (1,))


def test_won_without_amount(make_data) -> None:
    rows = [
        opp(opportunity_id="O1", closed_at="2026-02-01T09:00:00Z", outcome="won"),
        opp(opportunity_id="O2", amount="5000"),
    ]
    p = only(problems_of(make_data(opportunities=rows)), "won_without_amount")
    assert (p.column, p.rows) == ("amount", (1,))
    assert "bookings would be understated" in p.message


def test_no_amount_anywhere_is_not_tracked(make_data) -> None:
    # an export without amounts at all: amounts are not tracked, not "won without amount"
    rows = [opp(closed_at="2026-02-01T09:00:00Z", outcome="won")]
    data = load_funnel(make_data(opportunities=rows))
    assert not data.tracking.tracks("amount")
    assert data.tracking.has_won_deals and not data.tracking.has_lost_deals


def test_negative_amount(make_data) -> None:
    p = only(problems_of(make_data(opportunities=[opp(amount="-100")])), "negative_amount")
    assert (p.column, p.rows) == ("amount", (1,))


def test_unknown_source_value(make_data) -> None:
    rows = [opp(opportunity_id="O1", source="Marketing"), opp(opportunity_id="O2", source="events")]
    p = only(problems_of(make_data(opportunities=rows)), "unknown_value")
    # Case and surrounding spaces are forgiven; an unknown word is not.
    assert (p.column, p.rows) == ("source", (2,))
    assert "marketing, sales, partner" in p.fix


def test_every_problem_is_reported_at_once(make_data) -> None:
    rows = [opp(opportunity_id="O1", amount="-1", source="x"), opp(opportunity_id="O1")]
    rules = {p.rule for p in problems_of(make_data(opportunities=rows))}
    assert {"negative_amount", "unknown_value", "duplicate_id"} <= rules


def test_message_names_file_column_rows_and_fix(make_data) -> None:
    with pytest.raises(DataValidationError) as info:
        load_funnel(make_data(opportunities=[opp(amount="-100")]))
    text = str(info.value)
    assert "opportunities.csv, column 'amount': is negative" in text
    assert "(row 1)" in text and "fix:" in text


def test_timestamps_with_offsets_and_naive_values(make_data, tmp_path: Path) -> None:
    from alignment_lib import FiscalCalendar

    rows = [
        lead(lead_id="L1", created_at="2026-03-01T10:00:00+02:00"),
        lead(lead_id="L2", created_at="2026-03-01 10:00:00"),
    ]
    data = load_funnel(make_data(leads=rows), calendar=FiscalCalendar(1, "America/New_York"))
    got = data.leads.sort("lead_id").select(pl.col("created_at").dt.to_string("%Y-%m-%d %H:%M"))
    assert got.collect().to_series().to_list() == ["2026-03-01 08:00", "2026-03-01 15:00"]


def test_date_only_value_on_a_dst_start_day_is_the_first_instant_of_that_day(make_data) -> None:
    """Sao Paulo's clocks jumped from 00:00 to 01:00 on 2017-10-15: the day starts at 01:00
    local (03:00 UTC). A date-only value is that day, not an error; a wall-clock time inside
    the gap does not exist and stays an error."""
    from alignment_lib import FiscalCalendar

    sao_paulo = FiscalCalendar(1, "America/Sao_Paulo")
    rows = [
        lead(lead_id="L1", created_at="2017-10-15"),  # midnight does not exist
        lead(lead_id="L2", created_at="2017-10-14"),  # an ordinary day: local midnight, -03:00
        lead(lead_id="L3", created_at="2017-10-16"),  # after the change: midnight at -02:00
    ]
    data = load_funnel(make_data(leads=rows), calendar=sao_paulo)
    got = data.leads.sort("lead_id").select(pl.col("created_at").dt.to_string("%Y-%m-%d %H:%M"))
    assert got.collect().to_series().to_list() == [
        "2017-10-15 03:00",
        "2017-10-14 03:00",
        "2017-10-16 02:00",
    ]
    # every value is a day of the local calendar it was written for
    local = data.leads.sort("lead_id").select(
        pl.col("created_at").dt.convert_time_zone("America/Sao_Paulo").dt.date()
    )
    assert [d.isoformat() for d in local.collect().to_series()] == [
        "2017-10-15",
        "2017-10-14",
        "2017-10-16",
    ]
    gap = [lead(lead_id="L1", created_at="2017-10-15 00:30:00")]
    with pytest.raises(DataValidationError) as info:
        load_funnel(make_data(leads=gap), calendar=sao_paulo)
    assert "created_at" in str(info.value)


def test_parquet_source(make_data, tmp_path: Path) -> None:
    folder = make_data()
    frame = pl.read_csv(folder / "opportunities.csv", infer_schema=False)
    (folder / "opportunities.csv").unlink()
    frame.with_columns(pl.lit(-5.0).alias("amount")).write_parquet(folder / "opportunities.parquet")
    p = only(problems_of(folder), "negative_amount")
    assert p.file.endswith("opportunities.parquet")


def test_both_csv_and_parquet_is_ambiguous(make_data) -> None:
    folder = make_data()
    pl.read_csv(folder / "targets.csv").write_parquet(folder / "targets.parquet")
    with pytest.raises(SourceError, match=r"both targets\.csv and targets\.parquet"):
        load_funnel(folder)


def test_ragged_csv_is_a_source_error(make_data) -> None:
    folder = make_data()
    with (folder / "targets.csv").open("a") as fh:
        # two fields more than the header (fiscal_quarter .. value, segment, region)
        fh.write("FY2026-Q2,bookings,shared,5,,,extra,fields\n")
    with pytest.raises(SourceError, match=r"targets\.csv"):
        load_funnel(folder)


def test_stage_history_must_reference_known_opportunities(make_data) -> None:
    from alignment_lib.schema import STAGE_HISTORY

    folder = make_data()
    write_table(
        folder,
        "stage_history",
        STAGE_HISTORY.column_names,
        [
            {"opportunity_id": "O1", "changed_at": "2026-01-10T09:00:00Z", "stage": "Discovery"},
            {"opportunity_id": "O9", "changed_at": "2026-01-11T09:00:00Z", "stage": "Discovery"},
        ],
    )
    p = only(problems_of(folder), "unknown_reference")
    assert (p.file.endswith("stage_history.csv"), p.rows) == (True, (2,))


def test_stage_history_with_known_opportunities_loads(make_data) -> None:
    # Regression: a constant "bad" expression once counted 1 orphan on every load.
    from alignment_lib.schema import STAGE_HISTORY

    folder = make_data()
    write_table(
        folder,
        "stage_history",
        STAGE_HISTORY.column_names,
        [
            {"opportunity_id": "O1", "changed_at": "2026-01-10T09:00:00Z", "stage": "Discovery"},
        ],
    )
    assert load_funnel(folder).has_stage_history


# -- plausibility (docs/bad-input.md) ----------------------------------------------------------
def test_dates_before_1990_are_errors(make_data) -> None:
    rows = [lead(lead_id="L1"), lead(lead_id="L2", created_at="1899-12-30T00:00:00Z")]
    opps = [opp(expected_close_date="1900-01-01")]
    problems = problems_of(make_data(leads=rows, opportunities=opps))
    found = {(p.file.rsplit("/", 1)[1], p.column, p.rows) for p in problems}
    assert found == {
        ("leads.csv", "created_at", (2,)),
        ("opportunities.csv", "expected_close_date", (1,)),
    }
    assert all(p.rule == "before_1990" and "1990-01-01" in p.message for p in problems)


def test_dates_past_the_extract_window_are_errors(make_data) -> None:
    # extract date: the latest creation, 2026-01-10 (O1); + 730 days = 2028-01-10
    opps = [
        opp(opportunity_id="O1", closed_at="2028-01-10T09:00:00Z", outcome="lost"),
        opp(opportunity_id="O2", closed_at="2200-03-31T09:00:00Z", outcome="lost"),
        opp(opportunity_id="O3", expected_close_date="2028-01-11"),
    ]
    p = problems_of(make_data(opportunities=opps))
    assert {(x.rule, x.column, x.rows) for x in p} == {
        ("after_extract_window", "closed_at", (2,)),
        ("after_extract_window", "expected_close_date", (3,)),
    }
    assert "2028-01-10, the extract date (2026-01-10" in p[0].message


def test_events_after_the_time_of_the_check_do_not_date_the_extract(make_data) -> None:
    import datetime as dt

    from alignment_lib.fiscal import FiscalCalendar
    from alignment_lib.schema import TABLES
    from alignment_lib.sources import open_source
    from alignment_lib.validate import check_plausibility, validate_table

    folder = make_data(leads=[lead(), lead(lead_id="L2", created_at="2026-06-01T00:00:00Z")])
    source, cal = open_source(folder), FiscalCalendar()
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)  # L2 is "in the future" at this check
    checks = [
        validate_table(source.scan(t), t, cal, now=now) for t in TABLES.values() if t.required
    ]
    got = check_plausibility(checks)
    assert got.extract_date == dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC)
    assert (got.errors, got.warnings) == ([], [])


def test_amount_outlier_is_a_warning_and_left_out(make_data) -> None:
    # median won amount: 1000 (won 900, 1000, 1100); the cap is 1,000,000: the open deal
    # O4 (1,000,001) is above it, O5 (exactly 1,000,000) is not
    won = {"closed_at": "2026-02-01T09:00:00Z", "outcome": "won"}
    opps = [
        opp(opportunity_id="O1", amount="900", **won),
        opp(opportunity_id="O2", amount="1000", **won),
        opp(opportunity_id="O3", amount="1100", **won),
        opp(opportunity_id="O4", amount="1000001"),
        opp(opportunity_id="O5", amount="1000000"),
    ]
    data = load_funnel(make_data(opportunities=opps))
    (w,) = data.warnings
    assert (w.rule, w.column, w.rows) == ("amount_outlier", "amount", (4,))
    assert "(1,000.00)" in w.message and "'1000001.0'" in w.message
    amounts = data.opportunities.sort("opportunity_id").collect()["amount"].to_list()
    assert amounts == [900.0, 1000.0, 1100.0, None, 1_000_000.0]


def test_control_characters_are_removed_and_counted(make_data) -> None:
    rows = [
        lead(lead_id="L1", campaign="Spring\x07\x1b Launch"),
        lead(lead_id="L2", campaign="\u202eevil\u2069", channel="Web\x00inar"),
        lead(lead_id="L3", campaign="Plain", owner_id="rep\t1"),
    ]
    data = load_funnel(make_data(leads=rows))
    got = data.leads.sort("lead_id").select("campaign", "channel", "owner_id").collect().rows()
    assert got == [
        ("Spring Launch", "Webinar", None),
        ("evil", "Webinar", None),
        ("Plain", "Webinar", "rep 1"),
    ]
    assert {(r.column, r.rows, r.n_rows) for r in data.repairs} == {
        ("campaign", (1, 2), 2),
        ("channel", (2,), 1),
        ("owner_id", (3,), 1),
    }


def test_header_only_required_table_is_an_error(make_data) -> None:
    p = only(problems_of(make_data(leads=[])), "no_rows")
    assert p.file.endswith("leads.csv") and "no data rows" in p.message


def test_header_only_targets_is_no_targets_yet(make_data) -> None:
    data = load_funnel(make_data(targets=[]))
    assert data.targets.collect().height == 0
    with pytest.raises(DataValidationError) as info:
        load_funnel(make_data(opportunities=[]))
    assert [p.rule for p in info.value.problems if p.file.endswith("opportunities.csv")] == [
        "no_rows"
    ]


def test_latest_never_passes_the_extract_date() -> None:
    import datetime as dt

    from alignment_lib.fiscal import FiscalCalendar, FiscalQuarter
    from alignment_lib.load import FunnelData
    from alignment_lib.schema import LEADS, STAGE_HISTORY, TARGETS
    from alignment_lib.workbook import latest_complete_quarter

    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)

    leads = (
        pl.LazyFrame(
            {"lead_id": ["L1"], "created_at": [at("2026-07-02")]},
        )
        .select(
            [
                pl.col(c) if c in ("lead_id", "created_at") else pl.lit(None).alias(c)
                for c in LEADS.column_names
            ]
        )
        .cast(LEADS.polars_schema)
    )
    opps = (
        pl.LazyFrame(
            {
                "opportunity_id": ["O1"],
                "created_at": [at("2026-06-01")],
                "closed_at": [at("2200-01-01")],
            }
        )
        .select(
            [
                pl.col(c)
                if c in ("opportunity_id", "created_at", "closed_at")
                else pl.lit(None).alias(c)
                for c in OPPORTUNITIES.column_names
            ]
        )
        .cast(OPPORTUNITIES.polars_schema)
    )
    data = FunnelData(
        leads,
        opps,
        pl.LazyFrame(schema=STAGE_HISTORY.polars_schema),
        pl.LazyFrame(schema=TARGETS.polars_schema),
        FiscalCalendar(),
        "hand-built",
        False,
    )
    # latest event not after now: 2026-07-02 -> the last complete quarter is FY2026-Q2
    assert latest_complete_quarter(data) == FiscalQuarter(2026, 2)


def test_parquet_values_get_the_same_plausibility_and_text_rules(make_data) -> None:
    import datetime as dt

    folder = make_data()
    frame = pl.read_csv(folder / "opportunities.csv", infer_schema=False)
    (folder / "opportunities.csv").unlink()
    frame.with_columns(
        pl.lit(float("nan")).alias("amount"),
        pl.lit(dt.datetime(2200, 1, 1, tzinfo=dt.UTC)).alias("closed_at"),
        pl.lit("lost").alias("outcome"),
        pl.lit("rep\x07-1").alias("owner_id"),
    ).write_parquet(folder / "opportunities.parquet")
    rules = {(p.rule, p.column) for p in problems_of(folder)}
    assert rules == {("unparseable_type", "amount"), ("after_extract_window", "closed_at")}


def test_header_name_with_spaces_or_capitals_is_named_as_such(make_data) -> None:
    folder = make_data()
    path = folder / "targets.csv"
    text = path.read_text(encoding="utf-8").replace("value", " Value", 1)
    path.write_text(text, encoding="utf-8")
    p = only(problems_of(folder), "misnamed_column")
    assert (p.column, p.message) == ("value", "is written ' Value' in the header")
