"""Shared scorecard on a hand-built quarter; every expected value worked by hand.

Calendar: fiscal year = calendar year, UTC. Quarter FY2026-Q1 = 1 Jan - 31 Mar (90 days).
As of the end of 14 Feb: 45 of 90 days elapsed, elapsed share 0.5.

Opportunities
| deal | created    | source    | amount | outcome | closed     |
| A    | 2026-01-10 | marketing | 100    | won     | 2026-02-01 |
| B    | 2026-01-20 | sales     | 50     | open    |            |
| C    | 2025-12-15 | partner   | 40     | won     | 2026-01-05 |
Bookings in Q1: A + C = 140 (marketing 100, sales 0, partner 40).
Pipeline created in Q1: A + B = 150 (marketing 100, sales 50, partner 0); C is FY2025-Q4.

Leads (SLA 24 h)
| lead | mql_at           | first_touch_at   |                                    |
| L1   | 2026-01-02 09:00 | 2026-01-02 11:00 | touched in 2 h: due, within SLA    |
| L2   | 2026-01-03 09:00 | (never)          | older than 24 h: due, a miss       |
| L3   | 2026-02-14 10:00 | (never)          | 14 h old at as-of: not yet due     |
| L4   | (none)           |                  | not an MQL                         |
MQLs in Q1: 3. SLA compliance: 1 within / 2 due = 0.5.

Targets for Q1 -> attainment, expected to date (target x 0.5; rates: the target), pacing, status
| bookings/shared 400                    | 140 | 0.35   | 200 | 0.7    | behind (< 0.9)   |
| bookings/marketing 150                 | 100 | 0.6667 | 75  | 1.3333 | on track         |
| pipeline_created/shared 300            | 150 | 0.5    | 150 | 1.0    | on track         |
| marketing_pipeline_created/marketing 210 | 100 | 0.4762 | 105 | 0.9524 | at risk        |
| mqls/marketing 6                       | 3   | 0.5    | 3   | 1.0    | on track         |
| sla_compliance/sales 0.54              | 0.5 | 0.9259 | 0.54| 0.9259 | at risk (gap .04)|
A FY2026-Q2 target is ignored.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alignment_lib import FiscalCalendar, FiscalQuarter
from alignment_lib.metrics.scorecard import elapsed_share, shared_scorecard
from alignment_lib.schema import LEADS, OPPORTUNITIES, TARGETS

Q1 = FiscalQuarter(2026, 1)
CAL = FiscalCalendar(1, "UTC")
AS_OF = dt.datetime(2026, 2, 14, 23, 59, 59, 999999, tzinfo=dt.UTC)


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    full = [{c: r.get(c) for c in table.column_names} for r in rows]
    return pl.DataFrame(full, schema=table.polars_schema).lazy()


OPPS = frame(
    OPPORTUNITIES,
    [
        {
            "opportunity_id": "A",
            "created_at": t("2026-01-10T09:00"),
            "source": "marketing",
            "amount": 100.0,
            "stage": "Closed Won",
            "outcome": "won",
            "closed_at": t("2026-02-01T09:00"),
        },
        {
            "opportunity_id": "B",
            "created_at": t("2026-01-20T09:00"),
            "source": "sales",
            "amount": 50.0,
            "stage": "Proposal",
        },
        {
            "opportunity_id": "C",
            "created_at": t("2025-12-15T09:00"),
            "source": "partner",
            "amount": 40.0,
            "stage": "Closed Won",
            "outcome": "won",
            "closed_at": t("2026-01-05T09:00"),
        },
    ],
)
LEADS_ = frame(
    LEADS,
    [
        {
            "lead_id": "L1",
            "created_at": t("2026-01-01T09:00"),
            "channel": "Webinar",
            "mql_at": t("2026-01-02T09:00"),
            "first_touch_at": t("2026-01-02T11:00"),
        },
        {
            "lead_id": "L2",
            "created_at": t("2026-01-01T09:00"),
            "channel": "Events",
            "mql_at": t("2026-01-03T09:00"),
        },
        {
            "lead_id": "L3",
            "created_at": t("2026-02-01T09:00"),
            "channel": "Events",
            "mql_at": t("2026-02-14T10:00"),
        },
        {"lead_id": "L4", "created_at": t("2026-02-01T09:00"), "channel": "Events"},
    ],
)
TARGETS_ = frame(
    TARGETS,
    [
        {"fiscal_quarter": "FY2026-Q1", "metric": m, "team": team, "value": v}
        for m, team, v in [
            ("bookings", "shared", 400.0),
            ("bookings", "marketing", 150.0),
            ("pipeline_created", "shared", 300.0),
            ("marketing_pipeline_created", "marketing", 210.0),
            ("mqls", "marketing", 6.0),
            ("sla_compliance", "sales", 0.54),
        ]
    ]
    + [{"fiscal_quarter": "FY2026-Q2", "metric": "bookings", "team": "shared", "value": 9.0}],
)


def scorecard() -> pl.DataFrame:
    return shared_scorecard(LEADS_, OPPS, TARGETS_, calendar=CAL, quarter=Q1, as_of=AS_OF).collect()


def test_elapsed_share() -> None:
    assert elapsed_share(CAL, Q1, AS_OF) == 0.5
    assert elapsed_share(CAL, Q1, t("2025-12-01T00:00")) == 0.0
    assert elapsed_share(CAL, Q1, t("2026-05-01T00:00")) == 1.0


def test_scorecard_worked_by_hand() -> None:
    got = {(r["metric"], r["team"]): r for r in scorecard().iter_rows(named=True)}
    expected = {
        ("bookings", "shared"): (140.0, 0.35, 200.0, 0.7, "behind"),
        ("bookings", "marketing"): (100.0, 100 / 150, 75.0, 100 / 75, "on track"),
        ("pipeline_created", "shared"): (150.0, 0.5, 150.0, 1.0, "on track"),
        ("marketing_pipeline_created", "marketing"): (
            100.0,
            100 / 210,
            105.0,
            100 / 105,
            "at risk",
        ),
        ("mqls", "marketing"): (3.0, 0.5, 3.0, 1.0, "on track"),
        ("sla_compliance", "sales"): (0.5, 0.5 / 0.54, 0.54, 0.5 / 0.54, "at risk"),
    }
    assert set(got) == set(expected)
    for key, (actual, attainment, to_date, pacing, status) in expected.items():
        row = got[key]
        assert row["actual"] == pytest.approx(actual), key
        assert row["attainment"] == pytest.approx(attainment), key
        assert row["expected_to_date"] == pytest.approx(to_date), key
        assert row["pacing"] == pytest.approx(pacing), key
        assert row["status"] == status, key


def test_contributions_split_amount_actuals_by_source() -> None:
    rows = scorecard().filter(pl.col("metric") == "bookings", pl.col("team") == "shared")
    assert rows.select("marketing", "sales", "partner").row(0) == (100.0, 0.0, 40.0)
    mqls = scorecard().filter(pl.col("metric") == "mqls")
    assert mqls.select("marketing", "sales", "partner").row(0) == (None, None, None)


def test_quarter_without_targets_shows_the_actuals_alone() -> None:
    """No target row for Q1 (a filtered report without targets of its own, or a quarter the
    table has no row for): one row per target metric, team shared, with the actuals of the
    module docstring and nothing measured against a target.

    bookings 140 (100 / 0 / 40); pipeline created 150 (100 / 50 / 0); marketing-sourced
    pipeline 100 (100 / 0 / 0); won deals A, C = 2 (1 / 0 / 1); opportunities created A, B
    = 2 (1 / 1 / 0); MQLs 3; SLA compliance 0.5.
    """
    got = shared_scorecard(
        LEADS_, OPPS, TARGETS_.clear(), calendar=CAL, quarter=Q1, as_of=AS_OF
    ).collect()
    actuals = {
        r["metric"]: (r["team"], r["actual"], r["marketing"], r["sales"], r["partner"])
        for r in got.iter_rows(named=True)
    }
    assert actuals == {
        "bookings": ("shared", 140.0, 100.0, 0.0, 40.0),
        "pipeline_created": ("shared", 150.0, 100.0, 50.0, 0.0),
        "marketing_pipeline_created": ("shared", 100.0, 100.0, 0.0, 0.0),
        "won_deals": ("shared", 2.0, 1.0, 0.0, 1.0),
        "opportunities_created": ("shared", 2.0, 1.0, 1.0, 0.0),
        "mqls": ("shared", 3.0, None, None, None),
        "sla_compliance": ("shared", 0.5, None, None, None),
    }
    assert got["metric"].to_list() == sorted(actuals)
    for column in ("target", "attainment", "expected_to_date", "pacing", "status"):
        assert got[column].is_null().all(), column
    assert got["kind"].to_list() == [
        "amount",
        "amount",
        "count",
        "count",
        "amount",
        "rate",
        "count",
    ]


def test_quarter_the_targets_table_has_no_row_for_shows_actuals_only() -> None:
    # FY2027-Q1: targets exist, not for this quarter; nothing happened in it yet
    got = shared_scorecard(
        LEADS_, OPPS, TARGETS_, calendar=CAL, quarter=FiscalQuarter(2027, 1), as_of=AS_OF
    ).collect()
    assert got.height == 7 and got["team"].unique().to_list() == ["shared"]
    bookings = got.filter(pl.col("metric") == "bookings")
    assert bookings.select("actual", "target", "status").row(0) == (0.0, None, None)


def test_quarter_with_no_activity_reads_zero_and_behind() -> None:
    got = shared_scorecard(
        LEADS_.clear(), OPPS.clear(), TARGETS_, calendar=CAL, quarter=Q1, as_of=AS_OF
    ).collect()
    bookings = got.filter(pl.col("metric") == "bookings", pl.col("team") == "shared")
    assert bookings.select("actual", "status").row(0) == (0.0, "behind")
    # no MQL is due yet: compliance is unknown, not 0%
    sla = got.filter(pl.col("metric") == "sla_compliance")
    assert sla.select("actual", "status").row(0) == (None, None)


COUNT_TARGETS = frame(
    TARGETS,
    [
        {"fiscal_quarter": "FY2026-Q1", "metric": m, "team": team, "value": v}
        for m, team, v in [
            ("won_deals", "shared", 4.0),
            ("won_deals", "partner", 1.0),
            ("opportunities_created", "sales", 2.0),
        ]
    ],
)


def test_count_targets_count_deals() -> None:
    """Won deals in Q1: A (marketing, 1 Feb) and C (partner, 5 Jan) = 2, half of the
    target 4; expected to date 4 x 0.5 = 2, pacing 1.0: on track. Partner's part: C = 1
    against 1, pacing 1 / 0.5 = 2.0. Opportunities created in Q1: A (marketing) and B
    (sales); the sales team's target 2 is met by B alone: 1, attainment 0.5, pacing 1.0.
    Counts are kind "count" (never money) and split by source like amounts."""
    got = shared_scorecard(
        LEADS_, OPPS, COUNT_TARGETS, calendar=CAL, quarter=Q1, as_of=AS_OF
    ).collect()
    rows = {(r["metric"], r["team"]): r for r in got.iter_rows(named=True)}
    assert set(rows) == {
        ("won_deals", "shared"),
        ("won_deals", "partner"),
        ("opportunities_created", "sales"),
    }
    shared = rows[("won_deals", "shared")]
    assert (shared["label"], shared["kind"], shared["actual"]) == ("Won deals", "count", 2.0)
    assert (shared["attainment"], shared["pacing"], shared["status"]) == (0.5, 1.0, "on track")
    assert (shared["marketing"], shared["sales"], shared["partner"]) == (1.0, 0.0, 1.0)
    partner = rows[("won_deals", "partner")]
    assert (partner["actual"], partner["pacing"], partner["status"]) == (1.0, 2.0, "on track")
    created = rows[("opportunities_created", "sales")]
    assert (created["label"], created["kind"]) == ("Opportunities created", "count")
    assert (created["actual"], created["attainment"], created["pacing"]) == (1.0, 0.5, 1.0)


def test_the_shared_total_counts_deals_without_a_source() -> None:
    """A source column that is not tracked: the shared bookings are still A + C = 140 (each
    source's part is then 0, and pages do not show parts without sources)."""
    blind = OPPS.with_columns(pl.lit(None, pl.String).alias("source"))
    got = shared_scorecard(LEADS_, blind, TARGETS_, calendar=CAL, quarter=Q1, as_of=AS_OF)
    bookings = got.collect().filter(pl.col("metric") == "bookings", pl.col("team") == "shared")
    assert bookings.select("actual", "marketing", "sales", "partner").row(0) == (
        140.0,
        0.0,
        0.0,
        0.0,
    )
