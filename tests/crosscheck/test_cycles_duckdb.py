"""Bookings linearity and slipped deals: polars vs independent DuckDB SQL versions.

The sample is seen as of the end of FY2026-Q3 in a calendar-year, UTC calendar
(``tests/crosscheck/conftest.py``), so a quarter is three calendar months of UTC
dates and the SQL can use DuckDB's own date functions.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from alignment_lib.metrics.cycles import bookings_linearity, slipped_deals
from tests.crosscheck.conftest import QUARTER, quarter_number, sql

FIRST = QUARTER.shift(-10)  # FY2024-Q1: the sample's first full quarter of closes

LINEARITY_SQL = """
WITH won AS (
    SELECT amount, CAST(closed_at AS DATE) AS day
    FROM opportunities WHERE outcome = 'won'
), placed AS (
    SELECT amount, day,
           year(day) * 4 + (month(day) - 1) // 3 AS quarter_index,
           (month(day) - 1) % 3 + 1 AS month_of_quarter,
           last_day(make_date(year(day), ((month(day) - 1) // 3) * 3 + 3, 1)) AS quarter_last_day
    FROM won
)
SELECT quarter_index::INTEGER AS quarter_index,
       sum(amount) AS bookings,
       coalesce(sum(amount) FILTER (WHERE month_of_quarter = 3), 0) / sum(amount)
           AS month3_share,
       coalesce(sum(amount) FILTER (WHERE date_diff('day', day, quarter_last_day) < 14), 0)
           / sum(amount) AS last_two_weeks_share
FROM placed
WHERE quarter_index BETWEEN $first AND $last
GROUP BY quarter_index
"""

SLIPPED_SQL = """
WITH quarters AS (
    SELECT q AS quarter_index,
           make_timestamptz(q // 4, (q % 4) * 3 + 1, 1, 0, 0, 0, 'UTC') AS starts
    FROM range($first, $last + 1) t(q)
), bounds AS (
    SELECT quarter_index, starts, starts + INTERVAL 3 MONTH AS next_starts FROM quarters
), open_at_start AS (
    SELECT o.opportunity_id, o.closed_at, o.outcome, b.*
    FROM opportunities o JOIN bounds b
      ON o.created_at < b.starts AND (o.closed_at IS NULL OR o.closed_at >= b.starts)
), at_start AS (
    SELECT s.*, h.amount AS start_amount, h.expected_close_date AS start_close
    FROM open_at_start s JOIN stage_history h
      ON h.opportunity_id = s.opportunity_id AND h.changed_at < s.starts
    QUALIFY row_number() OVER (
        PARTITION BY s.opportunity_id, s.quarter_index ORDER BY h.changed_at DESC) = 1
), expected AS (
    SELECT * FROM at_start
    WHERE year(start_close) * 4 + (month(start_close) - 1) // 3 = quarter_index
), at_end AS (
    SELECT e.*, (
        SELECT h.expected_close_date FROM stage_history h
        WHERE h.opportunity_id = e.opportunity_id AND h.changed_at < e.next_starts
        ORDER BY h.changed_at DESC LIMIT 1
    ) AS end_close
    FROM expected e
), judged AS (
    -- what became of each expected deal by the quarter's end: won, lost (closed in it),
    -- pushed (open, date moved past the quarter) or still open (open, date not moved out);
    -- slipped = did not close in the quarter
    SELECT quarter_index, start_amount,
           outcome = 'won' AND closed_at < next_starts AS is_won,
           outcome = 'lost' AND closed_at < next_starts AS is_lost,
           (closed_at IS NULL OR closed_at >= next_starts) AS is_slipped,
           (closed_at IS NULL OR closed_at >= next_starts)
             AND year(end_close) * 4 + (month(end_close) - 1) // 3 > quarter_index AS is_pushed,
           (closed_at IS NULL OR closed_at >= next_starts)
             AND (end_close IS NULL
                  OR year(end_close) * 4 + (month(end_close) - 1) // 3 <= quarter_index)
             AS is_still_open
    FROM at_end
)
SELECT quarter_index::INTEGER AS quarter_index,
       count(*) AS expected_deals,
       coalesce(sum(start_amount), 0) AS expected_amount,
       count(*) FILTER (WHERE is_won) AS won_deals,
       coalesce(sum(start_amount) FILTER (WHERE is_won), 0) AS won_amount,
       count(*) FILTER (WHERE is_lost) AS lost_deals,
       coalesce(sum(start_amount) FILTER (WHERE is_lost), 0) AS lost_amount,
       count(*) FILTER (WHERE is_slipped) AS slipped_deals,
       coalesce(sum(start_amount) FILTER (WHERE is_slipped), 0) AS slipped_amount,
       count(*) FILTER (WHERE is_pushed) AS pushed_deals,
       coalesce(sum(start_amount) FILTER (WHERE is_pushed), 0) AS pushed_amount,
       count(*) FILTER (WHERE is_still_open) AS still_open_deals,
       coalesce(sum(start_amount) FILTER (WHERE is_still_open), 0) AS still_open_amount
FROM judged
GROUP BY quarter_index
"""


def test_month3_and_last_two_weeks_shares_agree_with_sql(sample, duck) -> None:
    got = (
        bookings_linearity(
            sample.opportunities, calendar=sample.calendar, first=FIRST, last=QUARTER
        )
        .select("quarter_index", "bookings", "month3_share", "last_two_weeks_share")
        .collect()
    )
    want = sql(duck, LINEARITY_SQL, first=quarter_number(FIRST), last=quarter_number(QUARTER)).sort(
        "quarter_index"
    )
    assert got.height == 11
    assert got["month3_share"].null_count() == 0
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_slipped_deals_agree_with_sql(sample, duck) -> None:
    got = (
        slipped_deals(
            sample.opportunities,
            sample.stage_history,
            calendar=sample.calendar,
            first=FIRST,
            last=QUARTER,
        )
        .select(
            "quarter_index",
            *(
                f"{p}_{u}"
                for p in ("expected", "won", "lost", "slipped", "pushed", "still_open")
                for u in ("deals", "amount")
            ),
        )
        .collect()
    )
    want = sql(duck, SLIPPED_SQL, first=quarter_number(FIRST), last=quarter_number(QUARTER)).sort(
        "quarter_index"
    )
    assert got["expected_deals"].min() > 50 and got["slipped_deals"].sum() > 100
    # the sample, FY2026-Q3: 93 of 326 expected deals did not close in it, 46 pushed past it
    # and 47 still open (counting only pushed dates said 46)
    q3 = got.filter(pl.col("quarter_index") == quarter_number(QUARTER)).row(0, named=True)
    assert (q3["expected_deals"], q3["slipped_deals"], q3["pushed_deals"]) == (326, 93, 46)
    assert q3["still_open_deals"] == 47
    assert_frame_equal(got, want.cast(got.schema), check_exact=False, rel_tol=1e-9)
    shares = got.select(pl.col("slipped_deals") / pl.col("expected_deals"))
    assert shares.to_series().is_between(0, 1).all()
