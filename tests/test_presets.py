"""Presets (alignment_lib/presets/*.toml) read their example exports (tests/presets/<preset>/).

The examples are one subset of the kit's sample (tests/presets/make_examples.py:
every 16th opportunity, its leads and stage changes) written as each CRM writes
it. So every preset must load the same deals the sample has, and a few rows are
checked by hand: this export row becomes this canonical row. The slow tests
render each example end to end, as the README's "Your own data" says.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import polars as pl
import pytest

from alignment_lib.cli import main
from alignment_lib.fiscal import FiscalCalendar
from alignment_lib.load import FunnelData, load_funnel
from alignment_lib.mapping import PRESET_DIR, list_presets, load_mapping, open_mapping
from alignment_lib.render import WORKBOOKS
from alignment_lib.workbook import STATIC_PICTURES_ENV
from tests.conftest import REPO, SAMPLE

EXAMPLES = REPO / "tests" / "presets"
UK = EXAMPLES / "salesforce-report-uk" / "mapping.toml"
UTC = dt.UTC


def preset_data(name: str, calendar: FiscalCalendar | None = None) -> FunnelData:
    return load_funnel(open_mapping(name, data=EXAMPLES / name), calendar=calendar)


def row(frame: pl.LazyFrame, column: str, value: str, *columns: str) -> dict:
    found = frame.filter(pl.col(column) == value).select(columns).collect()
    assert found.height == 1, (value, found)
    return found.row(0, named=True)


def test_every_preset_has_an_example_and_the_wheel_ships_them() -> None:
    assert list_presets() == ["hubspot", "salesforce", "salesforce-report"]
    for name in list_presets():
        assert (EXAMPLES / name).is_dir(), name
        load_mapping(name)  # parses, every key known
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"presets/*.toml"' in pyproject
    assert PRESET_DIR == REPO / "alignment_lib" / "presets"


# == hand-checked rows =============================================================================
def test_salesforce_api_rows() -> None:
    data = preset_data("salesforce")
    # Opportunity.csv line 2: "0065g000000000GAAQ", StageName "Closed Lost", Amount 83000,
    # CloseDate 2023-12-05, CreatedDate 2023-10-16T16:25:00.000Z, IsClosed true, IsWon false,
    # LeadSource "" (a rep's own deal: empty = "sales"), OwnerId 0055g00000002LDAAY
    assert row(
        data.opportunities,
        "opportunity_id",
        "0065g000000000GAAQ",
        "created_at",
        "stage",
        "amount",
        "outcome",
        "closed_at",
        "expected_close_date",
        "source",
        "channel",
        "owner_id",
    ) == {
        "created_at": dt.datetime(2023, 10, 16, 16, 25, tzinfo=UTC),
        "stage": "Closed Lost",
        "amount": 83000.0,
        "outcome": "lost",
        "closed_at": dt.datetime(2023, 12, 5, tzinfo=UTC),  # a date: midnight, reporting zone
        "expected_close_date": None,
        "source": "sales",
        "channel": None,
        "owner_id": "0055g00000002LDAAY",
    }
    # an open deal: "Qualification", IsClosed false, CloseDate 2026-11-30 is the expected close
    assert row(
        data.opportunities,
        "opportunity_id",
        "0065g00000000mGAAQ",
        "outcome",
        "closed_at",
        "expected_close_date",
        "source",
        "channel",
    ) == {
        "outcome": None,
        "closed_at": None,
        "expected_close_date": dt.date(2026, 11, 30),
        "source": "marketing",  # LeadSource "Advertisement"
        "channel": "Advertisement",
    }
    # Lead.csv: 00Q5g00000005dfEAA, converted into 0065g00000000mmAAA; MQL_Date__c is not read
    assert row(
        data.leads,
        "lead_id",
        "00Q5g00000005dfEAA",
        "created_at",
        "channel",
        "owner_id",
        "opportunity_id",
        "mql_at",
    ) == {
        "created_at": dt.datetime(2026, 3, 18, 17, 17, tzinfo=UTC),
        "channel": "Purchased List",
        "owner_id": "0055g00000002LKAAY",
        "opportunity_id": "0065g00000000mmAAA",
        "mql_at": None,
    }
    assert data.tracking.missing("mql") == [
        "MQLs are not tracked in this data (no MQL dates), so the handoff and the funnel "
        "from MQL cannot be shown."
    ]
    # OpportunityHistory.csv line 3: the deal's second change
    history = data.stage_history.filter(pl.col("opportunity_id") == "0065g000000000GAAQ")
    assert history.sort("changed_at").collect().row(1) == (
        "0065g000000000GAAQ",
        dt.datetime(2023, 10, 23, 21, 41, tzinfo=UTC),
        "Qualification",
        100000.0,
        dt.date(2023, 12, 31),
    )
    assert data.currency == "USD"  # CurrencyIsoCode holds USD only


def test_salesforce_report_rows() -> None:
    data = preset_data("salesforce-report")
    # opportunities.csv: "Jonas Becker", ..., "Negotiation/Review", "20000.00", "90",
    # "12/31/2026", "6/16/2026", "Webinar", ..., "0065g00000000oq" (US dates, month first)
    assert row(
        data.opportunities,
        "opportunity_id",
        "0065g00000000oq",
        "created_at",
        "stage",
        "amount",
        "outcome",
        "closed_at",
        "expected_close_date",
        "source",
        "owner_id",
    ) == {
        "created_at": dt.datetime(2026, 6, 16, tzinfo=UTC),
        "stage": "Negotiation/Review",
        "amount": 20000.0,
        "outcome": None,  # [stages] "Negotiation/Review" = "open"
        "closed_at": None,
        "expected_close_date": dt.date(2026, 12, 31),
        "source": "marketing",
        "owner_id": "Jonas Becker",
    }
    # the first deal: "Closed Lost", closed "12/5/2023" (5 December), created "10/16/2023"
    assert row(data.opportunities, "opportunity_id", "0065g000000000G", "outcome", "closed_at") == {
        "outcome": "lost",
        "closed_at": dt.datetime(2023, 12, 5, tzinfo=UTC),
    }
    # opportunity_history.csv line 3: "10/23/2023 9:41 PM", to stage "Qualification"
    history = data.stage_history.filter(pl.col("opportunity_id") == "0065g000000000G")
    assert history.sort("changed_at").collect().row(1) == (
        "0065g000000000G",
        dt.datetime(2023, 10, 23, 21, 41, tzinfo=UTC),
        "Qualification",
        100000.0,
        dt.date(2023, 12, 31),
    )


def test_salesforce_report_uk_mapping_rows() -> None:
    m = load_mapping(UK)
    assert m.report_defaults == {"fiscal_year_start_month": 4, "timezone": "Europe/London"}
    data = load_funnel(open_mapping(UK), calendar=FiscalCalendar(4, "Europe/London"))
    assert data.currency == "GBP"
    # "16/10/2023" (16 October, day first) is midnight in London, BST = UTC+1;
    # "05/12/2023" (5 December) is midnight GMT; the custom "Loss Reason" column is read
    assert row(
        data.opportunities,
        "opportunity_id",
        "0065g000000000G",
        "created_at",
        "closed_at",
        "lost_reason",
    ) == {
        "created_at": dt.datetime(2023, 10, 15, 23, tzinfo=UTC),
        "closed_at": dt.datetime(2023, 12, 5, tzinfo=UTC),
        "lost_reason": "Price",
    }
    # "MQL Date" (a custom column, one line in the mapping) is tracked
    assert not data.tracking.missing("mql")


def test_hubspot_rows() -> None:
    data = preset_data("hubspot")
    assert data.currency == "EUR"  # deal_currency_code
    # deals.csv: 9100002992, qualifiedtobuy, 165500, createdate 1778052840000 ms
    # = 20579 days (2026-05-06) * 86400 s + 7 h 34 min; closedate 1795996800000 ms = 2026-11-30
    assert row(
        data.opportunities,
        "opportunity_id",
        "9100002992",
        "created_at",
        "stage",
        "amount",
        "outcome",
        "closed_at",
        "expected_close_date",
        "source",
        "channel",
    ) == {
        "created_at": dt.datetime(2026, 5, 6, 7, 34, tzinfo=UTC),
        "stage": "Qualified to buy",
        "amount": 165500.0,
        "outcome": None,
        "closed_at": None,
        "expected_close_date": dt.date(2026, 11, 30),
        "source": "marketing",  # PAID_SEARCH
        "channel": "Paid Search",
    }
    # its stage history: the two hs_date_entered_* columns with a value
    history = data.stage_history.filter(pl.col("opportunity_id") == "9100002992")
    assert history.select("stage", "changed_at").collect().rows() == [
        ("Appointment scheduled", dt.datetime(2026, 5, 6, 7, 34, tzinfo=UTC)),
        # 1781527500000 ms = 2026-06-15 (20619 days) + 12:45
        ("Qualified to buy", dt.datetime(2026, 6, 15, 12, 45, tzinfo=UTC)),
    ]
    # contacts.csv: 51000000197, ISO date-times, lifecycle-stage dates
    assert row(
        data.leads,
        "lead_id",
        "51000000197",
        "created_at",
        "channel",
        "campaign",
        "mql_at",
        "sql_at",
        "first_touch_at",
    ) == {
        "created_at": dt.datetime(2023, 10, 10, 1, 12, tzinfo=UTC),
        "channel": "Paid Search",
        "campaign": "Paid Search - Brand",
        "mql_at": dt.datetime(2023, 10, 10, 1, 16, tzinfo=UTC),
        "sql_at": dt.datetime(2023, 11, 1, 13, 7, tzinfo=UTC),
        "first_touch_at": dt.datetime(2023, 10, 10, 18, 9, tzinfo=UTC),
    }
    # no standard property: SAL not tracked, leads not linked to deals
    assert not data.tracking.tracks("sal")
    assert not data.tracking.tracks("lead_opportunity")


# == every preset loads the sample's deals =========================================================
def sample_subset() -> pl.DataFrame:
    opps = load_funnel(SAMPLE).opportunities
    n = pl.col("opportunity_id").str.slice(1).cast(pl.Int64)
    return opps.filter(n % 16 == 0).collect()


def summary(opps: pl.LazyFrame | pl.DataFrame) -> dict:
    frame = opps.lazy().with_columns(
        pl.col("created_at").dt.date().alias("created"), pl.col("closed_at").dt.date()
    )
    return (
        frame.select(
            pl.len().alias("deals"),
            (pl.col("outcome") == "won").sum().alias("won"),
            (pl.col("outcome") == "lost").sum().alias("lost"),
            pl.col("amount").filter(pl.col("outcome") == "won").sum().alias("won_amount"),
            pl.col("amount").filter(pl.col("outcome").is_null()).sum().alias("open_amount"),
            pl.col("created").sort().implode().alias("created"),
            pl.col("closed_at").drop_nulls().sort().implode().alias("closed"),
            # CloseDate is the expected close only while a deal is open
            pl.col("expected_close_date")
            .filter(pl.col("outcome").is_null())
            .sort()
            .implode()
            .alias("expected"),
        )
        .collect()
        .row(0, named=True)
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["salesforce", "salesforce-report", "hubspot"])
def test_preset_loads_the_same_deals_as_the_sample(name: str) -> None:
    expected = sample_subset()
    data = preset_data(name)
    assert summary(data.opportunities) == summary(expected)
    sources = data.opportunities.group_by("source").len().sort("source").collect().rows()
    want = expected.group_by("source").len().sort("source").rows()
    if name == "hubspot":
        # HubSpot has no partner source: partner referrals arrive as REFERRALS, marketing's
        totals = dict(want)
        want = [("marketing", totals["marketing"] + totals["partner"]), ("sales", totals["sales"])]
    assert sources == want


# == end to end ====================================================================================
def render(tmp_path: Path, argv: list[str]) -> Path:
    out = tmp_path / "reports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STATIC_PICTURES_ENV, "0")  # the kernels inherit it
        assert main(["report", *argv, "--no-images", "--out", str(out)]) == 0
    return out


def page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["salesforce", "salesforce-report", "hubspot"])
def test_preset_example_renders_end_to_end(tmp_path: Path, name: str) -> None:
    out = render(tmp_path, ["--preset", name, "--data", str(EXAMPLES / name)])
    folder = out / "FY2026-Q3"
    assert (folder / "index.html").is_file()
    for workbook in WORKBOOKS:
        text = page_text(folder / f"{workbook}.html")
        assert "An Exception was encountered" not in text, workbook
        assert f"preset {name}" in text, workbook  # the data line names the mapping
    # the sample's subset: won amount closed in Jul-Sep 2026, summed from the sample itself
    subset = sample_subset().filter(
        (pl.col("outcome") == "won")
        & pl.col("closed_at").is_between(
            dt.datetime(2026, 7, 1, tzinfo=UTC), dt.datetime(2026, 10, 1, tzinfo=UTC), "left"
        )
    )
    booked = subset["amount"].sum()
    assert round(booked / 1000, 1) == 406.1
    assert "Bookings in FY2026-Q3 were" in page_text(folder / "pipeline_vs_closes.html")
    assert "406.1K" in page_text(folder / "pipeline_vs_closes.html")


@pytest.mark.slow
def test_uk_mapping_renders_with_its_fiscal_year(tmp_path: Path) -> None:
    out = render(tmp_path, ["--mapping", str(UK)])
    # fiscal year from April ([report] in the mapping): Jul-Sep 2026 is FY2027-Q2
    folder = out / "FY2027-Q2"
    assert (folder / "index.html").is_file()
    text = page_text(folder / "pipeline_vs_closes.html")
    assert "Bookings in FY2027-Q2 were" in text and "406.1K" in text
    assert "mapping mapping.toml" in text


def test_readme_mapping_extends_the_preset(tmp_path: Path) -> None:
    """The README's "Your own data" mapping, next to the Salesforce example's files."""
    import shutil

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Your own data") :]
    start = section.index("```toml\n") + 8
    text = section[start : section.index("\n```", start)]
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLES / "salesforce", folder)
    (folder / "acme.toml").write_text(text, encoding="utf-8")
    m = load_mapping(folder / "acme.toml")
    assert m.report_defaults == {"fiscal_year_start_month": 2, "timezone": "Europe/Berlin"}
    data = load_funnel(open_mapping(folder / "acme.toml"))
    # the two custom fields the preset leaves out are now read
    assert not data.tracking.missing("mql", "lost_reason")
    assert row(data.opportunities, "opportunity_id", "0065g000000000GAAQ", "lost_reason") == {
        "lost_reason": "Price"
    }


def test_notebook_parameter_mapping_reads_a_preset(monkeypatch) -> None:
    """open_workbook(mapping=...) (the notebooks' `mapping` parameter); load_uncut reads the
    same mapped export again for the data-health page."""
    from alignment_lib.workbook import load_uncut, open_workbook

    monkeypatch.setenv(STATIC_PICTURES_ENV, "0")
    wb = open_workbook(quarter="FY2026-Q2", data_dir=str(EXAMPLES / "hubspot"), mapping="hubspot")
    assert wb.data.source == "hubspot (preset hubspot)"  # a folder by its name, no full path
    assert wb.data.currency == "EUR"
    full = load_uncut(wb.data, filters=wb.filters)
    assert full is not None and full.opportunities.collect().height == 232
