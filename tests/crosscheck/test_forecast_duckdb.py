"""Stage win probabilities, pipeline coverage and the forecast's parts: polars vs DuckDB.

Definitions written again in SQL from docs/metrics/forecast.md, without calling
the kit: quarters of UTC timestamps (and of expected close dates) in a calendar
fiscal year, trailing windows as ``(as_of - INTERVAL n DAY, as_of]``. At the
cross-check instant (the last microsecond of FY2026-Q3) the current quarter is
FY2026-Q4 with nothing of it elapsed, and FY2026-Q3 is the last complete one.
"""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from alignment_lib.metrics.forecast import (
    bookings_forecast,
    pipeline_coverage,
    stage_win_probabilities,
)
from tests.crosscheck.conftest import AS_OF, QUARTER, quarter_number, sql

NEXT = QUARTER.shift(1)

STAGES = """
WITH closed AS (
    SELECT opportunity_id, closed_at, outcome = 'won' AS is_won,
           coalesce(amount, 0) AS amount
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 730 DAY AND closed_at <= $as_of
), visits AS (
    SELECT DISTINCT h.opportunity_id, h.stage
    FROM stage_history h JOIN closed c ON h.opportunity_id = c.opportunity_id
    WHERE h.changed_at < c.closed_at
)
SELECT v.stage,
       count(*)::BIGINT AS deals,
       count(*) FILTER (WHERE is_won)::BIGINT AS won,
       sum(amount)::DOUBLE AS amount,
       coalesce(sum(amount) FILTER (WHERE is_won), 0)::DOUBLE AS won_amount,
       (count(*) FILTER (WHERE is_won) / count(*))::DOUBLE AS p_win_count,
       (coalesce(sum(amount) FILTER (WHERE is_won), 0) / nullif(sum(amount), 0))::DOUBLE
           AS p_win_amount
FROM visits v JOIN closed c ON v.opportunity_id = c.opportunity_id
GROUP BY v.stage ORDER BY v.stage
"""

COVERAGE = """
WITH quarters AS (
    SELECT range::INTEGER AS quarter_index FROM range($first, $last + 1)
), pipeline AS (
    SELECT year(expected_close_date) * 4 + (month(expected_close_date) - 1) // 3
               AS quarter_index,
           count(*) AS open_deals, coalesce(sum(amount), 0) AS open_pipeline
    FROM opportunities
    WHERE created_at <= $as_of AND (closed_at IS NULL OR closed_at > $as_of)
      AND expected_close_date IS NOT NULL AND stage <> 'Discovery'
    GROUP BY 1
), booked AS (
    SELECT year(closed_at) * 4 + (month(closed_at) - 1) // 3 AS quarter_index,
           sum(amount) AS booked
    FROM opportunities WHERE outcome = 'won' AND closed_at <= $as_of
    GROUP BY 1
), goal AS (
    SELECT substr(fiscal_quarter, 3, 4)::INTEGER * 4 + substr(fiscal_quarter, 9, 1)::INTEGER - 1
               AS quarter_index,
           value AS target
    FROM targets WHERE metric = 'bookings' AND team = 'shared'
), rate AS (
    SELECT sum(amount) FILTER (WHERE outcome = 'won') / nullif(sum(amount), 0) AS win_rate
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 365 DAY AND closed_at <= $as_of
), joined AS (
    SELECT q.quarter_index,
           coalesce(p.open_deals, 0)::BIGINT AS open_deals,
           coalesce(p.open_pipeline, 0)::DOUBLE AS open_pipeline,
           coalesce(b.booked, 0)::DOUBLE AS bookings_to_date,
           g.target,
           greatest(g.target - coalesce(b.booked, 0), 0)::DOUBLE AS remaining,
           r.win_rate
    FROM quarters q
    LEFT JOIN pipeline p ON p.quarter_index = q.quarter_index
    LEFT JOIN booked b ON b.quarter_index = q.quarter_index
    LEFT JOIN goal g ON g.quarter_index = q.quarter_index
    CROSS JOIN rate r
), ratios AS (
    SELECT *, open_pipeline / nullif(remaining, 0) AS coverage,
           1 / nullif(win_rate, 0) AS required_coverage
    FROM joined
)
SELECT *, coverage - required_coverage AS coverage_gap,
       CASE WHEN remaining = 0 THEN 'covered'
            WHEN coverage IS NULL OR required_coverage IS NULL THEN NULL
            WHEN coverage >= required_coverage THEN 'covered' ELSE 'short' END AS status
FROM ratios ORDER BY quarter_index
"""

# Weighted open pipeline: p = the stage's calibrated win rate by count (730 days), or the
# window's overall win rate by count for a stage without one.
WEIGHTED = f"""
WITH stage_p AS ({STAGES.replace("ORDER BY v.stage", "")}),
overall AS (
    SELECT (count(*) FILTER (WHERE outcome = 'won') / count(*))::DOUBLE AS p_all
    FROM opportunities
    WHERE closed_at > $as_of - INTERVAL 730 DAY AND closed_at <= $as_of
), open_deals AS (
    SELECT year(o.expected_close_date) * 4 + (month(o.expected_close_date) - 1) // 3
               AS quarter_index,
           coalesce(o.amount, 0) AS amount,
           coalesce(s.p_win_count, a.p_all) AS p
    FROM opportunities o
    LEFT JOIN stage_p s ON s.stage = o.stage
    CROSS JOIN overall a
    WHERE o.created_at <= $as_of AND (o.closed_at IS NULL OR o.closed_at > $as_of)
      AND o.expected_close_date IS NOT NULL
)
SELECT quarter_index::INTEGER AS quarter_index,
       count(*)::BIGINT AS open_deals,
       sum(amount)::DOUBLE AS open_pipeline,
       sum(amount * p)::DOUBLE AS open_expected,
       sum(amount * amount * p * (1 - p))::DOUBLE AS open_variance
FROM open_deals WHERE quarter_index BETWEEN $first AND $last
GROUP BY 1 ORDER BY 1
"""

# Not yet created: the mean created amount of the 4 complete quarters before the current one,
# times the sum over k = 0 .. T - current of w(k) (nothing of the current quarter is elapsed),
# w(k) = won k quarters after creation / created, pooled over the 4 latest creation quarters
# whose quarter + k is complete.
NOT_YET_CREATED = """
WITH created AS (
    SELECT year(created_at) * 4 + (month(created_at) - 1) // 3 AS cq,
           coalesce(sum(amount), 0) AS amount
    FROM opportunities WHERE created_at <= $as_of GROUP BY 1
), won AS (
    SELECT year(created_at) * 4 + (month(created_at) - 1) // 3 AS cq,
           year(closed_at) * 4 + (month(closed_at) - 1) // 3
               - (year(created_at) * 4 + (month(created_at) - 1) // 3) AS k,
           sum(amount) AS amount
    FROM opportunities WHERE outcome = 'won' AND closed_at <= $as_of GROUP BY 1, 2
), pairs AS (
    SELECT k, unnest(range($complete - k - 3, $complete - k + 1)) AS cq
    FROM (SELECT unnest(range(0, $last - $current + 1)) AS k)
), w AS (
    SELECT p.k, sum(coalesce(won.amount, 0)) / nullif(sum(coalesce(c.amount, 0)), 0) AS w
    FROM pairs p
    LEFT JOIN created c ON c.cq = p.cq
    LEFT JOIN won ON won.cq = p.cq AND won.k = p.k
    GROUP BY p.k
), rate AS (
    SELECT sum(coalesce(c.amount, 0)) / 4 AS creation_rate
    FROM (SELECT unnest(range($complete - 3, $complete + 1)) AS cq) q
    LEFT JOIN created c ON c.cq = q.cq
), quarters AS (SELECT unnest(range($current, $last + 1)) AS quarter_index)
SELECT q.quarter_index::INTEGER AS quarter_index,
       any_value(r.creation_rate)::DOUBLE AS creation_rate,
       sum(w.w)::DOUBLE AS not_yet_created_share,
       (any_value(r.creation_rate) * sum(w.w))::DOUBLE AS not_yet_created_expected
FROM quarters q JOIN w ON w.k <= q.quarter_index - $current CROSS JOIN rate r
GROUP BY 1 ORDER BY 1
"""


def test_stage_win_probabilities_agree_with_sql(sample, duck) -> None:
    got = stage_win_probabilities(sample.opportunities, sample.stage_history, as_of=AS_OF).collect()
    want = sql(duck, STAGES, as_of=AS_OF)
    assert got.height >= 4
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9)


def test_pipeline_coverage_agrees_with_sql(sample, duck) -> None:
    got = pipeline_coverage(
        sample.opportunities, sample.targets, calendar=sample.calendar, quarter=NEXT, as_of=AS_OF
    ).collect()
    want = sql(
        duck,
        COVERAGE,
        as_of=AS_OF,
        first=quarter_number(NEXT),
        last=quarter_number(NEXT.shift(2)),
    )
    assert got["open_pipeline"][0] > 0
    assert_frame_equal(
        got.drop("fiscal_quarter"),
        want.select(got.drop("fiscal_quarter").columns).with_columns(
            pl.col("quarter_index").cast(pl.Int32)
        ),
        check_exact=False,
        rel_tol=1e-9,
    )


def test_forecast_parts_agree_with_sql(sample, duck) -> None:
    got = bookings_forecast(
        sample.opportunities,
        sample.stage_history,
        calendar=sample.calendar,
        quarter=NEXT,
        as_of=AS_OF,
    ).collect()
    first, last = quarter_number(NEXT), quarter_number(NEXT.shift(2))
    weighted = sql(duck, WEIGHTED, as_of=AS_OF, first=first, last=last)
    assert weighted.height >= 2
    assert_frame_equal(
        got.join(weighted.select("quarter_index"), on="quarter_index").select(weighted.columns),
        weighted,
        check_exact=False,
        rel_tol=1e-9,
    )
    fresh = sql(duck, NOT_YET_CREATED, as_of=AS_OF, last=last, current=first, complete=first - 1)
    assert_frame_equal(got.select(fresh.columns), fresh, check_exact=False, rel_tol=1e-9)
