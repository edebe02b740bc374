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
No quarter before Q1 has a history of its own (C, created in FY2025-Q4, is the
first quarter of the pipeline series, left out: the data's start), so every row
paces linearly (curve_basis "linear", curve share = elapsed share 0.5) and
"behind" (even at the slowest past pace below 0.9 x target) is pacing < 0.9.
At 1 Apr (the quarter over) each row is hit or missed; SLA: L3 is then due and
untouched, 1 / 3 < 0.54: missed.

Pacing against history (``test_scorecard_paces_on_the_historical_curve``) reuses
the hand-built bookings of tests/metrics/test_pacing.py: FY2026-Q3 on 2026-08-15,
two earlier Q3s with 25% and 50% of their bookings by day 46 (curve share
0.375), 150 booked.
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
    assert {r["curve_basis"] for k, r in got.items() if k[0] != "sla_compliance"} == {"linear"}
    assert got[("sla_compliance", "sales")]["curve_basis"] is None
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


@pytest.mark.slow
def test_a_quarter_that_is_over_is_hit_or_missed() -> None:
    """As of 1 Apr 2026 (after Q1): bookings 140 < 400 missed, marketing 100 < 150 missed,
    pipeline created 150 < 300 missed, marketing pipeline 100 < 210 missed, MQLs 3 < 6
    missed; SLA compliance 1 / 3 < 0.54 missed. A lower target is hit; never "at risk"."""
    after = t("2026-04-01T12:00")
    got = shared_scorecard(LEADS_, OPPS, TARGETS_, calendar=CAL, quarter=Q1, as_of=after)
    assert got.collect()["status"].to_list() == ["missed"] * 6
    low = TARGETS_.with_columns(pl.col("value") / 10)
    got = shared_scorecard(LEADS_, OPPS, low, calendar=CAL, quarter=Q1, as_of=after).collect()
    assert set(got["status"]) == {"hit"}
    # the projected finish of a quarter that is over is its actual
    bookings = got.filter(pl.col("metric") == "bookings", pl.col("team") == "shared").row(
        0, named=True
    )
    assert bookings["projected_finish"] == bookings["actual"] == 140.0


@pytest.mark.slow
def test_scorecard_paces_on_the_historical_curve() -> None:
    """Bookings (test_pacing's table): expected to date 1000 x 0.375 = 375, pacing 0.4,
    projected finish 150 / 0.375 = 400 (300 at the fastest Q3, 600 at the slowest), below
    0.9 x 1000 even at 600: behind; linear pacing 150 / 500 = 0.3. Target 500: pacing 0.8,
    600 >= 450: at risk. Won deals (counts, the same curve rule): FY2024-Q3 W1 (day 10) and
    W2 (day 80), FY2025-Q3 W3 (day 40) and W4 (day 90): 2 of 4 by day 46, share 0.5, low =
    high = 0.5; this quarter W6 by day 46: 1. Target 2: expected 1, pacing 1.0, on track;
    target 4: expected 2, pacing 0.5, projected 2 < 3.6: behind."""
    from tests.metrics.test_pacing import AS_OF as MID
    from tests.metrics.test_pacing import DEALS, NO_LEADS, Q3, UTC

    def row(metric: str, value: float) -> dict:
        goal = frame(
            TARGETS,
            [{"fiscal_quarter": "FY2026-Q3", "metric": metric, "team": "shared", "value": value}],
        )
        seen = DEALS.filter(pl.col("closed_at") <= MID)  # as seen then: W7 closes later
        got = shared_scorecard(NO_LEADS, seen, goal, calendar=UTC, quarter=Q3, as_of=MID)
        return got.collect().row(0, named=True)

    got = row("bookings", 1000.0)
    assert (got["actual"], got["elapsed_share"]) == (150.0, 0.5)
    assert (got["curve_basis"], got["curve_quarters"]) == ("same quarter", 2)
    assert got["curve_share"] == pytest.approx(0.375)
    assert got["expected_to_date"] == pytest.approx(375.0)
    assert got["pacing"] == pytest.approx(0.4)
    assert got["projected_finish"] == pytest.approx(400.0)
    assert (got["projected_low"], got["projected_high"]) == (300.0, 600.0)
    assert got["linear_pacing"] == pytest.approx(0.3)
    assert got["status"] == "behind"
    assert row("bookings", 500.0)["status"] == "at risk"
    deals = row("won_deals", 2.0)
    assert (deals["kind"], deals["actual"], deals["curve_share"]) == ("count", 1.0, 0.5)
    assert (deals["pacing"], deals["status"]) == (1.0, "on track")
    deals = row("won_deals", 4.0)
    assert (deals["pacing"], deals["projected_high"], deals["status"]) == (0.5, 2.0, "behind")


@pytest.mark.slow
def test_fy2026_q3_mid_august_bookings_are_not_behind() -> None:
    """Issue 10: linear pacing said "Bookings behind, pacing 77%" on 2026-08-15 for a
    quarter that ended at 104% of target; the scorecard now paces against the two earlier
    Q3s (docs/metrics/pacing.md): at risk, with a projected finish of $2.98M."""
    from alignment_lib import load_funnel
    from tests.conftest import SAMPLE

    mid = dt.datetime(2026, 8, 15, 23, 59, 59, 999999, tzinfo=dt.UTC)
    data = load_funnel(SAMPLE, calendar=CAL).at(mid)
    q3 = FiscalQuarter(2026, 3)
    got = shared_scorecard(
        data.leads, data.opportunities, data.targets, calendar=CAL, quarter=q3, as_of=mid
    ).collect()
    bookings = got.filter(pl.col("metric") == "bookings", pl.col("team") == "shared").row(
        0, named=True
    )
    assert bookings["status"] == "at risk"
    assert bookings["linear_pacing"] == pytest.approx(0.770, abs=5e-4)
    assert bookings["pacing"] == pytest.approx(0.801, abs=5e-4)
    assert bookings["projected_finish"] == pytest.approx(2.979e6, rel=1e-3)


def test_pacing_adds_no_row_when_a_target_repeats() -> None:
    """The curve is joined by (metric, team): a (metric, team) with two target rows (say, two
    segments' targets in a table with more columns) keeps two scorecard rows, not four."""
    twice = pl.concat(
        [
            TARGETS_,
            frame(
                TARGETS,
                [
                    {
                        "fiscal_quarter": "FY2026-Q1",
                        "metric": "bookings",
                        "team": "shared",
                        "value": 9.0,
                    }
                ],
            ),
        ]
    )
    got = shared_scorecard(LEADS_, OPPS, twice, calendar=CAL, quarter=Q1, as_of=AS_OF).collect()
    assert got.height == 7
    bookings = got.filter(pl.col("metric") == "bookings", pl.col("team") == "shared")
    assert sorted(bookings["target"].to_list()) == [9.0, 400.0]
    assert bookings["curve_basis"].to_list() == ["linear", "linear"]


def test_sla_target_counts_on_the_handoff_pages_clock() -> None:
    """With ``sla_clock="business"`` the scorecard's SLA compliance is the handoff page's
    (response_times on the same clock; its business-hour arithmetic is worked by hand in
    tests/metrics/test_handoff_stall_clock.py), and on the sample it differs from calendar hours, so
    the two pages of one report never disagree."""
    from alignment_lib import load_funnel, response_times
    from tests.conftest import SAMPLE

    q3 = FiscalQuarter(2026, 3)
    end = CAL.quarter_end_instant(q3)
    data = load_funnel(SAMPLE, calendar=CAL).at(end)
    got = {}
    for clock in ("calendar", "business"):
        card = shared_scorecard(
            data.leads,
            data.opportunities,
            data.targets,
            calendar=CAL,
            quarter=q3,
            as_of=end,
            sla_clock=clock,
        ).collect()
        got[clock] = card.filter(pl.col("metric") == "sla_compliance")["actual"][0]
        page = response_times(
            data.leads, calendar=CAL, first=q3, last=q3, as_of=end, sla_clock=clock
        ).collect()
        assert got[clock] == pytest.approx(page["sla_compliance"][0])
    assert abs(got["business"] - got["calendar"]) > 0.01
