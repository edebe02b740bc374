"""Targets by segment and region: a filtered report compares with its own targets only.

A hand-built folder, fiscal year = calendar year, UTC, report quarter FY2026-Q1
as of its end (2026-03-31).

Opportunities
| deal | segment    | region | source    | amount | outcome | closed / expected     |
| O1   | Enterprise | EMEA   | marketing | 300    | won     | closed 2026-02-01     |
| O2   | Enterprise | NA     | sales     | 200    | won     | closed 2026-03-01     |
| O3   | SMB        | EMEA   | marketing | 100    | won     | closed 2026-02-15     |
| O4   | Enterprise | EMEA   | sales     | 50     | open    | expected 2026-05-15   |

Targets (segment / region empty = the company's)
| quarter   | metric           | value | segment    | region |
| FY2026-Q1 | bookings         | 1000  |            |        |
| FY2026-Q1 | pipeline_created | 800   |            |        |
| FY2026-Q1 | bookings         | 400   | Enterprise |        |
| FY2026-Q1 | bookings         | 250   | Enterprise | EMEA   |
| FY2026-Q2 | bookings         | 500   | Enterprise |        |

Which rows apply, and the Q1 bookings against them (by hand):
- company: rows 1, 2; bookings O1 + O2 + O3 = 600 against 1000 -> 60%;
- Segment: Enterprise: rows 3, 5; bookings O1 + O2 = 500 against 400 -> 125%;
- Segment: Enterprise, Region: EMEA: row 4; bookings O1 = 300 against 250 -> 120%;
- Region: EMEA: no row (row 4 is Enterprise's, the company's rows are not EMEA's): no
  targets; the actuals alone (bookings O1 + O3 = 400) and the statement why;
- Segment: SMB: no row either.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import alignment_lib as al
from alignment_lib import FiscalCalendar, FiscalQuarter, load_funnel, matching_targets
from alignment_lib.exceptions import DataValidationError, ParameterError
from alignment_lib.load import load_targets, write_snapshot
from alignment_lib.schema import LEADS, OPPORTUNITIES, TARGETS
from alignment_lib.tracking import no_targets_for
from alignment_lib.workbook import Workbook, filter_targets_statement
from tests.conftest import lead, opp, write_table

CAL = FiscalCalendar(1, "UTC")
Q1, Q2 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 2)
AS_OF = dt.datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)

OPPS = [
    opp(
        opportunity_id="O1",
        segment="Enterprise",
        region="EMEA",
        amount="300",
        stage="Closed Won",
        outcome="won",
        closed_at="2026-02-01T09:00:00Z",
    ),
    opp(
        opportunity_id="O2",
        segment="Enterprise",
        region="NA",
        source="sales",
        amount="200",
        stage="Closed Won",
        outcome="won",
        closed_at="2026-03-01T09:00:00Z",
    ),
    opp(
        opportunity_id="O3",
        segment="SMB",
        region="EMEA",
        amount="100",
        stage="Closed Won",
        outcome="won",
        closed_at="2026-02-15T09:00:00Z",
    ),
    opp(
        opportunity_id="O4",
        segment="Enterprise",
        region="EMEA",
        source="sales",
        amount="50",
        stage="Proposal",
        expected_close_date="2026-05-15",
    ),
]


def target(quarter: str, metric: str, value: str, segment: str = "", region: str = "") -> dict:
    return {
        "fiscal_quarter": quarter,
        "metric": metric,
        "team": "shared",
        "value": value,
        "segment": segment,
        "region": region,
    }


TARGET_ROWS = [
    target("FY2026-Q1", "bookings", "1000"),
    target("FY2026-Q1", "pipeline_created", "800"),
    target("FY2026-Q1", "bookings", "400", "Enterprise"),
    target("FY2026-Q1", "bookings", "250", "Enterprise", "EMEA"),
    target("FY2026-Q2", "bookings", "500", "Enterprise"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    out.mkdir()
    write_table(
        out,
        "leads",
        LEADS.column_names,
        [lead(segment="Enterprise", region="EMEA", mql_at="2026-01-05T10:00:00Z")],
    )
    write_table(out, "opportunities", OPPORTUNITIES.column_names, OPPS)
    write_table(out, "targets", TARGETS.column_names, TARGET_ROWS)
    return out


def values(frame: pl.LazyFrame) -> list[tuple]:
    return sorted(
        frame.select("fiscal_quarter", "metric", "value", "segment", "region").collect().rows()
    )


def bookings_row(data: al.FunnelData) -> dict:
    seen = data.at(AS_OF)
    card = al.shared_scorecard(
        seen.leads, seen.opportunities, seen.targets, calendar=CAL, quarter=Q1, as_of=AS_OF
    ).collect()
    return card.filter(pl.col("metric") == "bookings").row(0, named=True)


# -- which rows apply ------------------------------------------------------------------------
def test_matching_targets_by_hand(folder: Path) -> None:
    rows = load_funnel(folder, calendar=CAL).target_rows
    assert values(matching_targets(rows)) == [
        ("FY2026-Q1", "bookings", 1000.0, None, None),
        ("FY2026-Q1", "pipeline_created", 800.0, None, None),
    ]
    assert values(matching_targets(rows, filters={"segment": "Enterprise"})) == [
        ("FY2026-Q1", "bookings", 400.0, "Enterprise", None),
        ("FY2026-Q2", "bookings", 500.0, "Enterprise", None),
    ]
    both = {"segment": "Enterprise", "region": "EMEA"}
    assert values(matching_targets(rows, filters=both)) == [
        ("FY2026-Q1", "bookings", 250.0, "Enterprise", "EMEA")
    ]
    # never borrowed from a wider scope, never from another segment
    assert values(matching_targets(rows, filters={"region": "EMEA"})) == []
    assert values(matching_targets(rows, filters={"segment": "SMB"})) == []
    # an empty value is no filter; a column targets do not have matches nothing
    assert values(matching_targets(rows, filters={"segment": "", "region": None})) == values(
        matching_targets(rows)
    )
    assert values(matching_targets(rows, filters={"product": "Pro"})) == []


def test_a_targets_frame_without_scope_columns_is_the_companys() -> None:
    plain = pl.LazyFrame(
        {"fiscal_quarter": ["FY2026-Q1"], "metric": ["bookings"], "team": ["shared"]},
    ).with_columns(value=pl.lit(5.0))
    assert matching_targets(plain).collect().height == 1
    assert matching_targets(plain, filters={"segment": "Enterprise"}).collect().height == 0


# -- the data model ----------------------------------------------------------------------------
def test_company_and_segment_rows_of_one_target_are_not_duplicates(folder: Path) -> None:
    data = load_funnel(folder, calendar=CAL)
    assert data.target_rows.collect().height == 5
    assert values(data.targets) == values(matching_targets(data.target_rows))


def test_two_rows_for_the_same_scope_are_duplicates(folder: Path) -> None:
    write_table(
        folder,
        "targets",
        TARGETS.column_names,
        [*TARGET_ROWS, target("FY2026-Q1", "bookings", "390", "Enterprise")],
    )
    with pytest.raises(DataValidationError) as info:
        load_funnel(folder, calendar=CAL)
    [problem] = [p for p in info.value.problems if p.rule == "duplicate_id"]
    assert problem.column == "fiscal_quarter, metric, team, segment, region"
    # rows 3 and 6: the Enterprise row and its repeat (the company's row is not one)
    assert problem.rows == (3, 6)
    assert "FY2026-Q1 / bookings / shared / Enter" in problem.message


@pytest.mark.slow
def test_targets_without_scope_columns_are_the_companys(folder: Path) -> None:
    write_table(
        folder,
        "targets",
        ["fiscal_quarter", "metric", "team", "value"],
        [{k: r[k] for k in ("fiscal_quarter", "metric", "team", "value")} for r in TARGET_ROWS[:2]],
    )
    data = load_funnel(folder, calendar=CAL)
    assert bookings_row(data)["target"] == 1000.0
    enterprise = data.where(segment="Enterprise")
    assert enterprise.targets.collect().height == 0
    assert enterprise.tracking.targets_unset_for == "Segment: Enterprise"


# -- a filtered report compares with its own targets -------------------------------------------
@pytest.mark.slow
def test_company_report_compares_with_the_company_targets(folder: Path) -> None:
    data = load_funnel(folder, calendar=CAL)
    row = bookings_row(data)
    assert (row["actual"], row["target"], row["attainment"]) == (600.0, 1000.0, 0.6)
    assert data.tracking.missing("targets") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filters", "actual", "target"),
    [
        ({"segment": "Enterprise"}, 500.0, 400.0),
        ({"segment": "Enterprise", "region": "EMEA"}, 300.0, 250.0),
    ],
)
def test_filtered_report_compares_with_its_own_targets(
    folder: Path, filters: dict, actual: float, target: float
) -> None:
    data = load_funnel(folder, calendar=CAL).where(**filters)
    row = bookings_row(data)
    assert (row["actual"], row["target"]) == (actual, target)
    assert row["attainment"] == pytest.approx(actual / target)
    assert data.tracking.targets_unset_for == ""
    assert data.tracking.missing("targets") == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filters", "scope", "actual"),
    [({"region": "EMEA"}, "Region: EMEA", 400.0), ({"segment": "SMB"}, "Segment: SMB", 100.0)],
)
def test_filtered_report_without_targets_of_its_own_shows_actuals_and_says_why(
    folder: Path, filters: dict, scope: str, actual: float
) -> None:
    data = load_funnel(folder, calendar=CAL).where(**filters)
    assert data.targets.collect().height == 0
    assert data.tracking.targets_unset_for == scope
    why = (
        f"No targets are set for {scope}; the company's targets do not apply to a filtered report."
    )
    assert no_targets_for(scope) == why
    assert data.tracking.missing("targets") == [why]
    row = bookings_row(data)
    assert row["actual"] == actual
    assert (row["target"], row["attainment"], row["pacing"], row["status"]) == (None,) * 4
    # the gate states it in place of attainment, on every builder that shows a target
    seen = data.at(AS_OF)
    card = al.shared_scorecard(
        seen.leads, seen.opportunities, seen.targets, calendar=CAL, quarter=Q1, as_of=AS_OF
    ).collect()
    assert al.scorecard_summary(card, tracking=data.tracking) == [why]
    assert al.attention_items(
        card, pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), tracking=data.tracking
    ) == [why]
    html = al.table_scorecard(card, tracking=data.tracking).as_raw_html()
    assert why.replace("'", "&#x27;") in html
    assert "Bookings" in html and "behind" not in html


@pytest.mark.slow
def test_targets_file_is_seen_through_the_filter(folder: Path, tmp_path: Path) -> None:
    data = load_funnel(folder, calendar=CAL)
    plan = write_table(
        tmp_path,
        "plan",
        TARGETS.column_names,
        [target("FY2026-Q1", "bookings", "480", "Enterprise")],
    )
    other = load_targets(plan, calendar=CAL)
    # set before or after the filter, the same rows apply
    before = data.with_targets(other).where(segment="Enterprise")
    after = data.where(segment="Enterprise").with_targets(other)
    for scoped in (before, after):
        assert bookings_row(scoped)["target"] == 480.0
    assert data.where(region="EMEA").with_targets(other).tracking.targets_unset_for == (
        "Region: EMEA"
    )


@pytest.mark.slow
def test_snapshot_keeps_every_target_row(folder: Path, tmp_path: Path) -> None:
    data = load_funnel(folder, calendar=CAL)
    snap = write_snapshot(data, tmp_path / "snapshot")
    again = load_funnel(snap, calendar=CAL)
    assert values(again.targets) == values(data.targets)
    assert bookings_row(again.where(segment="Enterprise"))["target"] == 400.0
    with pytest.raises(ParameterError, match="not data filtered to Segment: Enterprise"):
        write_snapshot(data.where(segment="Enterprise"), tmp_path / "filtered")


# -- what the pages say -------------------------------------------------------------------------
def _workbook(data: al.FunnelData, filters: dict) -> Workbook:
    return Workbook(data.where(**filters).at(AS_OF), Q1, Q1, AS_OF, filters)


def test_banner_says_which_targets_the_page_compares_with(folder: Path) -> None:
    data = load_funnel(folder, calendar=CAL)
    assert filter_targets_statement(_workbook(data, {})) == ""
    assert filter_targets_statement(_workbook(data, {"segment": "Enterprise"})) == (
        "Targets: those set for Segment: Enterprise in the targets table."
    )
    assert filter_targets_statement(_workbook(data, {"region": "EMEA"})) == (
        "No targets are set for Region: EMEA; the company's targets do not apply to a "
        "filtered report."
    )


def test_open_workbook_applies_the_filters_targets(folder: Path) -> None:
    wb = al.open_workbook(quarter="FY2026-Q1", data_dir=str(folder), segment="Enterprise")
    assert values(wb.data.targets) == [
        ("FY2026-Q1", "bookings", 400.0, "Enterprise", None),
        ("FY2026-Q2", "bookings", 500.0, "Enterprise", None),
    ]
    # the next quarter's coverage is measured against Enterprise's 500, not the company's
    cov = al.pipeline_coverage(
        wb.data.opportunities,
        wb.data.targets,
        stage_history=wb.data.stage_history,
        calendar=wb.calendar,
        quarter=Q2,
        quarters=1,
        as_of=wb.as_of,
    ).collect()
    assert cov.select("open_pipeline", "target", "remaining", "coverage").row(0) == (
        50.0,
        500.0,
        500.0,
        0.1,
    )
