"""Business cycles on hand-built tables; expected values worked out by hand.

Linearity and the weekly curve
------------------------------
Calendar: fiscal year = calendar year, time zone America/New_York (EST = UTC-5
until 8 March 2026, EDT = UTC-4 after). Won deals (lost and open deals are
ignored); times in UTC, then New York local:

| deal | source    | amount | closed (UTC)     | NY local    | quarter | month | day | week |
|------|-----------|--------|------------------|-------------|---------|-------|-----|------|
| W1   | marketing | 100    | 2026-01-05 15:00 | 01-05       | Q1      | 1     | 4   | 1    |
| W2   | marketing | 200    | 2026-02-20 15:00 | 02-20       | Q1      | 2     | 50  | 8    |
| W5   | partner   | 50     | 2026-03-17 15:00 | 03-17       | Q1      | 3     | 75  | 11   |
| W3   | sales     | 300    | 2026-03-18 14:00 | 03-18       | Q1      | 3     | 76  | 11   |
| W4   | sales     | 400    | 2026-04-01 03:30 | 03-31 23:30 | Q1      | 3     | 89  | 13   |
| W6   | marketing | 60     | 2026-07-10 15:00 | 07-10       | Q3      | 1     | 9   | 2    |
| W7   | marketing | 60     | 2026-08-10 15:00 | 08-10       | Q3      | 2     | 40  | 6    |
| W8   | sales     | 80     | 2026-09-01 04:00 | 09-01 00:00 | Q3      | 3     | 62  | 9    |

(day counts from 0 at the quarter's first local day; week = day // 7 + 1.)
L1 (lost, 1000, 2026-03-25) and O1 (open) add nothing.

FY2026-Q1 (Jan-Mar, 90 days, 13 weeks; last two weeks = 18-31 March, so W3 on
18 March is in and W5 on 17 March is out): bookings 1050 (5 deals); month 3
(March) = W5 + W3 + W4 = 750 -> share 750/1050 = 5/7 = 0.714 -> "severe hockey
stick" (>= 0.60); last two weeks = W3 + W4 = 700 -> 2/3.
FY2026-Q2: no bookings: 0 deals, 0 amounts, null shares and status.
FY2026-Q3 (Jul-Sep, 92 days, 14 weeks; last two weeks = 17-30 September):
bookings 200; month 3 = W8 (closed at the first instant of September) = 80 ->
80/200 = 0.40 exactly -> "healthy" (<= 0.40 is healthy); last two weeks 0 ->
share 0.

By source in Q1: marketing 300, month 3 = 0 -> 0 (healthy); partner 50, all in
month 3 -> 1 (severe); sales 700, all in month 3 -> 1, last two weeks 700 -> 1.

Time zone: in UTC, W4 closes on 1 April, a Q2 booking. UTC Q1 = 650, month 3 =
W5 + W3 = 350 -> 350/650 = 0.538 -> "back-loaded"; last two weeks W3 = 300 ->
0.4615. UTC Q2 = 400 (W4 on 1 April, month 1) -> month-3 share 0, "healthy".

Fiscal year from February (FY2027 = Feb 2026 - Jan 2027), New York: FY2026-Q4 =
Nov 2025 - Jan 2026 holds W1 (January = its month 3) -> share 1. FY2027-Q1 =
Feb-Apr (89 days, 13 weeks): W2 + W5 + W3 + W4 = 950, W4 is 31 March in New
York (month 2), so month 3 (April) = 0 -> share 0; in UTC W4 is 1 April, month
3 -> 400/950 = 0.421 -> "back-loaded". Weeks (from 1 February): W2 day 19 ->
week 3, W5 day 44 and W3 day 45 -> week 7, W4 day 58 -> week 9.

Weekly curve, New York, FY2026-Q1: weeks 1 (100), 8 (200), 11 (W5 + W3 = 350),
13 (400), others 0; cumulative 100 (weeks 1-7), 300 (8-10), 650 (11-12), 1050
(13); share = cumulative / 1050, 1.0 in week 13. Q2: 13 weeks of 0,
null shares. Q3: 14 weeks (week 14 = 30 September alone); 60 in week 2, 60 in
week 6, 80 in week 9; cumulative 60, 120, 200; share 1.0 from week 9 on.

Seasonality
-----------
UTC, calendar year, quarters FY2025-Q1 .. FY2026-Q2 (Q1 and Q2 twice, Q3 and
Q4 once). Opportunities: S1 created 2025-01-10, won 2025-02-10, 100; S2
created 2025-04-10, lost 2025-05-01, 50; S3 created 2025-10-05, won
2025-11-20, 300; S4 created 2026-01-15, open, 200; S5 created 2024-12-01 (out
of range), won 2026-05-05, 40. MQLs: 2025-02-01, 2025-03-01 (FY2025-Q1),
2025-08-01 (Q3), four in 2026-01..03 (FY2026-Q1), two in 2026-04/05
(FY2026-Q2); one in 2024-11 (out of range) and one lead without mql_at.

| quarter        | bookings      | pipeline created  | MQLs        |
|----------------|---------------|-------------------|-------------|
| FY2025-Q1..Q4  | 100, 0, 0, 300 | 100, 50, 0, 300  | 2, 0, 1, 0  |
| FY2026-Q1, Q2  | 0, 40         | 200, 0            | 4, 2        |

Means by quarter number: bookings Q1 50, Q2 20, Q3 0, Q4 300 (mean of means
92.5 -> indexes 0.5405, 0.2162, 0, 3.2432); pipeline Q1 150, Q2 25, Q3 0, Q4
300 (mean 118.75 -> 1.2632, 0.2105, 0, 2.5263); MQLs Q1 3, Q2 1, Q3 1, Q4 0
(mean 1.25 -> 2.4, 0.8, 0.8, 0). Quarters averaged: 2, 2, 1, 1.
Only FY2026-Q1: Q1 has 1 quarter (bookings 0, pipeline 200, MQLs 4); bookings
index null (mean of means 0), pipeline and MQL index 1.0; Q2-Q4 have 0 quarters
and null means.

Slipped deals
-------------
Calendar year, America/New_York: Q1 starts 2026-01-01 05:00 UTC, Q2 starts
2026-04-01 04:00 UTC, Q2 ends 2026-07-01 04:00 UTC. Stage history rows
(changed_at UTC: amount, expected close date):

| deal | created    | history                                                  | closed          |
|------|------------|----------------------------------------------------------|-----------------|
| A    | 2025-11-01 | 11-01: 100, 2026-02-15                                   | won 2026-02-10  |
| B    | 2025-12-01 | 12-01: 200, 03-31; 03-01: 03-20; 2026-04-01 02:00: 05-15 | won 2026-05-10  |
| C    | 2025-12-15 | 12-15: 300, 01-31; 01-30: 04-30; 03-15: 03-31            | lost 2026-04-20 |
| D    | 2025-10-01 | 10-01: (none), 03-01                                     | lost 2026-03-05 |
| E    | 2026-01-10 | 01-10: 500, 03-31; 03-28: 06-30                          | open            |
| F    | 2025-12-20 | 2026-01-05: 60, 02-28 (no row before Q1)                 | won 2026-03-01  |
| G    | 2025-11-15 | 11-15: 700, 04-15; 06-29: 08-31                          | open            |
| J    | 2025-10-01 | 10-01: 80, 01-15; 12-20: 12-20 (closed)                  | won 2025-12-20  |

B's expected close date moved twice: within Q1 (to 20 March), then on 31 March
22:00 New York time (1 April 02:00 UTC) past the quarter, to 15 May.

FY2026-Q1 expected (open at 1 Jan, date on record then inside Q1): A (100), B
(200), C (300), D (no amount) = 4 deals, 600. A won; D lost (adds 0); B
pushed (15 May by the quarter end: 1 deal, 200); C moved out and back in
(31 March at the end): still open, not pushed (300). Slipped (did not close in
the quarter) = pushed + still open = B + C = 2 deals, 500. E was created in the
quarter, F has no history row before it, G was expected in Q2, J had closed.
Won + lost + pushed + still open = 1 + 1 + 1 + 1 = 4. Shares slipped: 2/4 = 0.5
by count, 500/600 = 5/6 by amount.
FY2026-Q2 expected: B (15 May on record at 1 April, 200 as recorded then), E
(30 June, 500), G (15 April, 700) = 3 deals, 1400; C's date (31 March) is not
in Q2. B won (pushed out of Q1, then won in Q2); G pushed (31 August; 700); E
still open (30 June): slipped 2 deals, 1200. Shares 2/3 and 1200/1400 = 6/7.

In UTC, B's last push (1 April 02:00) is after Q1's end: at the end of Q1 its
date is still 20 March, so B is still open, not pushed (Q1: pushed 0, still
open 2 = 500, slipped 2 = 500); at the start of Q2 its date (20 March) is not in
Q2, so Q2 expects only E and G (2, 1200), of which G was pushed (700) and E is
still open (500): slipped 2, 1200 = all of it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError, bookings
from alignment_lib.metrics.cycles import (
    LINEARITY_STATUSES,
    MONTH3_HEALTHY_MAX,
    MONTH3_SEVERE_MIN,
    bookings_by_week,
    bookings_linearity,
    seasonality,
    slipped_deals,
)
from alignment_lib.schema import LEADS, OPPORTUNITIES, STAGE_HISTORY

NY = FiscalCalendar(1, "America/New_York")
UTC = FiscalCalendar(1, "UTC")
Q = {n: FiscalQuarter(2026, n) for n in (1, 2, 3, 4)}


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def frame(table, rows: list[dict]) -> pl.LazyFrame:
    """A canonical table with every column; missing values are null."""
    return pl.DataFrame(
        [{c: r.get(c) for c in table.column_names} for r in rows], schema=table.polars_schema
    ).lazy()


def won(oid: str, source: str, amount: float, closed: str) -> dict:
    return {
        "opportunity_id": oid,
        "created_at": t("2025-06-01T10:00"),
        "source": source,
        "amount": amount,
        "stage": "Closed Won",
        "closed_at": t(closed),
        "outcome": "won",
    }


WON = frame(
    OPPORTUNITIES,
    [
        won("W1", "marketing", 100.0, "2026-01-05T15:00"),
        won("W2", "marketing", 200.0, "2026-02-20T15:00"),
        won("W3", "sales", 300.0, "2026-03-18T14:00"),
        won("W4", "sales", 400.0, "2026-04-01T03:30"),
        won("W5", "partner", 50.0, "2026-03-17T15:00"),
        won("W6", "marketing", 60.0, "2026-07-10T15:00"),
        won("W7", "marketing", 60.0, "2026-08-10T15:00"),
        won("W8", "sales", 80.0, "2026-09-01T04:00"),
        {**won("L1", "sales", 1000.0, "2026-03-25T15:00"), "outcome": "lost"},
        {**won("O1", "sales", 500.0, "2026-03-25T15:00"), "outcome": None, "closed_at": None},
    ],
)

LINEARITY_SCHEMA = {
    "quarter_index": pl.Int32,
    "fiscal_quarter": pl.String,
    "deals": pl.Int64,
    "bookings": pl.Float64,
    "month3_bookings": pl.Float64,
    "month3_share": pl.Float64,
    "last_two_weeks_bookings": pl.Float64,
    "last_two_weeks_share": pl.Float64,
    "linearity_status": pl.String,
}


def qi(q: FiscalQuarter) -> int:
    return q.year * 4 + q.quarter - 1


# -- linearity -------------------------------------------------------------------------------
def test_thresholds_are_the_documented_ones() -> None:
    assert (MONTH3_HEALTHY_MAX, MONTH3_SEVERE_MIN) == (0.40, 0.60)
    assert LINEARITY_STATUSES == ("healthy", "back-loaded", "severe hockey stick")


def test_linearity_in_new_york_with_an_empty_quarter() -> None:
    got = bookings_linearity(WON, calendar=NY, first=Q[1], last=Q[3]).collect()
    want = pl.DataFrame(
        [
            (qi(Q[1]), "FY2026-Q1", 5, 1050.0, 750.0, 5 / 7, 700.0, 2 / 3, "severe hockey stick"),
            (qi(Q[2]), "FY2026-Q2", 0, 0.0, 0.0, None, 0.0, None, None),
            (qi(Q[3]), "FY2026-Q3", 3, 200.0, 80.0, 0.4, 0.0, 0.0, "healthy"),
        ],
        schema=LINEARITY_SCHEMA,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_a_close_at_2330_on_the_last_day_in_new_york_is_q1_but_q2_in_utc() -> None:
    got = bookings_linearity(WON, calendar=UTC, first=Q[1], last=Q[2]).collect()
    assert got.select("bookings", "month3_bookings", "last_two_weeks_bookings").rows() == [
        (650.0, 350.0, 300.0),
        (400.0, 0.0, 0.0),
    ]
    assert got["month3_share"].to_list() == pytest.approx([350 / 650, 0.0])
    assert got["last_two_weeks_share"].to_list() == pytest.approx([300 / 650, 0.0])
    assert got["linearity_status"].to_list() == ["back-loaded", "healthy"]


def test_linearity_by_source() -> None:
    got = bookings_linearity(WON, calendar=NY, first=Q[1], last=Q[1], by=["source"]).collect()
    assert got.select("source", "bookings", "month3_share", "last_two_weeks_share").rows() == [
        ("marketing", 300.0, 0.0, 0.0),
        ("partner", 50.0, 1.0, 0.0),
        ("sales", 700.0, 1.0, 1.0),
    ]
    assert got["linearity_status"].to_list() == [
        "healthy",
        "severe hockey stick",
        "severe hockey stick",
    ]


def test_linearity_by_an_unknown_column_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="campaign"):
        bookings_linearity(WON, calendar=NY, first=Q[1], last=Q[1], by=["campaign"])


def test_fiscal_year_starting_in_february() -> None:
    feb_ny, feb_utc = FiscalCalendar(2, "America/New_York"), FiscalCalendar(2, "UTC")
    kw = {"first": FiscalQuarter(2026, 4), "last": FiscalQuarter(2027, 1)}
    ny = bookings_linearity(WON, calendar=feb_ny, **kw).collect()
    assert ny.select("fiscal_quarter", "bookings", "month3_bookings", "month3_share").rows() == [
        ("FY2026-Q4", 100.0, 100.0, 1.0),
        ("FY2027-Q1", 950.0, 0.0, 0.0),
    ]
    utc = bookings_linearity(WON, calendar=feb_utc, **kw).collect()
    assert utc["month3_bookings"].to_list() == [100.0, 400.0]
    assert utc["month3_share"][1] == pytest.approx(400 / 950)
    assert utc["linearity_status"].to_list() == ["severe hockey stick", "back-loaded"]
    weeks = bookings_by_week(WON, calendar=feb_ny, first=kw["last"], last=kw["last"]).collect()
    assert weeks.height == 13  # Feb-Apr 2026 has 89 days
    assert weeks.filter(pl.col("bookings") > 0).select("week_of_quarter", "bookings").rows() == [
        (3, 200.0),
        (7, 350.0),
        (9, 400.0),
    ]


# -- the weekly curve ------------------------------------------------------------------------
def test_weekly_curve_in_new_york() -> None:
    got = bookings_by_week(WON, calendar=NY, first=Q[1], last=Q[3]).collect()
    assert got.group_by("fiscal_quarter").len().sort("fiscal_quarter").rows() == [
        ("FY2026-Q1", 13),
        ("FY2026-Q2", 13),
        ("FY2026-Q3", 14),
    ]
    q1 = got.filter(pl.col("fiscal_quarter") == "FY2026-Q1")
    weekly = dict.fromkeys(range(1, 14), 0.0) | {1: 100.0, 8: 200.0, 11: 350.0, 13: 400.0}
    assert q1["bookings"].to_list() == list(weekly.values())
    cumulative = [100.0] * 7 + [300.0] * 3 + [650.0] * 2 + [1050.0]
    assert q1["cumulative_bookings"].to_list() == cumulative
    assert q1["cumulative_share"].to_list() == pytest.approx([c / 1050 for c in cumulative])
    assert q1["cumulative_share"][-1] == 1.0
    assert q1["week_start"].to_list()[:3] == [d("2026-01-01"), d("2026-01-08"), d("2026-01-15")]
    assert q1["deals"].sum() == 5

    q2 = got.filter(pl.col("fiscal_quarter") == "FY2026-Q2")
    assert q2["bookings"].to_list() == [0.0] * 13
    assert q2["cumulative_share"].to_list() == [None] * 13

    q3 = got.filter(pl.col("fiscal_quarter") == "FY2026-Q3")
    assert q3.filter(pl.col("bookings") > 0)["week_of_quarter"].to_list() == [2, 6, 9]
    assert q3["cumulative_share"].to_list()[8:] == [1.0] * 6
    assert q3["week_start"][-1] == d("2026-09-30")


def test_weekly_bookings_add_up_to_the_quarter_bookings() -> None:
    weeks = bookings_by_week(WON, calendar=NY, first=Q[1], last=Q[4]).collect()
    total = bookings(WON, calendar=NY, first=Q[1], last=Q[4]).collect()
    assert (
        weeks.group_by("quarter_index").agg(pl.col("bookings").sum()).sort("quarter_index").rows()
        == total.group_by("quarter_index").agg(pl.col("amount").sum()).sort("quarter_index").rows()
    )


# -- seasonality -----------------------------------------------------------------------------
def deal(oid: str, created: str, amount: float, outcome: str | None, closed: str | None) -> dict:
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "source": "marketing",
        "amount": amount,
        "stage": "x",
        "outcome": outcome,
        "closed_at": None if closed is None else t(closed),
    }


SEASON_OPPS = frame(
    OPPORTUNITIES,
    [
        deal("S1", "2025-01-10T10:00", 100.0, "won", "2025-02-10T10:00"),
        deal("S2", "2025-04-10T10:00", 50.0, "lost", "2025-05-01T10:00"),
        deal("S3", "2025-10-05T10:00", 300.0, "won", "2025-11-20T10:00"),
        deal("S4", "2026-01-15T10:00", 200.0, None, None),
        deal("S5", "2024-12-01T10:00", 40.0, "won", "2026-05-05T10:00"),
    ],
)
MQL_DATES = [
    "2025-02-01",
    "2025-03-01",
    "2025-08-01",
    "2026-01-05",
    "2026-02-05",
    "2026-03-05",
    "2026-03-25",
    "2026-04-05",
    "2026-05-05",
    "2024-11-05",
    None,
]
SEASON_LEADS = frame(
    LEADS,
    [
        {
            "lead_id": f"L{i}",
            "created_at": t("2024-10-01T10:00"),
            "mql_at": None if m is None else t(f"{m}T10:00"),
        }
        for i, m in enumerate(MQL_DATES)
    ],
)


def test_seasonality_means_and_indexes() -> None:
    got = seasonality(
        SEASON_OPPS,
        SEASON_LEADS,
        calendar=UTC,
        first=FiscalQuarter(2025, 1),
        last=FiscalQuarter(2026, 2),
    ).collect()
    assert got.columns == [
        "quarter_of_year",
        "quarter_label",
        "quarters",
        "mean_bookings",
        "bookings_index",
        "mean_pipeline_created",
        "pipeline_created_index",
        "mean_mqls",
        "mqls_index",
    ]
    assert got["quarter_label"].to_list() == ["Q1", "Q2", "Q3", "Q4"]
    assert got["quarters"].to_list() == [2, 2, 1, 1]
    assert got["mean_bookings"].to_list() == [50.0, 20.0, 0.0, 300.0]
    assert got["bookings_index"].to_list() == pytest.approx([50 / 92.5, 20 / 92.5, 0, 300 / 92.5])
    assert got["mean_pipeline_created"].to_list() == [150.0, 25.0, 0.0, 300.0]
    assert got["pipeline_created_index"].to_list() == pytest.approx(
        [150 / 118.75, 25 / 118.75, 0, 300 / 118.75]
    )
    assert got["mean_mqls"].to_list() == [3.0, 1.0, 1.0, 0.0]
    assert got["mqls_index"].to_list() == pytest.approx([2.4, 0.8, 0.8, 0.0])
    assert got["mqls_index"].mean() == pytest.approx(1.0)


def test_seasonality_over_less_than_a_year() -> None:
    got = seasonality(SEASON_OPPS, SEASON_LEADS, calendar=UTC, first=Q[1], last=Q[1]).collect()
    assert got.select("quarters", "mean_bookings", "mean_pipeline_created", "mean_mqls").rows() == [
        (1, 0.0, 200.0, 4.0),
        (0, None, None, None),
        (0, None, None, None),
        (0, None, None, None),
    ]
    assert got["bookings_index"].to_list() == [None] * 4
    assert got["pipeline_created_index"].to_list() == [1.0, None, None, None]
    assert got["mqls_index"].to_list() == [1.0, None, None, None]


# -- slipped deals ---------------------------------------------------------------------------
def opp(oid: str, created: str, outcome: str | None = None, closed: str | None = None) -> dict:
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "source": "sales",
        "stage": "x",
        "outcome": outcome,
        "closed_at": None if closed is None else t(closed),
    }


SLIP_OPPS = frame(
    OPPORTUNITIES,
    [
        opp("A", "2025-11-01T15:00", "won", "2026-02-10T15:00"),
        opp("B", "2025-12-01T15:00", "won", "2026-05-10T15:00"),
        opp("C", "2025-12-15T15:00", "lost", "2026-04-20T15:00"),
        opp("D", "2025-10-01T15:00", "lost", "2026-03-05T15:00"),
        opp("E", "2026-01-10T15:00"),
        opp("F", "2025-12-20T15:00", "won", "2026-03-01T15:00"),
        opp("G", "2025-11-15T15:00"),
        opp("J", "2025-10-01T15:00", "won", "2025-12-20T15:00"),
    ],
)


def change(oid: str, at: str, amount: float | None, ecd: str, stage: str = "Open") -> dict:
    return {
        "opportunity_id": oid,
        "changed_at": t(at),
        "stage": stage,
        "amount": amount,
        "expected_close_date": d(ecd),
    }


SLIP_HISTORY = frame(
    STAGE_HISTORY,
    [
        change("A", "2025-11-01T15:00", 100.0, "2026-02-15"),
        change("A", "2026-02-10T15:00", 100.0, "2026-02-10", "Closed Won"),
        change("B", "2025-12-01T15:00", 200.0, "2026-03-31"),
        change("B", "2026-03-01T15:00", 200.0, "2026-03-20"),
        change("B", "2026-04-01T02:00", 200.0, "2026-05-15"),
        change("B", "2026-05-10T15:00", 210.0, "2026-05-10", "Closed Won"),
        change("C", "2025-12-15T15:00", 300.0, "2026-01-31"),
        change("C", "2026-01-30T15:00", 300.0, "2026-04-30"),
        change("C", "2026-03-15T15:00", 300.0, "2026-03-31"),
        change("C", "2026-04-20T15:00", 300.0, "2026-04-20", "Closed Lost"),
        change("D", "2025-10-01T15:00", None, "2026-03-01"),
        change("D", "2026-03-05T15:00", None, "2026-03-05", "Closed Lost"),
        change("E", "2026-01-10T15:00", 500.0, "2026-03-31"),
        change("E", "2026-03-28T15:00", 500.0, "2026-06-30"),
        change("F", "2026-01-05T15:00", 60.0, "2026-02-28"),
        change("F", "2026-03-01T15:00", 60.0, "2026-03-01", "Closed Won"),
        change("G", "2025-11-15T15:00", 700.0, "2026-04-15"),
        change("G", "2026-06-29T15:00", 700.0, "2026-08-31"),
        change("J", "2025-10-01T15:00", 80.0, "2026-01-15"),
        change("J", "2025-12-20T15:00", 80.0, "2025-12-20", "Closed Won"),
    ],
)

_PARTS = ("expected", "won", "lost", "slipped", "pushed", "still_open")
SLIP_SCHEMA = {
    "quarter_index": pl.Int32,
    "fiscal_quarter": pl.String,
    **{
        f"{p}_{u}": pl.Int64 if u == "deals" else pl.Float64
        for p in _PARTS
        for u in ("deals", "amount")
    },
    "slipped_share_deals": pl.Float64,
    "slipped_share_amount": pl.Float64,
}


def test_slipped_deals_in_new_york() -> None:
    got = slipped_deals(SLIP_OPPS, SLIP_HISTORY, calendar=NY, first=Q[1], last=Q[2]).collect()
    want = pl.DataFrame(
        [
            # expected  won       lost    slipped   pushed    still open  shares
            (
                qi(Q[1]),
                "FY2026-Q1",
                4,
                600.0,
                1,
                100.0,
                1,
                0.0,
                2,
                500.0,
                1,
                200.0,
                1,
                300.0,
                0.5,
                5 / 6,
            ),
            (
                qi(Q[2]),
                "FY2026-Q2",
                3,
                1400.0,
                1,
                200.0,
                0,
                0.0,
                2,
                1200.0,
                1,
                700.0,
                1,
                500.0,
                2 / 3,
                6 / 7,
            ),
        ],
        schema=SLIP_SCHEMA,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_a_push_late_on_the_last_day_in_new_york_is_after_the_quarter_in_utc() -> None:
    got = slipped_deals(SLIP_OPPS, SLIP_HISTORY, calendar=UTC, first=Q[1], last=Q[2]).collect()
    cols = [f"{p}_{u}" for p in _PARTS for u in ("deals", "amount")]
    assert got.select(cols).rows() == [
        (4, 600.0, 1, 100.0, 1, 0.0, 2, 500.0, 0, 0.0, 2, 500.0),
        (2, 1200.0, 0, 0.0, 0, 0.0, 2, 1200.0, 1, 700.0, 1, 500.0),
    ]
    assert got["slipped_share_amount"].to_list() == pytest.approx([5 / 6, 1.0])


def test_quarter_with_nothing_expected_has_zero_counts_and_null_shares() -> None:
    got = slipped_deals(SLIP_OPPS, SLIP_HISTORY, calendar=NY, first=Q[4], last=Q[4]).collect()
    # at the start of Q4 only E and G are open, expected in Q2 and Q3 (as of their last change)
    assert got.row(0, named=True) == {
        "quarter_index": qi(Q[4]),
        "fiscal_quarter": "FY2026-Q4",
        **{f"{p}_deals": 0 for p in _PARTS},
        **{f"{p}_amount": 0.0 for p in _PARTS},
        "slipped_share_deals": None,
        "slipped_share_amount": None,
    }


def test_without_stage_history_the_grid_is_null() -> None:
    got = slipped_deals(
        SLIP_OPPS, SLIP_HISTORY.clear(), calendar=NY, first=Q[1], last=Q[2]
    ).collect()
    assert got["fiscal_quarter"].to_list() == ["FY2026-Q1", "FY2026-Q2"]
    assert got.select(pl.exclude("quarter_index", "fiscal_quarter")).null_count().row(0) == (2,) * (
        len(SLIP_SCHEMA) - 2
    )
    assert got.schema == pl.Schema(SLIP_SCHEMA)


def test_empty_opportunities_give_zero_grids() -> None:
    empty = SLIP_OPPS.clear()
    slipped = slipped_deals(empty, SLIP_HISTORY, calendar=NY, first=Q[1], last=Q[2]).collect()
    assert slipped["expected_deals"].to_list() == [0, 0]
    lin = bookings_linearity(empty, calendar=NY, first=Q[1], last=Q[2], by=["source"]).collect()
    assert lin.height == 0  # no source values to group by
    lin = bookings_linearity(empty, calendar=NY, first=Q[1], last=Q[2]).collect()
    assert lin["bookings"].to_list() == [0.0, 0.0]
    weeks = bookings_by_week(empty, calendar=NY, first=Q[1], last=Q[2]).collect()
    assert weeks.height == 26 and weeks["bookings"].sum() == 0.0
    season = seasonality(empty, SEASON_LEADS.clear(), calendar=NY, first=Q[1], last=Q[4])
    assert season.collect()["quarters"].to_list() == [1, 1, 1, 1]


def test_a_change_at_the_first_instant_of_the_quarter_is_already_in_the_quarter() -> None:
    # "At the start" is the state at the end of the previous quarter (FunnelData.at of the
    # previous quarter's end): K was expected in Q2 then, and its date moved into Q1 only at
    # 00:00 on 1 January in New York (05:00 UTC), so Q1 did not expect it.
    opps = frame(OPPORTUNITIES, [opp("K", "2025-12-01T15:00")])
    history = frame(
        STAGE_HISTORY,
        [
            change("K", "2025-12-01T15:00", 10.0, "2026-05-01"),
            change("K", "2026-01-01T05:00", 10.0, "2026-02-01"),
        ],
    )
    got = slipped_deals(opps, history, calendar=NY, first=Q[1], last=Q[1]).collect()
    assert got["expected_deals"].to_list() == [0]
    one_us_earlier = history.with_columns(
        pl.when(pl.col("expected_close_date") == d("2026-02-01"))
        .then(pl.col("changed_at") - dt.timedelta(microseconds=1))
        .otherwise(pl.col("changed_at"))
        .alias("changed_at")
    )
    got = slipped_deals(opps, one_us_earlier, calendar=NY, first=Q[1], last=Q[1]).collect()
    assert got.select("expected_deals", "still_open_deals").row(0) == (1, 1)
