"""Creation-to-close lag and cohort curves on hand-built tables; expected values by hand.

Calendar: fiscal year = calendar year, UTC, unless a test says otherwise.

**Creation-to-close lag** (quarters FY2026-Q1..Q3), times 10:00 UTC unless written:

| deal | created          | closed           | outcome | amount | source    | lead | lag      |
|------|------------------|------------------|---------|--------|-----------|------|----------|
| P    | 2026-04-03 09:00 | 2026-04-03 17:00 | won     | 10     | marketing | L1   | 0        |
| Q    | 2026-01-15       | 2026-05-01       | won     | 20     | marketing | L2   | 1        |
| R    | 2025-10-15       | 2026-06-15       | won     | 30     | marketing | L3   | 2        |
| S    | 2025-01-10       | 2026-06-20       | won     | 40     | partner   | L4   | 5 -> 3+  |
| T    | 2025-08-10       | 2026-04-20       | won     | 0      | sales     | -    | 3 -> 3+  |
| U    | 2026-04-01       | 2026-05-05       | lost    | 100    | marketing | L5   | excluded |
| V    | 2026-02-01       | (open)           |         | 70     | sales     | -    | excluded |
| W    | 2026-02-01       | 2026-03-31 23:30 | won     | 50     | sales     | -    | 0        |
| X    | 2026-01-20       | 2026-02-10       | won     | 5      | sales     | -    | 0        |

(lag in quarters, UTC.)

- UTC, Q1: W + X same quarter: 2 deals, 55, share 1.0; other buckets 0 deals, 0,
  share 0.0. Q2 (bookings 10 + 20 + 30 + 40 + 0 = 100): same quarter P 1 deal 10 =
  0.1; 1 before Q 20 = 0.2; 2 before R 30 = 0.3; 3+ S and T 2 deals 40 = 0.4 (T is a
  won deal worth 0, without a lead). Q3: no bookings: 4 rows of zeros, share null.
- By source, Q2: marketing (60): 10/60, 20/60, 30/60, 0; partner (40): 3+ = 1.0,
  others 0.0; sales: T only, worth 0: every share null. Q1 sales: same quarter 1.0.
- Asia/Tokyo (UTC+9): W closes 2026-04-01 08:30, so it is a Q2 booking created one
  quarter before; every other date stays in its quarter. Q1: X alone, 5, share 1.0.
  Q2 (150): same 10 (1/15), 1 before Q + W = 2 deals 70 (7/15), 2 before 30 (1/5),
  3+ S + T = 2 deals 40 (4/15).
- Fiscal year starting in February (FY2027-Q1 = Feb-Apr 2026): closes W (created
  Feb 1: same quarter, 50), P (same, 10), X (created 2026-01-20 in FY2026-Q4: 1 before,
  5), T (created 2025-08-10 in FY2026-Q3 = Aug-Oct 2025: 2 before, 0). Total 65:
  same 2 deals 60 (12/13), 1 before 5 (1/13), 2 before 1 deal 0 (0.0), 3+ 0.

**Cohort conversion curve** (cohorts FY2025-Q4 and FY2026-Q1, max 6 months, as of
2026-09-30 23:59:59.999999 UTC). "Within m months": closed <= created + m calendar
months (same day of month, clamped to the month's end; month 0 only when closed at
the creation instant).

| opp | created          | closed           | outcome | amount | months to win (UTC) |
|-----|------------------|------------------|---------|--------|---------------------|
| a   | 2026-01-10 00:00 | 2026-01-10 06:00 | won     | 10     | 1 (same day)        |
| b   | 2026-01-31 10:00 | 2026-02-28 10:00 | won     | 20     | 1 (Jan 31 + 1 month = Feb 28) |
| c   | 2026-03-01 00:00 | 2026-06-29 00:00 | won     | 30     | 4 (Jun 1 < Jun 29)  |
| d   | 2026-01-20 00:00 | 2026-02-20 00:00 | lost    | 40     | -                   |
| e   | 2026-03-10 00:00 | (open)           |         | (none) | -                   |
| f   | 2026-02-15 00:00 | 2026-10-20 00:00 | won     | 50     | - (after as-of)     |
| g   | 2025-12-31 23:00 | 2026-01-05 00:00 | won     | 60     | 1                   |

- Amount, FY2025-Q4 (g): size 60; cumulative 0, then 60 from month 1: shares 0, 1, 1,
  ... FY2026-Q1 (a-f): size 10+20+30+40+0+50 = 150; won cumulative by month 0..6:
  0, 30, 30, 30, 60, 60, 60; shares 0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4.
- Count, FY2026-Q1: size 6; cumulative 0, 2, 2, 2, 3, 3, 3; shares 0, 1/3, 1/3, 1/3,
  1/2, 1/2, 1/2.
- Observed: FY2026-Q1 ends with March; by the end of September six whole months
  (April-September) are over: months 0..6 observed. FY2025-Q4: nine months. As of
  2026-06-30 23:59:59.999999: three months over, so months 0..3 observed, 4..6 not
  (values unchanged: c's win on Jun 29 is seen). As of 2026-06-15: two months over; c
  is not won yet, so month 4 stays at 30.
- Maturity: the wins known at the end of September (f's comes later) took 1 (a), 1 (b),
  4 (c) and 1 (g) months; sorted 1, 1, 1, 4, the p90 at position 0.9 * 3 = 2.7 is
  1 + 0.7 * 3 = 3.1 months, rounded up: maturity_months = 4. Both cohorts are observed
  through 4 months or more: mature (the count curve's too). With max 7 months,
  FY2026-Q1's month 7 is not observed yet, but the cohort is mature all the same (the
  old rule, every point up to max_months observed, called it immature). As of the end
  of June (the same four wins known, maturity 4) FY2026-Q1 is observed through 3 months:
  still maturing, even with max 2 months, whose points are all observed (the old rule
  called it mature while c's win was still to come). As of 2026-06-15 only a, b and g
  (1 month each) are known: maturity 1, and the cohort, observed through 2 months, is
  called mature: the p90 is measured on the wins known so far, which lean fast.
- Empty input: no win, so maturity_months = max_months.
- Asia/Tokyo: g is created 2026-01-01 08:00 local, in FY2026-Q1. FY2025-Q4 is empty
  (size 0, shares null). FY2026-Q1: size 210, cumulative 0, 90 (g, a, b), 90, 90,
  120, 120, 120: shares 0, 3/7, 3/7, 3/7, 4/7, 4/7, 4/7.

**MQL cohort curve** (same opportunities, FY2026-Q1, as of 2026-09-30 end, max 6):

| lead | mql_at     | opportunity | channel     | months to win            |
|------|------------|-------------|-------------|--------------------------|
| L1   | 2026-01-08 | a           | Webinar     | 1                        |
| L2   | 2026-02-10 | c           | Webinar     | 5 (Jun 10 < Jun 29)      |
| L3   | 2026-03-05 | d (lost)    | Paid Search | -                        |
| L4   | 2026-03-20 | (none)      | Paid Search | -                        |
| L5   | (never)    | b           | Paid Search | not an MQL               |
| L6   | 2026-02-01 | b           | Paid Search | 1                        |
| L7   | 2026-02-20 | b           | Paid Search | 1 (two MQLs, one deal)   |
| L8   | 2026-01-06 | g           | Paid Search | 0 (won before the MQL)   |
| L9   | 2026-03-25 | f           | Paid Search | - (won after as-of)      |

Cohort of 8 MQLs; cumulative won 1, 4, 4, 4, 4, 5, 5: shares 1/8, 1/2, 1/2, 1/2, 1/2,
5/8, 5/8. By channel: Webinar (2): 0, 1/2, 1/2, 1/2, 1/2, 1, 1; Paid Search (6): 1/6,
1/2, 1/2, ... 1/2. Maturity: months from MQL to the win 0 (L8), 1 (L1, L6, L7), 5 (L2);
sorted 0, 1, 1, 1, 5, the p90 at 3.6 is 1 + 0.6 * 4 = 3.4, rounded up 4: observed through
6 months, mature.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alignment_lib import FiscalCalendar, FiscalQuarter, ParameterError, bookings
from alignment_lib.metrics.lag import (
    LAG_BUCKETS,
    cohort_conversion_curve,
    creation_to_close_lag,
    mql_cohort_curve,
)
from alignment_lib.schema import LEADS, OPPORTUNITIES

UTC = FiscalCalendar(1, "UTC")
TOKYO = FiscalCalendar(1, "Asia/Tokyo")
Q1, Q3 = FiscalQuarter(2026, 1), FiscalQuarter(2026, 3)
Q4_2025 = FiscalQuarter(2025, 4)
SEPT_END = dt.datetime(2026, 9, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)
JUNE_END = dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)


def t(text: str) -> dt.datetime:
    text = text if "T" in text else f"{text}T10:00"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(rows: list[dict], schema: dict) -> pl.LazyFrame:
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).lazy()


def deal(oid, created, closed, outcome, amount, source="marketing", lead=None) -> dict:
    return {
        "opportunity_id": oid,
        "created_at": t(created),
        "closed_at": t(closed) if closed else None,
        "outcome": outcome,
        "amount": amount,
        "source": source,
        "lead_id": lead,
        "stage": "Closed" if outcome else "Proposal",
    }


LAG_DEALS = frame(
    [
        deal("P", "2026-04-03T09:00", "2026-04-03T17:00", "won", 10.0, lead="L1"),
        deal("Q", "2026-01-15", "2026-05-01", "won", 20.0, lead="L2"),
        deal("R", "2025-10-15", "2026-06-15", "won", 30.0, lead="L3"),
        deal("S", "2025-01-10", "2026-06-20", "won", 40.0, "partner", "L4"),
        deal("T", "2025-08-10", "2026-04-20", "won", 0.0, "sales"),
        deal("U", "2026-04-01", "2026-05-05", "lost", 100.0, lead="L5"),
        deal("V", "2026-02-01", None, None, 70.0, "sales"),
        deal("W", "2026-02-01", "2026-03-31T23:30", "won", 50.0, "sales"),
        deal("X", "2026-01-20", "2026-02-10", "won", 5.0, "sales"),
    ],
    OPPORTUNITIES.polars_schema,
)

LAG_COLUMNS = ("fiscal_quarter", "lag_quarters", "lag_bucket", "deals", "amount", "share")


def lag_rows(quarter: str, spec: list[tuple[int, float, float | None]]) -> list[tuple]:
    """Expected rows of one quarter: (deals, amount, share) per bucket, 0..3."""
    return [
        (quarter, lag, LAG_BUCKETS[lag], deals, amount, share)
        for lag, (deals, amount, share) in enumerate(spec)
    ]


def rows(result: pl.LazyFrame, *columns: str) -> list[tuple]:
    return result.collect().select(columns).rows()


# -- creation-to-close lag -----------------------------------------------------------
def test_lag_shares_per_close_quarter() -> None:
    got = creation_to_close_lag(LAG_DEALS, calendar=UTC, first=Q1, last=Q3)
    assert rows(got, *LAG_COLUMNS) == [
        *lag_rows("FY2026-Q1", [(2, 55.0, 1.0), (0, 0.0, 0.0), (0, 0.0, 0.0), (0, 0.0, 0.0)]),
        *lag_rows("FY2026-Q2", [(1, 10.0, 0.1), (1, 20.0, 0.2), (1, 30.0, 0.3), (2, 40.0, 0.4)]),
        *lag_rows("FY2026-Q3", [(0, 0.0, None)] * 4),
    ]
    schema = got.collect_schema()
    assert schema["lag_quarters"] == pl.Int32
    assert schema["deals"] == pl.Int64
    assert schema["quarter_index"] == pl.Int32


def test_lag_amounts_add_up_to_bookings() -> None:
    kw = {"calendar": UTC, "first": Q1, "last": Q3}
    lag = creation_to_close_lag(LAG_DEALS, **kw).group_by("quarter_index").agg(pl.sum("amount"))
    booked = bookings(LAG_DEALS, **kw).group_by("quarter_index").agg(pl.sum("amount"))
    assert_frame_equal(lag.collect(), booked.collect(), check_row_order=False)


def test_lag_by_source() -> None:
    got = creation_to_close_lag(LAG_DEALS, calendar=UTC, first=Q1, last=Q3, by=("source",))
    q2 = got.filter(pl.col("fiscal_quarter") == "FY2026-Q2")
    assert rows(q2, "source", "lag_quarters", "deals", "amount", "share") == [
        ("marketing", 0, 1, 10.0, pytest.approx(1 / 6)),
        ("marketing", 1, 1, 20.0, pytest.approx(1 / 3)),
        ("marketing", 2, 1, 30.0, 0.5),
        ("marketing", 3, 0, 0.0, 0.0),
        ("partner", 0, 0, 0.0, 0.0),
        ("partner", 1, 0, 0.0, 0.0),
        ("partner", 2, 0, 0.0, 0.0),
        ("partner", 3, 1, 40.0, 1.0),
        # T: a won deal worth 0 is the only sales booking: nothing to share out
        ("sales", 0, 0, 0.0, None),
        ("sales", 1, 0, 0.0, None),
        ("sales", 2, 0, 0.0, None),
        ("sales", 3, 1, 0.0, None),
    ]
    q1_sales = got.filter(pl.col("fiscal_quarter") == "FY2026-Q1", pl.col("source") == "sales")
    assert rows(q1_sales, "share") == [(1.0,), (0.0,), (0.0,), (0.0,)]
    assert got.collect().height == 3 * 3 * 4


def test_lag_time_zone_near_the_quarter_boundary() -> None:
    got = creation_to_close_lag(LAG_DEALS, calendar=TOKYO, first=Q1, last=Q3)
    assert rows(got.filter(pl.col("quarter_index") < 2026 * 4 + 2), *LAG_COLUMNS) == [
        *lag_rows("FY2026-Q1", [(1, 5.0, 1.0), (0, 0.0, 0.0), (0, 0.0, 0.0), (0, 0.0, 0.0)]),
        *lag_rows(
            "FY2026-Q2",
            [
                (1, 10.0, pytest.approx(1 / 15)),
                (2, 70.0, pytest.approx(7 / 15)),
                (1, 30.0, pytest.approx(0.2)),
                (2, 40.0, pytest.approx(4 / 15)),
            ],
        ),
    ]


def test_lag_with_a_fiscal_year_starting_in_february() -> None:
    feb = FiscalCalendar(2, "UTC")
    q = FiscalQuarter(2027, 1)
    got = creation_to_close_lag(LAG_DEALS, calendar=feb, first=q, last=q)
    assert rows(got, *LAG_COLUMNS) == lag_rows(
        "FY2027-Q1",
        [
            (2, 60.0, pytest.approx(12 / 13)),
            (1, 5.0, pytest.approx(1 / 13)),
            (1, 0.0, 0.0),
            (0, 0.0, 0.0),
        ],
    )


def test_lag_of_empty_input_is_a_zero_grid() -> None:
    got = creation_to_close_lag(LAG_DEALS.clear(), calendar=UTC, first=Q1, last=Q3).collect()
    assert got.height == 12
    assert got["amount"].sum() == 0.0
    assert got["share"].null_count() == 12


# -- cohort conversion curve -----------------------------------------------------------
COHORT_DEALS = frame(
    [
        deal("a", "2026-01-10T00:00", "2026-01-10T06:00", "won", 10.0),
        deal("b", "2026-01-31T10:00", "2026-02-28T10:00", "won", 20.0),
        deal("c", "2026-03-01T00:00", "2026-06-29T00:00", "won", 30.0),
        deal("d", "2026-01-20T00:00", "2026-02-20T00:00", "lost", 40.0),
        deal("e", "2026-03-10T00:00", None, None, None),
        deal("f", "2026-02-15T00:00", "2026-10-20T00:00", "won", 50.0),
        deal("g", "2025-12-31T23:00", "2026-01-05T00:00", "won", 60.0),
    ],
    OPPORTUNITIES.polars_schema,
)

CURVE_COLUMNS = (
    "fiscal_quarter",
    "months_since_creation",
    "cohort_size",
    "won_cumulative",
    "share",
    "observed",
    "mature",
)


def curve(cohort: str, size, won: list, share: list, observed: list[bool], mature: bool):
    return [
        (cohort, m, size, w, s, o, mature)
        for m, (w, s, o) in enumerate(zip(won, share, observed, strict=True))
    ]


def test_cohort_curve_by_amount() -> None:
    got = cohort_conversion_curve(
        COHORT_DEALS, calendar=UTC, first=Q4_2025, last=Q1, as_of=SEPT_END, max_months=6
    )
    assert rows(got, *CURVE_COLUMNS) == [
        *curve("FY2025-Q4", 60.0, [0.0] + [60.0] * 6, [0.0] + [1.0] * 6, [True] * 7, True),
        *curve(
            "FY2026-Q1",
            150.0,
            [0.0, 30.0, 30.0, 30.0, 60.0, 60.0, 60.0],
            [0.0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4],
            [True] * 7,
            True,
        ),
    ]
    schema = got.collect_schema()
    assert schema["months_since_creation"] == pl.Int32
    assert schema["cohort_size"] == pl.Float64


def test_cohort_curve_by_count() -> None:
    got = cohort_conversion_curve(
        COHORT_DEALS,
        calendar=UTC,
        first=Q1,
        last=Q1,
        as_of=SEPT_END,
        measure="count",
        max_months=6,
    )
    third, half = pytest.approx(1 / 3), 0.5
    assert rows(got, *CURVE_COLUMNS) == curve(
        "FY2026-Q1",
        6,
        [0, 2, 2, 2, 3, 3, 3],
        [0.0, third, third, third, half, half, half],
        [True] * 7,
        True,
    )
    assert got.collect_schema()["won_cumulative"] == pl.Int64


def test_cohort_curve_observed_and_mature_flags() -> None:
    kw = {"calendar": UTC, "first": Q1, "last": Q1}
    longer = cohort_conversion_curve(COHORT_DEALS, **kw, as_of=SEPT_END, max_months=7)
    assert rows(longer, "observed", "mature")[-2:] == [(True, True), (False, True)]
    assert set(longer.collect()["maturity_months"]) == {4}
    short = cohort_conversion_curve(COHORT_DEALS, **kw, as_of=JUNE_END, max_months=2)
    assert rows(short, "observed", "maturity_months", "mature") == [(True, 4, False)] * 3
    early = cohort_conversion_curve(
        COHORT_DEALS, **kw, as_of=dt.datetime(2026, 6, 15, tzinfo=dt.UTC), max_months=6
    )
    assert set(rows(early, "maturity_months", "mature")) == {(1, True)}
    june = cohort_conversion_curve(COHORT_DEALS, **kw, as_of=JUNE_END, max_months=6)
    assert rows(june, "won_cumulative", "observed", "mature") == [
        (0.0, True, False),
        (30.0, True, False),
        (30.0, True, False),
        (30.0, True, False),
        (60.0, False, False),
        (60.0, False, False),
        (60.0, False, False),
    ]
    mid_june = cohort_conversion_curve(
        COHORT_DEALS, **kw, as_of=dt.datetime(2026, 6, 15, tzinfo=dt.UTC), max_months=6
    )
    assert rows(mid_june, "won_cumulative", "observed") == [
        (0.0, True),
        (30.0, True),
        (30.0, True),
        (30.0, False),
        (30.0, False),
        (30.0, False),
        (30.0, False),
    ]


def test_cohort_curve_in_another_time_zone() -> None:
    got = cohort_conversion_curve(
        COHORT_DEALS, calendar=TOKYO, first=Q4_2025, last=Q1, as_of=SEPT_END, max_months=6
    )
    q4 = got.filter(pl.col("fiscal_quarter") == "FY2025-Q4")
    assert rows(q4, "cohort_size", "won_cumulative", "share") == [(0.0, 0.0, None)] * 7
    q1 = got.filter(pl.col("fiscal_quarter") == "FY2026-Q1")
    assert rows(q1, "cohort_size", "won_cumulative") == [
        (210.0, w) for w in [0.0, 90.0, 90.0, 90.0, 120.0, 120.0, 120.0]
    ]


def test_cohort_curve_of_empty_input() -> None:
    got = cohort_conversion_curve(
        COHORT_DEALS.clear(), calendar=UTC, first=Q4_2025, last=Q1, as_of=SEPT_END, max_months=3
    ).collect()
    assert got.height == 2 * 4
    assert got["share"].null_count() == got.height
    assert set(got["maturity_months"]) == {3}
    assert got["cohort_size"].sum() == 0.0


def test_cohort_curve_rejects_unknown_measure_and_naive_as_of() -> None:
    kw = {"calendar": UTC, "first": Q1, "last": Q1}
    with pytest.raises(ParameterError, match="measure"):
        cohort_conversion_curve(COHORT_DEALS, **kw, as_of=SEPT_END, measure="deals")
    with pytest.raises(ParameterError, match="aware"):
        cohort_conversion_curve(COHORT_DEALS, **kw, as_of=dt.datetime(2026, 9, 30))
    with pytest.raises(ParameterError, match="max_months"):
        cohort_conversion_curve(COHORT_DEALS, **kw, as_of=SEPT_END, max_months=-1)


# -- MQL cohort curve ---------------------------------------------------------------
def lead(lid, mql, opp, channel="Paid Search") -> dict:
    return {
        "lead_id": lid,
        "created_at": t("2025-12-01"),
        "mql_at": t(f"{mql}T00:00") if mql else None,
        "opportunity_id": opp,
        "channel": channel,
    }


LEADS_TABLE = frame(
    [
        lead("L1", "2026-01-08", "a", "Webinar"),
        lead("L2", "2026-02-10", "c", "Webinar"),
        lead("L3", "2026-03-05", "d"),
        lead("L4", "2026-03-20", None),
        lead("L5", None, "b"),
        lead("L6", "2026-02-01", "b"),
        lead("L7", "2026-02-20", "b"),
        lead("L8", "2026-01-06", "g"),
        lead("L9", "2026-03-25", "f"),
    ],
    LEADS.polars_schema,
)


def test_mql_cohort_curve() -> None:
    got = mql_cohort_curve(
        LEADS_TABLE, COHORT_DEALS, calendar=UTC, first=Q1, last=Q1, as_of=SEPT_END, max_months=6
    )
    assert rows(got, *CURVE_COLUMNS) == curve(
        "FY2026-Q1",
        8,
        [1, 4, 4, 4, 4, 5, 5],
        [1 / 8, 0.5, 0.5, 0.5, 0.5, 5 / 8, 5 / 8],
        [True] * 7,
        True,
    )
    assert set(got.collect()["maturity_months"]) == {4}


def test_mql_cohort_curve_by_channel() -> None:
    got = mql_cohort_curve(
        LEADS_TABLE,
        COHORT_DEALS,
        calendar=UTC,
        first=Q1,
        last=Q1,
        as_of=SEPT_END,
        max_months=6,
        by=("channel",),
    )
    sixth = pytest.approx(1 / 6)
    assert rows(got, "channel", "cohort_size", "share") == [
        *[("Paid Search", 6, s) for s in [sixth, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]],
        *[("Webinar", 2, s) for s in [0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]],
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_row_order_does_not_matter(seed: int) -> None:
    def shuffled(lf: pl.LazyFrame) -> pl.LazyFrame:
        return lf.collect().sample(fraction=1.0, shuffle=True, seed=seed).lazy()

    kw = {"calendar": UTC, "first": Q4_2025, "last": Q3}
    assert_frame_equal(
        creation_to_close_lag(shuffled(LAG_DEALS), **kw, by=("source",)).collect(),
        creation_to_close_lag(LAG_DEALS, **kw, by=("source",)).collect(),
    )
    assert_frame_equal(
        cohort_conversion_curve(shuffled(COHORT_DEALS), **kw, as_of=SEPT_END).collect(),
        cohort_conversion_curve(COHORT_DEALS, **kw, as_of=SEPT_END).collect(),
    )
    assert_frame_equal(
        mql_cohort_curve(shuffled(LEADS_TABLE), COHORT_DEALS, **kw, as_of=SEPT_END).collect(),
        mql_cohort_curve(LEADS_TABLE, COHORT_DEALS, **kw, as_of=SEPT_END).collect(),
    )
