"""Season-aware win rates and the pacing curve: polars vs DuckDB SQL (issue 10).

Definitions written again in SQL from docs/metrics/forecast.md ("Season-aware rates")
and docs/metrics/pacing.md, without calling the kit. The sample's calendar is a
calendar fiscal year in UTC, so quarter starts are UTC midnights and a quarter index is
``year * 4 + (month - 1) // 3``. At the cross-check instant (the last microsecond of
FY2026-Q3) the current quarter is FY2026-Q4, nothing of it elapsed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from alignment_lib.metrics.forecast import seasonal_win_probabilities
from alignment_lib.metrics.pacing import pacing, pacing_curve
from tests.crosscheck.conftest import AS_OF, QUARTER, quarter_number, sql

# Snapshots: each of the 8 quarters before the current one, at its first instant: the deals
# open then (created before it, not closed before it) with their last stage_history row
# strictly before it. Offset = expected quarter - snapshot quarter, clipped to -1..3, -2
# without an expected close date; k = 0 .. min(3, last complete - snapshot quarter); won in
# the snapshot quarter + k. Same season: the snapshot's quarter of the year is the current
# one's. p = (season won + w a p_pooled) / (season amount + w a), a = pooled amount / the
# snapshots with any deal at that k, w = 0.5.
SEASONAL = """
WITH quarters AS (
    SELECT q, make_timestamptz(q // 4, (q % 4) * 3 + 1, 1, 0, 0, 0, 'UTC') AS starts
    FROM range($current - 8, $current) t(q)
), open_at AS (
    SELECT o.opportunity_id, o.outcome, o.closed_at, q.q, q.starts
    FROM opportunities o JOIN quarters q
      ON o.created_at < q.starts AND (o.closed_at IS NULL OR o.closed_at >= q.starts)
), seen AS (
    SELECT s.*, h.stage, coalesce(h.amount, 0) AS amount,
           year(h.expected_close_date) * 4 + (month(h.expected_close_date) - 1) // 3 AS eq
    FROM open_at s JOIN stage_history h
      ON h.opportunity_id = s.opportunity_id AND h.changed_at < s.starts
    QUALIFY row_number() OVER (PARTITION BY s.opportunity_id, s.q ORDER BY h.changed_at DESC) = 1
), rows AS (
    SELECT s.q, s.stage, s.amount,
           CASE WHEN s.eq IS NULL THEN -2 ELSE least(greatest(s.eq - s.q, -1), 3) END AS j,
           k.k,
           coalesce(s.outcome = 'won'
                    AND year(s.closed_at) * 4 + (month(s.closed_at) - 1) // 3 = s.q + k.k, false)
               AS won,
           s.q % 4 = $current % 4 AS same
    FROM seen s JOIN (SELECT range AS k FROM range(0, 4)) k ON s.q + k.k <= $current - 1
), quarters_at_k AS (
    SELECT k, count(DISTINCT q) AS nq FROM rows GROUP BY k
), cells AS (
    SELECT stage, j, k,
           sum(amount) AS a,
           coalesce(sum(amount) FILTER (WHERE won), 0) AS w,
           coalesce(sum(amount) FILTER (WHERE same), 0) AS a_s,
           coalesce(sum(amount) FILTER (WHERE won AND same), 0) AS w_s
    FROM rows GROUP BY stage, j, k
)
SELECT c.stage, c.j::INTEGER AS expected_offset, c.k::INTEGER AS quarters_ahead,
       c.a::DOUBLE AS amount, c.w::DOUBLE AS won_amount,
       n.nq::BIGINT AS calibration_quarters,
       c.a_s::DOUBLE AS season_amount, c.w_s::DOUBLE AS season_won_amount,
       (c.w / nullif(c.a, 0))::DOUBLE AS p_pooled,
       (c.w_s / nullif(c.a_s, 0))::DOUBLE AS p_season,
       CASE WHEN c.a_s + 0.5 * c.a / n.nq > 0
            THEN (c.w_s + 0.5 * (c.a / n.nq) * (c.w / nullif(c.a, 0)))
                 / (c.a_s + 0.5 * c.a / n.nq)
            ELSE c.w / nullif(c.a, 0) END::DOUBLE AS p
FROM cells c JOIN quarters_at_k n ON n.k = c.k
ORDER BY c.stage, expected_offset, quarters_ahead
"""

# The cumulative curve of bookings through quarter $quarter: for each of the 8 quarters
# before it with bookings (and after the first quarter with any), the share of its total
# booked by local day d (a shorter quarter counts as complete); two or more of the same
# quarter of the year: those, else all of them.
CURVE = """
WITH won AS (
    SELECT year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS q,
           closed_at::DATE AS day, coalesce(amount, 0) AS amount
    FROM opportunities WHERE outcome = 'won' AND closed_at <= $as_of
), first_q AS (SELECT min(q) AS f FROM won),
past AS (
    SELECT q, make_date(q // 4, (q % 4) * 3 + 1, 1) AS starts,
           date_diff('day', make_date(q // 4, (q % 4) * 3 + 1, 1),
                     make_date(q // 4, (q % 4) * 3 + 1, 1) + INTERVAL 3 MONTH) AS days
    FROM range($quarter - 8, $quarter) t(q)
), totals AS (
    SELECT p.q, p.starts, p.days, sum(w.amount) AS total
    FROM past p JOIN won w ON w.q = p.q CROSS JOIN first_q
    WHERE p.q > first_q.f
    GROUP BY p.q, p.starts, p.days HAVING sum(w.amount) > 0
), basis AS (
    SELECT * FROM totals
    WHERE (SELECT count(*) FROM totals WHERE q % 4 = $quarter % 4) < 2 OR q % 4 = $quarter % 4
), days AS (SELECT range::INTEGER AS d FROM range(1, $days + 1)),
by_day AS (
    SELECT d.d, b.q, b.total,
           coalesce((SELECT sum(w.amount) FROM won w
                     WHERE w.q = b.q
                       AND date_diff('day', b.starts, w.day) + 1 <= least(d.d, b.days)), 0) AS cum
    FROM days d CROSS JOIN basis b
)
SELECT d AS day_of_quarter,
       (sum(cum) / sum(total))::DOUBLE AS curve_share,
       min(cum / total)::DOUBLE AS curve_share_low,
       max(cum / total)::DOUBLE AS curve_share_high,
       count(*)::BIGINT AS curve_quarters
FROM by_day GROUP BY d ORDER BY d
"""


def test_seasonal_win_probabilities_agree_with_sql(sample, duck) -> None:
    got = seasonal_win_probabilities(
        sample.opportunities, sample.stage_history, calendar=sample.calendar, as_of=AS_OF
    ).collect()
    want = sql(duck, SEASONAL, current=quarter_number(QUARTER.shift(1)))
    assert got.height > 20 and got["season_amount"].sum() > 0
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, check_dtypes=False)


@pytest.mark.slow
def test_pacing_curve_agrees_with_sql(sample, duck) -> None:
    got = pacing_curve(
        sample.opportunities, sample.leads, calendar=sample.calendar, quarter=QUARTER, as_of=AS_OF
    ).collect()
    want = sql(duck, CURVE, as_of=AS_OF, quarter=quarter_number(QUARTER), days=92)
    assert got["curve_basis"].unique().to_list() == ["same quarter"]
    assert_frame_equal(
        got.select(want.columns), want, check_exact=False, rel_tol=1e-9, check_dtypes=False
    )


@pytest.mark.slow
def test_pacing_row_is_the_curve_at_the_as_of_day(sample, duck) -> None:
    mid = dt.datetime(2026, 8, 15, 23, 59, 59, 999999, tzinfo=dt.UTC)
    row = (
        pacing(
            sample.opportunities,
            sample.leads,
            sample.targets,
            calendar=sample.calendar,
            quarter=QUARTER,
            as_of=mid,
        )
        .collect()
        .filter(metric="bookings")
        .row(0, named=True)
    )
    curve = sql(duck, CURVE, as_of=mid, quarter=quarter_number(QUARTER), days=92)
    at_day = curve.filter(day_of_quarter=46).row(0, named=True)
    actual = sql(
        duck,
        "SELECT sum(amount)::DOUBLE AS a FROM opportunities WHERE outcome = 'won' "
        "AND closed_at >= TIMESTAMPTZ '2026-07-01 00:00:00+00' AND closed_at <= $as_of",
        as_of=mid,
    )["a"][0]
    assert row["actual"] == pytest.approx(actual)
    assert row["curve_share"] == pytest.approx(at_day["curve_share"], rel=1e-12)
    assert row["pacing"] == pytest.approx(actual / (row["target"] * at_day["curve_share"]))
    assert row["projected_high"] == pytest.approx(actual / at_day["curve_share_low"])
